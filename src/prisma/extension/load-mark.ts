/**
 * The mark on the arguments of a read `withCache`'s own method sends to the database on a miss
 * (a load), so that its query hook lets it through rather than caching it twice, and so that
 * extensions applied before `withCache` (the read-replica router) know the result is about to be
 * cached, and can say where it came from.
 *
 * Prisma copies arguments deeply between query hooks, so the mark is a string (an id per cache
 * fill), and what a router says of a fill goes through this module, not through the arguments.
 */

/** The property that carries the mark (Prisma passes unknown argument keys to query hooks). */
export const LOAD_MARK = '__stratacacheLoad'

/** Fills a replica answered, by mark id, until the fill takes its answer back. */
const answeredByReplica = new Set<string>()
let nextId = 0

/** One cache fill's mark. */
export class LoadMark {
  readonly id = `fill:${++nextId}`

  /** Whether a router answered this fill from a read replica (and forgets it). */
  takeFromReplica(): boolean {
    return answeredByReplica.delete(this.id)
  }
}

/** `args` with a load mark: a fill's id, or `true` for a load that fills nothing. */
export function markLoad(args: unknown, mark?: LoadMark): Record<string, unknown> {
  return { ...(args as Record<string, unknown> | undefined), [LOAD_MARK]: mark?.id ?? true }
}

/** Whether `args` carry a load mark. */
export function isMarkedLoad(args: unknown): boolean {
  return typeof args === 'object' && args !== null && LOAD_MARK in args
}

/** Records that a read replica answered the load `args` belong to, when it is a cache fill. */
export function noteReplicaAnswer(args: unknown): void {
  if (!isMarkedLoad(args)) return
  const id = (args as Record<string, unknown>)[LOAD_MARK]
  if (typeof id === 'string') answeredByReplica.add(id)
}

/** `args` without the load mark. */
export function unmarked(args: Record<string, unknown>): Record<string, unknown> {
  const { [LOAD_MARK]: _, ...rest } = args
  return rest
}

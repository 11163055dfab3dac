/**
 * The cache fill a database read belongs to, for extensions applied before `withCache` (the
 * read-replica router): a fill runs its query in this context, so that such an extension knows
 * the result is about to be cached and can say where it came from. A context rather than a mark
 * in the arguments: Prisma would refuse an argument it does not know, and copies arguments
 * between query hooks.
 */
import { AsyncLocalStorage } from 'node:async_hooks'

/** One cache fill. */
export class LoadMark {
  /** A router answered this fill from a read replica: it stays in this process. */
  fromReplica = false
}

const current = new AsyncLocalStorage<LoadMark>()
/**
 * Whether an extension asks which fill a read belongs to. Only then do fills run in a context:
 * in Node 20, using an AsyncLocalStorage turns on async hooks for every promise of the process.
 */
let listened = false

/**
 * Starts `query` (a lazy Prisma query) inside the fill `mark`, so that the query hooks it runs
 * see it (see {@link currentLoad}), when an extension listens.
 */
export function runLoad<T>(mark: LoadMark, query: () => PromiseLike<T>): Promise<T> {
  if (!listened) return Promise.resolve(query())
  return current.run(mark, () => Promise.resolve(query()))
}

/** Makes fills run in their context from now on: for an extension that reads {@link currentLoad}. */
export function watchLoads(): void {
  listened = true
}

/** The fill the read running now belongs to, if it is one (see {@link watchLoads}). */
export function currentLoad(): LoadMark | undefined {
  return current.getStore()
}

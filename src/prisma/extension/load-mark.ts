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
 * Starts `query` (a lazy Prisma query) inside the fill `mark`, so that the query hooks it runs
 * see it (see {@link currentLoad}).
 */
export function runLoad<T>(mark: LoadMark, query: () => PromiseLike<T>): Promise<T> {
  return current.run(mark, () => Promise.resolve(query()))
}

/** The fill the read running now belongs to, if it is one. */
export function currentLoad(): LoadMark | undefined {
  return current.getStore()
}

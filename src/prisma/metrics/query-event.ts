/**
 * What the Prisma extension reports to the query metrics for every call it sees: a cached read
 * (hit or miss), a read or write that went to the database, a raw query. Built once per call; the
 * metrics keep counters and histograms, not the events.
 */
export interface QueryEvent {
  /** The model (`Product`), or `undefined` for `$queryRaw` / `$executeRaw`. */
  model: string | undefined
  /** Prisma's operation name: `findUnique`, `update`, `$executeRaw`... */
  operation: string
  /**
   * How the result was obtained: `hit` (a fresh cached value), `swr` (a stale value served while
   * it is refreshed), `miss` (the database was queried and the result cached, or not cacheable),
   * `none` (the cache was not used: a write, a raw query, `cacheStrategy: false`, a transaction).
   */
  cacheStatus: 'hit' | 'swr' | 'miss' | 'none'
  /** Wall time of the call as its caller saw it, in ms. */
  durationMs: number
  /** Time spent in the database, in ms: 0 for a hit. */
  dbDurationMs: number
  /** The query's arguments, without `cacheStrategy` (for the slow-query log and N+1 shapes). */
  args: unknown
  /** The SQL statements the query ran, when SQL capture is on (see `captureSql`). */
  sql?: readonly string[]
  /** The error the query failed with, if it did. */
  error?: unknown
  /**
   * Already counted for N+1 detection when the call was made (`QueryMetrics.noteCall`): the
   * extension's read methods do so, while the caller's frame is still on the stack for the
   * report's call site (a cache hit then completes without an async frame to trace it back).
   */
  counted?: boolean
}

/**
 * How a Prisma call reaches the query metrics: the {@link QueryEvent} the extension reports for
 * every call it sees, its database time and SQL ({@link measureDatabaseCall}), and the calls that
 * do not use the cache ({@link recordUncachedCall}, {@link withQueryMetrics}).
 */
import { Prisma } from '@prisma/client/extension'
import { invalid } from '../../errors.js'
import { QueryMetrics } from './query-metrics.js'
import { collectSql, SqlCollector, sqlCaptureInstalled } from './sql-collector.js'

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

/**
 * Runs one database call (Prisma's lazy query, started here, inside an SQL collector so that
 * `captureSql` attributes its statements to it) and adds to `event` its database time (the
 * captured statements' sum, or the call's own time when none were captured) and its SQL.
 *
 * @example
 * ```ts
 * const result = await measureDatabaseCall(event, () => query(args))
 * ```
 */
export async function measureDatabaseCall<T>(
  event: QueryEvent,
  run: () => PromiseLike<T>,
): Promise<T> {
  const started = performance.now()
  if (!sqlCaptureInstalled()) {
    try {
      return await run()
    } finally {
      event.dbDurationMs += performance.now() - started
    }
  }
  const collector = new SqlCollector()
  try {
    return await collectSql(collector, run)
  } finally {
    const elapsed = performance.now() - started
    collector.close()
    const captured = collector.count > 0
    event.dbDurationMs += captured ? collector.dbMs : elapsed
    if (captured) event.sql = collector.sql
  }
}

/** Makes one database call inside {@link recordUncachedCall}, measured into its event. */
export type DatabaseCall = <R>(call: () => PromiseLike<R>) => Promise<R>

/**
 * Runs a call that does not use the cache (a write, a raw query, a read in a transaction, or any
 * call under `withQueryMetrics`) and records it into `sink` with status `none`. `run` gets the
 * function that makes its database call, measured; what it does around it is the call's own time.
 *
 * @example
 * ```ts
 * return recordUncachedCall(metrics, model, operation, args, (database) => database(() => query(args)))
 * ```
 */
export async function recordUncachedCall<T>(
  sink: { record(event: QueryEvent): void },
  model: string | undefined,
  operation: string,
  args: unknown,
  run: (database: DatabaseCall) => Promise<T>,
): Promise<T> {
  const started = performance.now()
  const event: QueryEvent = {
    model,
    operation,
    cacheStatus: 'none',
    durationMs: 0,
    dbDurationMs: 0,
    args,
  }
  try {
    return await run((call) => measureDatabaseCall(event, call))
  } catch (error) {
    event.error = error ?? new Error(`${operation} failed`)
    throw error
  } finally {
    event.durationMs = performance.now() - started
    sink.record(event)
  }
}

/**
 * A Prisma Client extension that records every call into `metrics` (status `none`: it does no
 * caching), with its SQL when the client's adapter is wrapped in `captureSql`. For clients that
 * want query metrics, slow-query and N+1 detection without the cache; `withCache` records the
 * same events itself. It is also the reference for calling the metrics from a query hook:
 *
 * - the SQL collector must be entered before Prisma's lazy promise is started (`collectSql`);
 * - database time is the sum of the captured statements, or the call's own time when none were
 *   captured (no `captureSql`, or a call whose SQL Prisma batched into another call's).
 *
 * @example
 * ```ts
 * const metrics = new QueryMetrics({ slowQueryMs: 200 })
 * const prisma = new PrismaClient({ adapter: captureSql(new PrismaPg(url), { metrics }) })
 *   .$extends(withQueryMetrics(metrics))
 * await runWithQueryContext(() => handler(prisma))
 * metrics.stats()
 * ```
 */
export function withQueryMetrics(metrics: QueryMetrics) {
  if (!(metrics instanceof QueryMetrics)) {
    throw invalid('metrics', 'must be a QueryMetrics instance (new QueryMetrics(options))')
  }
  return Prisma.defineExtension({
    name: 'stratacache:query-metrics',
    query: {
      $allOperations: ({ model, operation, args, query }) =>
        recordUncachedCall(metrics, model, operation, args, (database) =>
          database(() => query(args)),
        ),
    },
  })
}

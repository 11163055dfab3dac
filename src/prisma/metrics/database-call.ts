import { collectSql, sqlCaptureInstalled } from '../sql-capture.js'
import type { QueryEvent } from './query-event.js'
import { SqlCollector } from './sql-collector.js'

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

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

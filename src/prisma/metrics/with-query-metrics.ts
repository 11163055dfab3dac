import { performance } from 'node:perf_hooks'
import { Prisma } from '@prisma/client/extension'
import { invalid } from '../../errors.js'
import { measureDatabaseCall } from './database-call.js'
import type { QueryEvent } from './query-event.js'
import { QueryMetrics } from './query-metrics.js'

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
      async $allOperations({ model, operation, args, query }) {
        const event: QueryEvent = {
          model,
          operation,
          cacheStatus: 'none',
          durationMs: 0,
          dbDurationMs: 0,
          args,
        }
        const begin = performance.now()
        try {
          return await measureDatabaseCall(event, () => query(args))
        } catch (thrown) {
          event.error = thrown ?? new Error(`${operation} failed`)
          throw thrown
        } finally {
          event.durationMs = performance.now() - begin
          metrics.record(event)
        }
      },
    },
  })
}

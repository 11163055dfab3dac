import { Prisma } from '@prisma/client/extension'
import { invalid } from '../../errors.js'
import { recordUncachedCall } from './database-call.js'
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
      $allOperations: ({ model, operation, args, query }) =>
        recordUncachedCall(metrics, model, operation, args, (database) =>
          database(() => query(args)),
        ),
    },
  })
}

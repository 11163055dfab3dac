/**
 * Query metrics of the Prisma layer: latency histograms, per model and operation counters, the
 * slow-query log, N+1 detection and SQL collection.
 * @packageDocumentation
 */
export { type SummaryLimits, summarizeArgs } from './args-summary.js'
export { captureCallSite, firstUserFrame } from './call-site.js'
export type { QueryEvent } from './database-call.js'
export { withQueryMetrics } from './database-call.js'
export { LatencyHistogram, type LatencySummary, RELATIVE_ERROR } from './histogram.js'
export {
  NPlusOneDetector,
  type NPlusOneOptions,
  type NPlusOneReport,
} from './n-plus-one.js'
export { type RelationHint, suggestFix } from './n-plus-one-suggestion.js'
export type { OperationCounters, OperationStatsSnapshot } from './operation-stats.js'
export type { QueryMetricsOptions } from './options.js'
export {
  currentQueryContext,
  QueryContext,
  type QueryContextOptions,
  runWithQueryContext,
} from './query-context.js'
export { QueryMetrics, type QueryStats } from './query-metrics.js'
export { describeShape, shapeHash } from './query-shape.js'
export { type SlowQueryEntry, SlowQueryLog } from './slow-queries.js'
export { SqlCollector } from './sql-collector.js'

/**
 * stratacache/prisma: the Prisma Client extension that caches reads and invalidates them on writes.
 * @packageDocumentation
 */

export {
  type BatchFindManyOptions,
  type BatchKey,
  type BatchRow,
  batchFindMany,
  type FindManyDelegate,
} from './batch-find-many.js'
export type { ChangeFeedStatus } from './change-feed/admin.js'
export {
  ChangeFeedSetupError,
  changeFeedStatus,
  type RemoveChangeFeedOptions,
  removeChangeFeed,
} from './change-feed/admin.js'
export type { ChangeFeedMode, ChangeFeedOptions } from './change-feed/options.js'
export type { ChangeFeedApi, PrismaCacheStats } from './extension/cache-api.js'
export type { AccelerateInfo, CacheInfo } from './extension/cache-info.js'
export type { QueryEvent } from './metrics/database-call.js'
export { withQueryMetrics } from './metrics/database-call.js'
export type { LatencySummary } from './metrics/histogram.js'
export type { NPlusOneOptions, NPlusOneReport } from './metrics/n-plus-one.js'
export type { RelationHint } from './metrics/n-plus-one-suggestion.js'
export type { OperationCounters, OperationStatsSnapshot } from './metrics/operation-stats.js'
export type { QueryMetricsOptions } from './metrics/options.js'
export { type QueryContextOptions, runWithQueryContext } from './metrics/query-context.js'
export { QueryMetrics, type QueryStats } from './metrics/query-metrics.js'
export type { SlowQueryEntry } from './metrics/slow-queries.js'
export type {
  CacheStrategy,
  ModelStrategy,
  StrategyClass,
  StrategySettings,
  WithCacheOptions,
} from './options.js'
export {
  type AdapterFactoryLike,
  type CapturedStatement,
  type CaptureSqlOptions,
  captureSql,
  type SqlCollector,
  type StatementSink,
} from './sql-capture.js'
export type {
  AccelerateClientApi,
  CacheClientApi,
  CachedReadMethods,
  CachePromise,
  CacheStrategyArg,
  WithCacheExtension,
} from './types.js'
export { registerPrismaTypes, withCache } from './with-cache.js'

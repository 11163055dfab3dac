/**
 * stratacache/database: the database toolkit on Prisma 7 and PostgreSQL: query patterns, a
 * transaction manager that retries conflicts and deadlocks, the connection manager, health checks,
 * query analysis with index suggestions, and read replicas that keep the cache right.
 * @packageDocumentation
 */

export type { EnvVariableDoc } from '../config/env-parsers.js'
export {
  type AnalyzeQuery,
  MODEL_OPERATIONS,
  type ModelName,
  type ModelOperation,
  type OperationArgs,
} from './analysis/analysis-input.js'
export type { QueryAnalysis, StatementAnalysis } from './analysis/analysis-result.js'
export type { QueryAnalyzerOptions } from './analysis/analyzer-options.js'
export type { ExplainMode, SkippedStatement } from './analysis/explain.js'
export type {
  IndexSuggestion,
  OptimizationInsights,
  RankedRecommendation,
  SlowOperation,
} from './analysis/insights.js'
export type { ExplainOutput, PlanNode, PlanNodeSummary } from './analysis/plan-walker.js'
export { QueryAnalyzer } from './analysis/query-analyzer.js'
export type {
  LargeOffsetRecommendation,
  MissingIndexRecommendation,
  NPlusOneRecommendation,
  OverFetchingRecommendation,
  Recommendation,
  Severity,
  SlowOperationRecommendation,
  UnboundedFindManyRecommendation,
} from './analysis/recommendations.js'
export {
  CONNECTION_ENV_VARIABLES,
  type ConnectionEnvSettings,
  connectionSettingsFromEnv,
} from './connection/connection-env.js'
export { ConnectionManager, type ConnectionManagerStats } from './connection/connection-manager.js'
export type {
  ConnectionManagerOptions,
  PrismaPgOptions,
  QueryLogOptions,
} from './connection/connection-options.js'
export type { ConnectionStatus, PoolCounts } from './connection/pool.js'
export type { PoolLike, PoolStatusInput } from './health/connection-pool.js'
export { DatabaseHealthCheck } from './health/health-check.js'
export type {
  ConnectionPoolFigures,
  DatabaseErrorKind,
  DatabaseFigures,
  ErrorFigures,
  HealthCheckResult,
  HealthStatus,
  LastDatabaseError,
  LockWait,
  LongRunningQuery,
  PerformanceFigures,
  SlowQuery,
} from './health/health-result.js'
export type {
  DatabaseHealthCheckOptions,
  HealthThresholds,
} from './health/options.js'
export type { RawQueryClient } from './health/postgres-stats.js'
export type { QueryMetricInfo } from './health/recorded-activity.js'
export type { HealthCheckEvents, StatusChangeListener } from './health/status-listeners.js'
export type { BatchOptions } from './patterns/bulk.js'
export type { CursorPage } from './patterns/cursor-pagination.js'
export { type Page, pageEnvelope } from './patterns/pagination.js'
export { QueryPatterns } from './patterns/query-patterns.js'
export type {
  Aggregations,
  BulkCreateOptions,
  BulkDeleteOptions,
  CursorPaginateOptions,
  FieldRestriction,
  PaginateOptions,
  QueryPatternsOptions,
  RankedOptions,
  SearchOptions,
} from './patterns/query-patterns-options.js'
export type { BulkProgress, BulkResult, ProgressCallback } from './patterns/types.js'
export type { ReadReplicaOptions } from './replicas/options.js'
export {
  type ReadReplicasApi,
  type ReadReplicasClientMethods,
  type ReadReplicasExtension,
  withReadReplicas,
} from './replicas/read-replicas.js'
export type { ReplicaClient, ReplicaStatus } from './replicas/replica-health.js'
export type { ReplicaPick } from './replicas/replica-pool.js'
export type { PrimaryReadReasons, ReadRoutingStats } from './replicas/replica-router.js'
export {
  classifyTransactionError,
  type TransactionFailure,
  type TransactionFailureKind,
  type TransactionPhase,
} from './transactions/retryable-errors.js'
export {
  type PrismaTransactionOptions,
  type TransactionCapableClient,
  type TransactionClientOf,
  type TransactionFailed,
  TransactionManager,
  type TransactionResult,
  type TransactionSuccess,
} from './transactions/transaction-manager.js'
export {
  ISOLATION_LEVELS,
  type IsolationLevel,
  type RetryInfo,
  type TransactionDefaults,
  type TransactionOptions,
} from './transactions/transaction-options.js'
export type { TransactionStats } from './transactions/transaction-stats.js'

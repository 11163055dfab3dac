/**
 * `stratacache/http`: the operations endpoints (health, status, invalidation, analysis,
 * Prometheus metrics) as one handler for `node:http`, Express, Fastify and fetch runtimes.
 */
export { type QueryHeadersOptions, queryHeaders } from '../prisma/metrics/query-context.js'
export {
  createOpsHandler,
  type FastifyLike,
  type OpsHandler,
  type OpsHandlerOptions,
} from './ops-handler.js'
export {
  createMetricsExporter,
  DEFAULT_L2_BUCKETS,
  DEFAULT_QUERY_BUCKETS,
  type HealthSource,
  type MetricsExporter,
  type MetricsExporterOptions,
  type PoolSource,
  type PrismaMetricsSource,
  type TransactionSource,
} from './prometheus.js'

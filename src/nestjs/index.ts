/**
 * stratacache/nestjs: the cache, its invalidation rules and the database health check as a NestJS
 * module (`CacheModule.register` / `registerAsync`), the `/health/db` routes, and indicators for
 * `@nestjs/terminus`. Loading it loads `@nestjs/common` and `@nestjs/core`; `@nestjs/event-emitter`
 * and `@nestjs/terminus` are used when installed.
 * @packageDocumentation
 */
export { CacheManager } from '../cache/cache-manager.js'
export { DatabaseHealthCheck } from '../database/health/health-check.js'
export { CacheInvalidation } from '../invalidation/cache-invalidation.js'
export { CacheModule } from './cache-module.js'
export {
  createDatabaseHealthController,
  DatabaseHealthController,
  type DatabaseHealthRoutes,
  type DatabaseHealthSummary,
} from './health-controller.js'
export type {
  CacheModuleAsyncOptions,
  CacheModuleFactoryOptions,
  CacheModuleOptions,
  CacheModuleRedisOptions,
  HealthControllerOptions,
} from './module-options.js'
export type { ResolvedCacheModuleOptions } from './resolve-options.js'
export {
  type CacheIndicatorOptions,
  type DatabaseIndicatorOptions,
  type IndicatorResult,
  StrataCacheHealthIndicator,
} from './terminus-indicator.js'
export { CACHE_INVALIDATION_EVENTS, CACHE_MODULE_OPTIONS } from './tokens.js'

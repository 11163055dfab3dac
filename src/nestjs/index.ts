/**
 * stratacache/nestjs: the cache, its invalidation rules and the database health check as a NestJS
 * module (`CacheModule.register` / `registerAsync`), the `/health/db` routes, and indicators for
 * `@nestjs/terminus`. Loading it loads `@nestjs/common` and `@nestjs/core`; `@nestjs/event-emitter`
 * and `@nestjs/terminus` are used when installed. What the module provides is injected by its
 * class, imported from where it is declared: `CacheManager` and `CacheInvalidation` from
 * `stratacache`, `DatabaseHealthCheck` from `stratacache/database`.
 * @packageDocumentation
 */
export { CacheModule } from './cache-module.js'
export {
  createDatabaseHealthController,
  DatabaseHealthController,
  type DatabaseHealthRoutes,
  type DatabaseHealthSummary,
} from './health-controller.js'
export { CACHE_INVALIDATION_EVENTS } from './injection.js'
export type {
  CacheModuleAsyncOptions,
  CacheModuleFactoryOptions,
  CacheModuleOptions,
  CacheModuleRedisOptions,
  HealthControllerOptions,
} from './module-options.js'
export {
  type CacheIndicatorOptions,
  type DatabaseIndicatorOptions,
  type IndicatorResult,
  StrataCacheHealthIndicator,
} from './terminus-indicator.js'

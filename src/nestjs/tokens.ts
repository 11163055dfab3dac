/**
 * Injection tokens of `CacheModule` besides its classes (`CacheManager`, `CacheInvalidation`,
 * `DatabaseHealthCheck`, which are their own tokens). Strings rather than symbols, so that Nest's
 * dependency errors name them readably.
 */

/** The module's options after validation and mapping (`ResolvedCacheModuleOptions`). */
export const CACHE_MODULE_OPTIONS = 'STRATACACHE_MODULE_OPTIONS'

/**
 * The emitter whose events fire `CacheInvalidation` rules: the `events` option when given, else
 * `@nestjs/event-emitter`'s `EventEmitter2` when `EventEmitterModule` is in the application,
 * else a node `EventEmitter` of the module's own. Inject it to emit events in either case.
 */
export const CACHE_INVALIDATION_EVENTS = 'STRATACACHE_INVALIDATION_EVENTS'

import { EventEmitter } from 'node:events'
import type { DynamicModule, Provider } from '@nestjs/common'
import { CacheManager } from '../cache/cache-manager.js'
import { DatabaseHealthCheck } from '../database/health/health-check.js'
import { CacheInvalidation } from '../invalidation/cache-invalidation.js'
import type { EventEmitterLike } from '../invalidation/rules.js'
import { eventEmitter2Token } from './event-emitter.js'
import { CacheModuleLifecycle } from './lifecycle.js'
import type { ResolvedCacheModuleOptions } from './resolve-options.js'
import { StrataCacheHealthIndicator } from './terminus-indicator.js'
import { CACHE_INVALIDATION_EVENTS, CACHE_MODULE_OPTIONS } from './tokens.js'

/** The providers of `CacheModule` besides its options, and the tokens it exports. */
export interface CacheProviders {
  providers: Provider[]
  exports: NonNullable<DynamicModule['exports']>
}

/**
 * `withDatabase`: provide `DatabaseHealthCheck`. `register` knows whether it was given a Prisma
 * client; `registerAsync` does not until its factory ran, so it always provides it, `undefined`
 * without a client.
 */
export function cacheProviders(withDatabase: boolean): CacheProviders {
  const emitter2 = eventEmitter2Token()
  const providers: Provider[] = [
    {
      provide: CacheManager,
      useFactory: (options: ResolvedCacheModuleOptions) => new CacheManager(options.cache),
      inject: [CACHE_MODULE_OPTIONS],
    },
    {
      provide: CACHE_INVALIDATION_EVENTS,
      useFactory: (options: ResolvedCacheModuleOptions, app?: EventEmitterLike) =>
        options.events ?? app ?? new EventEmitter(),
      // Optional: an application with the package installed may still not use its module.
      inject:
        emitter2 === undefined
          ? [CACHE_MODULE_OPTIONS]
          : [CACHE_MODULE_OPTIONS, { token: emitter2, optional: true }],
    },
    {
      provide: CacheInvalidation,
      useFactory: (cache: CacheManager, events: EventEmitterLike) =>
        new CacheInvalidation(cache, { events }),
      inject: [CacheManager, CACHE_INVALIDATION_EVENTS],
    },
    CacheModuleLifecycle,
    // Harmless without terminus: it looks terminus up on first use only.
    StrataCacheHealthIndicator,
  ]
  const exports: CacheProviders['exports'] = [
    CacheManager,
    CacheInvalidation,
    CACHE_INVALIDATION_EVENTS,
    StrataCacheHealthIndicator,
  ]
  if (withDatabase) {
    providers.push({
      provide: DatabaseHealthCheck,
      useFactory: ({ prisma, databaseHealth }: ResolvedCacheModuleOptions) =>
        prisma === undefined ? undefined : new DatabaseHealthCheck(prisma, databaseHealth),
      inject: [CACHE_MODULE_OPTIONS],
    })
    exports.push(DatabaseHealthCheck)
  }
  return { providers, exports }
}

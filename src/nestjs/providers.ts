/**
 * The providers of `CacheModule`, and what it starts and stops with the application.
 */
import { EventEmitter } from 'node:events'
import type {
  DynamicModule,
  OnApplicationBootstrap,
  OnApplicationShutdown,
  OnModuleDestroy,
  Provider,
} from '@nestjs/common'
import { Injectable } from '@nestjs/common'
import { CacheManager } from '../cache/cache-manager.js'
import { DatabaseHealthCheck } from '../database/health/health-check.js'
import { CacheInvalidation } from '../invalidation/cache-invalidation.js'
import type { EventEmitterLike } from '../invalidation/invalidation-types.js'
import {
  CACHE_INVALIDATION_EVENTS,
  CACHE_MODULE_OPTIONS,
  eventEmitter2Token,
  injectInto,
} from './injection.js'
import type { ResolvedCacheModuleOptions } from './resolve-options.js'
import { StrataCacheHealthIndicator } from './terminus-indicator.js'

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

/**
 * What `CacheModule` starts and stops with the application. Timers start at bootstrap, once every
 * module is initialised (a Prisma client connected in its `onModuleInit`); they stop when modules
 * are destroyed, so that no warming round or check starts while the application goes down. The
 * cache closes last, at shutdown: after the HTTP server stopped taking requests and after the
 * other modules' destroy hooks, which may still use it.
 */
export class CacheModuleLifecycle
  implements OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown
{
  readonly #options: ResolvedCacheModuleOptions
  readonly #cache: CacheManager
  readonly #invalidation: CacheInvalidation
  readonly #health: DatabaseHealthCheck | undefined

  constructor(
    options: ResolvedCacheModuleOptions,
    cache: CacheManager,
    invalidation: CacheInvalidation,
    health?: DatabaseHealthCheck,
  ) {
    this.#options = options
    this.#cache = cache
    this.#invalidation = invalidation
    this.#health = health
  }

  onApplicationBootstrap(): void {
    const { warming, healthCheckIntervalMs } = this.#options
    if (warming !== undefined) this.#invalidation.setupCacheWarming(warming)
    if (healthCheckIntervalMs !== undefined)
      this.#health?.startContinuousCheck(healthCheckIntervalMs)
  }

  /** Stops warming and continuous checks, the module's and any the application started. */
  onModuleDestroy(): void {
    this.#invalidation.stopCacheWarming()
    this.#health?.stopContinuousCheck()
  }

  /** Detaches the invalidation rules, then closes the cache (its Redis connections, its bus). */
  async onApplicationShutdown(): Promise<void> {
    try {
      await this.#invalidation.close()
    } finally {
      await this.#cache.close()
    }
  }
}

Injectable()(CacheModuleLifecycle)
injectInto(CacheModuleLifecycle, [
  CACHE_MODULE_OPTIONS,
  CacheManager,
  CacheInvalidation,
  { token: DatabaseHealthCheck, optional: true },
])

import type { OnApplicationBootstrap, OnApplicationShutdown, OnModuleDestroy } from '@nestjs/common'
import { Injectable } from '@nestjs/common'
import { CacheManager } from '../cache/cache-manager.js'
import { DatabaseHealthCheck } from '../database/health/health-check.js'
import { CacheInvalidation } from '../invalidation/cache-invalidation.js'
import { injectInto } from './nest-metadata.js'
import type { ResolvedCacheModuleOptions } from './resolve-options.js'
import { CACHE_MODULE_OPTIONS } from './tokens.js'

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

import { Injectable } from '@nestjs/common'
import { ModuleRef } from '@nestjs/core'
import { CacheManager } from '../cache/cache-manager.js'
import { DatabaseHealthCheck } from '../database/health/health-check.js'
import type { HealthStatus } from '../database/health/health-result.js'
import { invalid } from '../errors.js'
import { packageRequire } from '../module-url.js'
import type { ClassToken } from './injection.js'
import { injectInto } from './injection.js'

/**
 * What a terminus indicator returns (`HealthIndicatorResult` of `@nestjs/terminus`), spelled out
 * here so that `stratacache/nestjs`'s types do not need terminus installed.
 */
export type IndicatorResult<Key extends string> = Record<
  Key,
  {
    /** `up` when the component works. */
    status: 'up' | 'down'
  } & Record<string, unknown>
>

/** Options of {@link StrataCacheHealthIndicator.isCacheHealthy}. */
export interface CacheIndicatorOptions {
  /**
   * Report `down` while Redis is bypassed (circuit breaker open) or the invalidation bus is not
   * trusted. Off by default: the cache still answers then (from L1 and the database), and taking
   * every instance out of a load balancer over a Redis outage would turn it into a full outage.
   * @default false
   */
  failOnDegraded?: boolean
}

/** Options of {@link StrataCacheHealthIndicator.isDatabaseHealthy}. */
export interface DatabaseIndicatorOptions {
  /** Report `down` when the database is `degraded` too, not only `unhealthy`. @default false */
  failOnDegraded?: boolean
}

interface IndicatorSession {
  up(data: Record<string, unknown>): IndicatorResult<string>
  down(data: Record<string, unknown>): IndicatorResult<string>
}
interface IndicatorService {
  check(key: string): IndicatorSession
}

/**
 * Health indicators for `@nestjs/terminus` (11+, its `HealthIndicatorService` API): the cache (is
 * Redis bypassed, is the invalidation bus trusted) and the database (`DatabaseHealthCheck`).
 * `CacheModule` provides it; `TerminusModule` must be imported where the health controller is.
 *
 * @example
 * ```ts
 * class HealthController {
 *   constructor(private health: HealthCheckService, private strata: StrataCacheHealthIndicator) {}
 *   check() {
 *     return this.health.check([
 *       () => this.strata.isCacheHealthy('cache'),
 *       () => this.strata.isDatabaseHealthy('database'),
 *     ])
 *   }
 * }
 * ```
 */
export class StrataCacheHealthIndicator {
  readonly #cache: CacheManager
  readonly #modules: ModuleRef
  readonly #health: DatabaseHealthCheck | undefined
  #indicators: IndicatorService | undefined

  constructor(cache: CacheManager, modules: ModuleRef, health?: DatabaseHealthCheck) {
    this.#cache = cache
    this.#modules = modules
    this.#health = health
  }

  /**
   * `up` with the cache's state: `degraded` (Redis bypassed by the circuit breaker), `busTrusted`,
   * the hit rate and error counts; `down` only with `failOnDegraded` while degraded or untrusted.
   */
  async isCacheHealthy<Key extends string = 'cache'>(
    key: Key = 'cache' as Key,
    options: CacheIndicatorOptions = {},
  ): Promise<IndicatorResult<Key>> {
    const failOnDegraded = flag(options, 'failOnDegraded')
    const session = this.#service().check(keyOf(key))
    const metrics = this.#cache.getMetrics()
    const data = {
      degraded: metrics.degraded,
      busTrusted: metrics.busTrusted,
      hitRate: Math.round(metrics.hitRate * 10) / 10,
      errors: metrics.errors,
      l2Timeouts: metrics.l2Timeouts,
      busTrustLost: metrics.busTrustLost,
    }
    if (failOnDegraded && (metrics.degraded || !metrics.busTrusted)) {
      const message = metrics.degraded
        ? 'Redis is bypassed (circuit breaker open)'
        : 'the invalidation bus is not trusted'
      return session.down({ ...data, message }) as IndicatorResult<Key>
    }
    return session.up(data) as IndicatorResult<Key>
  }

  /**
   * Runs a database check: `down` when it is `unhealthy` (or `degraded`, with `failOnDegraded`),
   * with its `health` (the status), `connected`, `responseTime` and `reasons`.
   * @throws `ValidationError` (field `prisma`) when `CacheModule` was given no Prisma client.
   */
  async isDatabaseHealthy<Key extends string = 'database'>(
    key: Key = 'database' as Key,
    options: DatabaseIndicatorOptions = {},
  ): Promise<IndicatorResult<Key>> {
    const failOnDegraded = flag(options, 'failOnDegraded')
    if (this.#health === undefined) {
      throw invalid('prisma', 'isDatabaseHealthy needs CacheModule to be given a Prisma client')
    }
    const session = this.#service().check(keyOf(key))
    const result = await this.#health.check()
    // `status` is terminus's own field (up / down): the database's status goes under `health`.
    const data: { health: HealthStatus } & Record<string, unknown> = {
      health: result.status,
      connected: result.connected,
      responseTime: result.responseTime,
      reasons: result.reasons,
    }
    const down = result.status === 'unhealthy' || (failOnDegraded && result.status === 'degraded')
    return (down ? session.down(data) : session.up(data)) as IndicatorResult<Key>
  }

  /** Terminus's `HealthIndicatorService`, found on first use so that terminus stays optional. */
  #service(): IndicatorService {
    if (this.#indicators !== undefined) return this.#indicators
    let token: ClassToken
    try {
      token = (packageRequire('@nestjs/terminus') as { HealthIndicatorService: ClassToken })
        .HealthIndicatorService
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'MODULE_NOT_FOUND') throw error
      throw invalid(
        'StrataCacheHealthIndicator',
        'needs the optional peer dependency @nestjs/terminus: npm install @nestjs/terminus',
      )
    }
    try {
      this.#indicators = this.#modules.get(token, { strict: false }) as IndicatorService
    } catch {
      throw invalid(
        'StrataCacheHealthIndicator',
        'needs TerminusModule in the application: imports: [TerminusModule]',
      )
    }
    return this.#indicators
  }
}

function keyOf(key: unknown): string {
  if (typeof key !== 'string' || key.length === 0) {
    throw invalid('key', 'must be a non-empty string (the name of the result in the response)')
  }
  return key
}

function flag(options: object, field: string): boolean {
  if (typeof options !== 'object' || options === null) {
    throw invalid('options', `must be an object { ${field}? }`)
  }
  for (const key of Object.keys(options)) {
    if (key !== field) throw invalid(`options.${key}`, 'is not a known option')
  }
  const value = (options as Record<string, unknown>)[field]
  if (value !== undefined && typeof value !== 'boolean') {
    throw invalid(`options.${field}`, 'must be a boolean')
  }
  return value === true
}

Injectable()(StrataCacheHealthIndicator)
injectInto(StrataCacheHealthIndicator, [
  CacheManager,
  ModuleRef,
  { token: DatabaseHealthCheck, optional: true },
])

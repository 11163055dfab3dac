import type { InjectionToken, ModuleMetadata, OptionalFactoryDependency } from '@nestjs/common'
import type { CacheOptions } from '../cache/options.js'
import type { Duration } from '../cache/validate.js'
import type { DatabaseHealthCheckOptions } from '../database/health/options.js'
import type { RawQueryClient } from '../database/health/postgres-stats.js'
import type { EventEmitterLike } from '../invalidation/invalidation-types.js'
import type { WarmingItem } from '../invalidation/warming-config.js'

/** Where Redis is, as ioredis takes it. For TLS, Sentinel, a cluster or a client, use `cache.redis`. */
export interface CacheModuleRedisOptions {
  /** Host name or IP. @default 'localhost' */
  host?: string
  /** TCP port, 1-65535 (`NaN`, from a bad `parseInt(process.env.REDIS_PORT)`, is refused). @default 6379 */
  port?: number
  /** Password; `undefined` or `''` (an unset variable) means none. @default none */
  password?: string
  /** ACL user name (Redis 6+). @default none */
  username?: string
  /** Logical database index. @default 0 */
  db?: number
}

/** Where the database health routes are served. */
export interface HealthControllerOptions {
  /** The controller's path: the routes are `<path>/db`, `<path>/db/detailed`, `<path>/db/report`. @default 'health' */
  path?: string
}

/**
 * Options of {@link CacheModule.register} (and what the factory of `registerAsync` returns).
 * Durations are milliseconds or strings such as `'5m'`. Every field is optional: no options is a
 * memory-only cache with one-hour entries.
 *
 * @example
 * ```ts
 * CacheModule.register({
 *   redis: { host: process.env.REDIS_HOST || 'localhost', port: parseInt(process.env.REDIS_PORT || '6379'), db: 0 },
 *   defaultTtl: 3600000, // 1 hour
 *   enableCompression: true,
 * })
 * ```
 */
export interface CacheModuleOptions {
  /**
   * Redis for the L2 tier: `{ host, port, password, db }`, a `redis://` URL, or `false`.
   * Giving `cache.redis` or `cache.l2` as well is an error.
   * @default false (memory only)
   */
  redis?: false | string | CacheModuleRedisOptions
  /**
   * Alias of `cache.ttl`, the default TTL of an entry: a number is milliseconds (`3600000` is one
   * hour). Giving `cache.ttl` or `cache.defaultTtl` as well is an error.
   * @default 3600000 (1 hour)
   */
  defaultTtl?: Duration
  /**
   * Alias of `cache.compression`: compress L2 values larger than `cache.compressionThreshold`
   * (16 KiB by default). Giving `cache.compression` or `cache.enableCompression` as well is an error.
   * @default true
   */
  enableCompression?: boolean
  /**
   * Keep `warmingItems` warm from bootstrap to shutdown (`CacheInvalidation.setupCacheWarming`,
   * a first round at bootstrap, then one every `warmingInterval`). Without `warmingItems` the
   * module schedules nothing; the application may call `setupCacheWarming` itself, which replaces
   * the module's schedule (and is stopped at shutdown too).
   * @default false
   */
  enableWarming?: boolean
  /** Time between two warming rounds of `warmingItems`. @default 300000 (5 minutes) */
  warmingInterval?: Duration
  /** The entries kept warm when `enableWarming` is on; keys must be distinct. @default [] */
  warmingItems?: readonly WarmingItem[]
  /**
   * Any other option of the cache (`prefix`, `local`, `consistency`, `commandTimeout`, ...), as
   * `new CacheManager(options)` takes them.
   * @default {}
   */
  cache?: CacheOptions
  /**
   * The emitter whose events fire `CacheInvalidation` rules.
   * @default `EventEmitter2` when `EventEmitterModule` (`@nestjs/event-emitter`) is in the
   * application, else a node `EventEmitter` of the module's own (injectable as
   * `CACHE_INVALIDATION_EVENTS`)
   */
  events?: EventEmitterLike
  /**
   * A Prisma client on PostgreSQL: with it the module provides `DatabaseHealthCheck`. The
   * application keeps owning it (the module never disconnects it).
   * @default none (no `DatabaseHealthCheck`)
   */
  prisma?: RawQueryClient
  /** Options of the `DatabaseHealthCheck` (timeout, thresholds, pool...). Needs `prisma`. @default {} */
  databaseHealth?: DatabaseHealthCheckOptions
  /**
   * Check the database every this long from bootstrap to shutdown, so that
   * `getLastHealthCheck()` stays current. Needs `prisma`.
   * @default false (checks run only when asked: a route, a terminus check, `check()`)
   */
  healthCheckInterval?: false | Duration
  /**
   * Serve `GET /health/db` (`{ status, connected, responseTime, timestamp }`), `/health/db/detailed`
   * (the whole check) and `/health/db/report` (plain text), each answering 503 when the database
   * is unhealthy. Needs `prisma`.
   * @default false
   */
  healthController?: boolean | HealthControllerOptions
}

/**
 * Options of {@link CacheModule.registerAsync}: the options come from a factory that can use
 * other providers (configuration, a `PrismaService`).
 *
 * @example
 * ```ts
 * CacheModule.registerAsync({
 *   imports: [ConfigModule],
 *   inject: [ConfigService, PrismaService],
 *   useFactory: (config: ConfigService, prisma: PrismaService) => ({
 *     redis: config.get('REDIS_URL'),
 *     defaultTtl: config.get('CACHE_TTL'),
 *     prisma,
 *   }),
 *   healthController: true,
 * })
 * ```
 */
export interface CacheModuleAsyncOptions {
  /** Modules exporting what `inject` names. @default [] */
  imports?: ModuleMetadata['imports']
  /** Providers passed to `useFactory`, in order. @default [] */
  inject?: (InjectionToken | OptionalFactoryDependency)[]
  /** Returns the module's options (all but `healthController`), or a promise of them. */
  // biome-ignore lint/suspicious/noExplicitAny: its arguments are whatever `inject` names.
  useFactory: (...args: any[]) => CacheModuleFactoryOptions | Promise<CacheModuleFactoryOptions>
  /**
   * As {@link CacheModuleOptions.healthController}. Given here rather than by the factory because
   * Nest sets up routes before any factory runs; the factory must then give `prisma`.
   * @default false
   */
  healthController?: boolean | HealthControllerOptions
}

/** What the factory of {@link CacheModule.registerAsync} returns. */
export type CacheModuleFactoryOptions = Omit<CacheModuleOptions, 'healthController'>

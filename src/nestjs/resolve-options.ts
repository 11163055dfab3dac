/**
 * Validation of `CacheModule`'s options and their mapping onto `CacheOptions`: every error is a
 * `ValidationError` naming the option (`options.redis.port`), raised when the module is declared
 * (`register`) or when its factory resolves (`registerAsync`), so that a misconfigured
 * application fails at start-up rather than on its first request.
 */
import type { RedisOptions } from 'ioredis'
import type { CacheOptions } from '../cache/options.js'
import { validateOptions } from '../cache/resolve-options.js'
import { type Duration, toMs } from '../cache/validate.js'
import {
  type DatabaseHealthCheckOptions,
  resolveHealthOptions,
} from '../database/health/options.js'
import type { RawQueryClient } from '../database/health/postgres-stats.js'
import { ErrorCodes, invalid, ValidationError } from '../errors.js'
import type { EventEmitterLike } from '../invalidation/invalidation-types.js'
import { type CacheWarmingConfig, resolveWarmingConfig } from '../invalidation/warming-config.js'
import {
  checkBoolean,
  checkDuration,
  checkMethods,
  checkNumber,
  checkObject,
  checkString,
  describeValue,
  isRecord,
} from '../option-checks.js'
import type { CacheModuleOptions, CacheModuleRedisOptions } from './module-options.js'

/** What the providers read: the options after validation and mapping. */
export interface ResolvedCacheModuleOptions {
  /** What `new CacheManager()` is given. */
  cache: CacheOptions
  events: EventEmitterLike | undefined
  prisma: RawQueryClient | undefined
  databaseHealth: DatabaseHealthCheckOptions | undefined
  healthCheckIntervalMs: number | undefined
  /** The module's warming schedule, when `enableWarming` is on and there are items. */
  warming: CacheWarmingConfig | undefined
}

/** Where the options come from, for the few rules that depend on it. */
export interface ResolveContext {
  /** The health controller is on, so a Prisma client is required. */
  healthController: boolean
  /** The options come from `registerAsync`'s factory, which may not give `healthController`. */
  fromFactory: boolean
}

const ROOT = 'options'
const DEFAULT_WARMING_INTERVAL_MS = 5 * 60_000
const OPTION_NAMES: readonly (keyof CacheModuleOptions)[] = [
  'redis',
  'defaultTtl',
  'enableCompression',
  'enableWarming',
  'warmingInterval',
  'warmingItems',
  'cache',
  'events',
  'prisma',
  'databaseHealth',
  'healthCheckInterval',
  'healthController',
]

/** `redis`: `false`, a `redis://` URL, or `{ host, port, password, username, db }`. */
function checkRedis(redis: unknown, field: string): void {
  if (redis === undefined || redis === false) return
  if (typeof redis === 'string') {
    checkString(redis, field)
    return
  }
  if (!isRecord(redis)) {
    throw invalid(
      field,
      `must be { host, port, password, db }, a redis:// URL or false, got ${describeValue(redis)}`,
    )
  }
  checkObject(redis, field, ['host', 'port', 'password', 'username', 'db'])
  checkString(redis.host, `${field}.host`)
  checkNumber(redis.port, `${field}.port`, { min: 1, max: 65535, integer: true })
  checkString(redis.password, `${field}.password`, { minLength: 0 })
  checkString(redis.username, `${field}.username`, { minLength: 0 })
  checkNumber(redis.db, `${field}.db`, { min: 0, integer: true })
}

/** The types of `CacheModule`'s own options; what they hold is checked where they are mapped. */
function checkModuleOptions(o: Record<string, unknown>): void {
  checkObject(o, ROOT, OPTION_NAMES)
  checkRedis(o.redis, `${ROOT}.redis`)
  checkDuration(o.defaultTtl, `${ROOT}.defaultTtl`)
  checkBoolean(o.enableCompression, `${ROOT}.enableCompression`)
  checkBoolean(o.enableWarming, `${ROOT}.enableWarming`)
  checkDuration(o.warmingInterval, `${ROOT}.warmingInterval`)
  if (o.warmingItems !== undefined && !Array.isArray(o.warmingItems)) {
    throw invalid(
      `${ROOT}.warmingItems`,
      `must be an array of { key, compute, ttl? }, got ${describeValue(o.warmingItems)}`,
    )
  }
  for (const [field, what] of [
    ['cache', 'CacheOptions'],
    ['databaseHealth', 'DatabaseHealthCheckOptions'],
  ] as const) {
    if (o[field] !== undefined && !isRecord(o[field])) {
      throw invalid(
        `${ROOT}.${field}`,
        `must be an object of ${what}, got ${describeValue(o[field])}`,
      )
    }
  }
  checkMethods(o.events, `${ROOT}.events`, ['on'], 'an event emitter (with on(event, listener))')
  checkMethods(o.prisma, `${ROOT}.prisma`, ['$queryRawUnsafe'], 'a Prisma client')
  if (o.healthCheckInterval !== false) {
    checkDuration(o.healthCheckInterval, `${ROOT}.healthCheckInterval`)
  }
  const controller = o.healthController
  if (controller !== undefined && typeof controller !== 'boolean') {
    if (!isRecord(controller)) {
      throw invalid(
        `${ROOT}.healthController`,
        `must be true, false or { path }, got ${describeValue(controller)}`,
      )
    }
    checkObject(controller, `${ROOT}.healthController`, ['path'])
    checkString(controller.path, `${ROOT}.healthController.path`, { minLength: 0 })
  }
}

/** Validates `CacheModule`'s options and maps them; throws a `ValidationError` naming the option. */
export function resolveCacheModuleOptions(
  input: unknown,
  context: ResolveContext,
): ResolvedCacheModuleOptions {
  if (input === undefined) input = {}
  if (!isRecord(input)) {
    throw invalid(ROOT, `must be an object of CacheModuleOptions, got ${describeValue(input)}`)
  }
  checkModuleOptions(input)
  const o = input as CacheModuleOptions
  if (context.fromFactory && o.healthController !== undefined) {
    throw invalid(
      `${ROOT}.healthController`,
      'belongs to registerAsync({ healthController }) itself: Nest sets up routes before the factory runs',
    )
  }
  const cache = cacheOptionsOf(o)
  const needsPrisma = (field: string) =>
    invalid(`${ROOT}.${field}`, 'needs options.prisma: a Prisma client to check the database with')
  if (o.prisma === undefined) {
    if (context.healthController) throw needsPrisma('healthController')
    if (o.databaseHealth !== undefined) throw needsPrisma('databaseHealth')
    if (o.healthCheckInterval !== undefined && o.healthCheckInterval !== false) {
      throw needsPrisma('healthCheckInterval')
    }
  }
  if (o.databaseHealth !== undefined) {
    try {
      resolveHealthOptions(o.databaseHealth)
    } catch (error) {
      throw renamed(error, ROOT, `${ROOT}.databaseHealth`)
    }
  }
  return {
    cache,
    events: o.events,
    prisma: o.prisma,
    databaseHealth: o.databaseHealth,
    healthCheckIntervalMs:
      o.healthCheckInterval === undefined || o.healthCheckInterval === false
        ? undefined
        : positiveMs(o.healthCheckInterval, 'healthCheckInterval'),
    warming: warmingOf(o),
  }
}

/** The module's top-level options laid over `cache`, each given at most once. */
function cacheOptionsOf(o: CacheModuleOptions): CacheOptions {
  const cache = validateOptions(o.cache ?? {}, `${ROOT}.cache`)
  const once = (given: unknown, field: string, aliases: (keyof CacheOptions)[]) => {
    if (given === undefined) return
    for (const alias of aliases) {
      if (cache[alias] !== undefined) {
        throw invalid(`${ROOT}.cache.${alias}`, `conflicts with ${ROOT}.${field}; give one of them`)
      }
    }
  }
  once(o.redis, 'redis', ['redis', 'l2'])
  once(o.defaultTtl, 'defaultTtl', ['ttl', 'defaultTtl'])
  once(o.enableCompression, 'enableCompression', ['compression', 'enableCompression'])
  const merged: CacheOptions = { ...cache }
  if (o.redis !== undefined) merged.redis = redisOf(o.redis)
  if (o.defaultTtl !== undefined) merged.ttl = positiveMs(o.defaultTtl, 'defaultTtl')
  if (o.enableCompression !== undefined) merged.compression = o.enableCompression
  return merged
}

function redisOf(redis: false | string | CacheModuleRedisOptions): false | string | RedisOptions {
  if (typeof redis !== 'object') return redis
  const options: RedisOptions = {}
  if (redis.host !== undefined) options.host = redis.host
  if (redis.port !== undefined) options.port = redis.port
  if (redis.db !== undefined) options.db = redis.db
  if (redis.username !== undefined && redis.username !== '') options.username = redis.username
  // An unset variable (`process.env.REDIS_PASSWORD`) arrives as undefined or '': no AUTH.
  if (redis.password !== undefined && redis.password !== '') options.password = redis.password
  return options
}

function warmingOf(o: CacheModuleOptions): CacheWarmingConfig | undefined {
  const interval = o.warmingInterval ?? DEFAULT_WARMING_INTERVAL_MS
  positiveMs(interval, 'warmingInterval')
  if (o.enableWarming !== true || o.warmingItems === undefined || o.warmingItems.length === 0) {
    return undefined
  }
  const config: CacheWarmingConfig = { enabled: true, interval, items: o.warmingItems }
  try {
    resolveWarmingConfig(config)
  } catch (error) {
    throw renamed(error, 'config.items', `${ROOT}.warmingItems`)
  }
  return config
}

/** An error's field as the module's option (`options.warmingItems[1].key`). */
function renamed(error: unknown, from: string, to: string): unknown {
  if (!(error instanceof ValidationError) || error.field?.startsWith(from) !== true) return error
  const field = to + error.field.slice(from.length)
  const reason = error.message.slice(error.field.length + 2)
  return invalid(field, reason, error.code)
}

function positiveMs(value: Duration, field: string): number {
  const ms = toMs(value, `${ROOT}.${field}`)
  if (ms === 0) throw invalid(`${ROOT}.${field}`, 'must be greater than 0', ErrorCodes.INVALID_TTL)
  return ms
}

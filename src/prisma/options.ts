/**
 * The options of {@link withCache}, validated once when the extension is created: every bad
 * value is a `ValidationError` naming the option (`options.models.Product.ttl`).
 */
import { CacheManager } from '../cache/cache-manager.js'
import type { Env } from '../config/env-parsers.js'
import { invalid } from '../errors.js'
import {
  checkBoolean,
  checkObject,
  checkString,
  describeValue,
  isRecord,
} from '../option-checks.js'
import type { ChangeFeedOptions } from './change-feed/options.js'
import type { QueryMetricsOptions } from './metrics/options.js'

/**
 * The TTL classes: `hot` data that changes often (inventory, orders: 10 s, `CACHE_TTL_L1`),
 * `aggregation`s (`count`, `aggregate`, `groupBy`: 60 s, `CACHE_TTL_L2`), `reference` data that
 * rarely changes (users, roles, categories: 5 min, `CACHE_TTL_L3`). Invalidation on writes keeps
 * every class fresh; the TTL bounds what a write the extension cannot see (another application,
 * a manual SQL session) leaves stale.
 */
export type StrategyClass = 'hot' | 'aggregation' | 'reference'

/** A TTL and a stale-while-revalidate window, in seconds (Prisma Accelerate's unit). */
export interface StrategySettings {
  /** Seconds a result stays fresh. > 0. */
  ttl: number
  /**
   * Seconds past `ttl` during which the stale result is served while one refresh runs.
   * @default 0
   */
  swr?: number
}

/** How a model's reads are cached: a class, explicit settings, or `false` (not cached). */
export type ModelStrategy = StrategyClass | StrategySettings | false

/** Per-query strategy, as in Prisma Accelerate: seconds, plus tags for `$cache.invalidate`. */
export interface CacheStrategy {
  /**
   * Seconds the result stays fresh.
   * @default the model's strategy
   */
  readonly ttl?: number
  /** Seconds past `ttl` the stale result may be served while it is refreshed. */
  readonly swr?: number
  /** Labels for `prisma.$cache.invalidate({ tags })`. */
  readonly tags?: readonly string[]
}

/** Options of {@link withCache}. */
export interface WithCacheOptions {
  /** The cache that holds results: L1 in-process, Redis when it has one. Required. */
  cache: CacheManager
  /**
   * `false`: reads are never cached (writes still invalidate, so turning it back on is safe).
   * @default `true`, or `ENABLE_QUERY_CACHE` / `DATABASE_ENABLE_QUERY_CACHE`
   */
  enabled?: boolean
  /**
   * `true`: every read of a model whose strategy is not `false` is cached, as a client that caches
   * everything does. `false`: only reads that pass a `cacheStrategy` are (Accelerate's way).
   * @default true
   */
  automatic?: boolean
  /**
   * Strategy per model, by its name in the schema: `{ Category: 'reference', Order: 'hot',
   * AuditLog: false, Product: { ttl: 30, swr: 10 } }`. Names are checked against the schema.
   * @default {}
   */
  models?: Readonly<Record<string, ModelStrategy>>
  /**
   * Strategy of models not in `models`.
   * @default `'hot'`, or `{ ttl: DATABASE_QUERY_CACHE_TTL }`
   */
  defaultStrategy?: ModelStrategy
  /**
   * The classes' `{ ttl, swr }`, in seconds. Aggregations (`count`, `aggregate`, `groupBy`) use
   * `aggregation`.
   * @default hot 10 (`CACHE_TTL_L1`), aggregation 60 (`CACHE_TTL_L2`), reference 300
   * (`CACHE_TTL_L3`), swr 0
   */
  strategies?: Readonly<Partial<Record<StrategyClass, StrategySettings>>>
  /**
   * Prefix of the extension's keys and tags. Clients of different databases sharing one cache need
   * different namespaces.
   * @default 'prisma'
   */
  namespace?: string
  /**
   * The Prisma schema's text. Prisma 7 clients carry it, so this is only needed if a future client
   * does not (the extension then says so).
   */
  schema?: string
  /**
   * Query metrics (`prisma.$cache.stats()`): slow-query log, N+1 detection, latency percentiles.
   * `false` turns them off. `slowQueryMs` defaults to `DATABASE_MAX_QUERY_EXECUTION_TIME`, else
   * 1000; N+1 advice names the parent relation from the schema unless a `relationHint` is given.
   * @default on, with the defaults of {@link QueryMetricsOptions}
   */
  metrics?: false | QueryMetricsOptions
  /**
   * Invalidation from every write the database commits, not only this client's: psql sessions,
   * migrations, other services, triggers. `false`: none.
   * @default off, or `CACHE_CHANGE_FEED` (`logical`, `notify`, `auto`) with `DIRECT_DATABASE_URL`
   */
  changeFeed?: ChangeFeedOptions | false
  /**
   * Environment variables to read (the Prisma ones, listed in docs/CONFIGURATION.md); `false` reads
   * none. Options given here win over the environment.
   * @default process.env
   */
  env?: Env | false
}

const STRATEGY_NAMES = ['hot', 'aggregation', 'reference'] as const
const OPTION_NAMES: readonly (keyof WithCacheOptions)[] = [
  'cache',
  'enabled',
  'automatic',
  'models',
  'defaultStrategy',
  'strategies',
  'namespace',
  'schema',
  'metrics',
  'changeFeed',
  'env',
]

/** `{ ttl, swr }` in seconds: ttl above 0, swr 0 or more. */
function checkSettings(value: unknown, field: string, ttlRequired: boolean): void {
  checkObject(value, field, ['ttl', 'swr'])
  if (ttlRequired || value.ttl !== undefined) checkSeconds(value.ttl, `${field}.ttl`, true)
  if (value.swr !== undefined) checkSeconds(value.swr, `${field}.swr`, false)
}

function checkSeconds(value: unknown, field: string, positive: boolean): void {
  if (typeof value === 'number' && Number.isFinite(value) && (positive ? value > 0 : value >= 0)) {
    return
  }
  const range = positive ? 'greater than 0' : 'at least 0'
  throw invalid(field, `must be a number of seconds ${range}, got ${describeValue(value)}`)
}

function checkStrategy(value: unknown, field: string): void {
  if (value === undefined || value === false || STRATEGY_NAMES.includes(value as never)) return
  if (typeof value !== 'object' || value === null) {
    throw invalid(
      field,
      `must be false, "hot", "aggregation", "reference" or { ttl, swr }, got ${describeValue(value)}`,
    )
  }
  checkSettings(value, field, true)
}

function checkFalseOrObject(value: unknown, field: string): void {
  if (value !== undefined && value !== false && (typeof value !== 'object' || value === null)) {
    throw invalid(field, 'must be false or an object')
  }
}

/** Validates {@link WithCacheOptions}; throws a `ValidationError` naming the first bad option. */
export function validateWithCacheOptions(input: unknown): WithCacheOptions {
  if (typeof input !== 'object' || input === null) {
    throw invalid('options', 'must be an object: withCache({ cache })')
  }
  checkObject(input, 'options', OPTION_NAMES)
  const o = input
  if (!(o.cache instanceof CacheManager)) throw invalid('options.cache', 'must be a CacheManager')
  checkBoolean(o.enabled, 'options.enabled')
  checkBoolean(o.automatic, 'options.automatic')
  if (o.models !== undefined) {
    if (!isRecord(o.models)) throw invalid('options.models', 'must be an object')
    for (const [model, strategy] of Object.entries(o.models)) {
      checkStrategy(strategy, `options.models.${model}`)
    }
  }
  checkStrategy(o.defaultStrategy, 'options.defaultStrategy')
  if (o.strategies !== undefined) {
    checkObject(o.strategies, 'options.strategies', STRATEGY_NAMES)
    for (const [name, settings] of Object.entries(o.strategies)) {
      if (settings !== undefined) checkSettings(settings, `options.strategies.${name}`, true)
    }
  }
  checkString(o.namespace, 'options.namespace', {
    maxLength: 64,
    pattern: /^[\w.-]+$/,
    what: 'letters, digits, "_", "-" and "." only',
  })
  checkString(o.schema, 'options.schema')
  // Checked in depth by QueryMetrics (options.metrics.<field>) and by resolveChangeFeedOptions.
  checkFalseOrObject(o.metrics, 'options.metrics')
  checkFalseOrObject(o.changeFeed, 'options.changeFeed')
  if (o.env !== undefined && o.env !== false) {
    if (!isRecord(o.env)) throw invalid('options.env', 'must be false or an object of strings')
    for (const [name, value] of Object.entries(o.env)) {
      if (value !== undefined && typeof value !== 'string') {
        throw invalid(`options.env.${name}`, `must be a string, got ${describeValue(value)}`)
      }
    }
  }
  return input as unknown as WithCacheOptions
}

/** Validates a query's `cacheStrategy` (slow path: only when one is given). */
export function validateCacheStrategy(input: unknown): CacheStrategy | false {
  if (input === false) return false
  const field = 'args.cacheStrategy'
  checkObject(input, field, ['ttl', 'swr', 'tags'])
  if (input.ttl !== undefined) checkSeconds(input.ttl, `${field}.ttl`, true)
  if (input.swr !== undefined) checkSeconds(input.swr, `${field}.swr`, false)
  if (input.tags !== undefined) {
    if (!Array.isArray(input.tags)) throw invalid(`${field}.tags`, 'must be an array of strings')
    for (const [i, tag] of input.tags.entries()) {
      // A hole or `undefined` is no tag: checkString passes undefined (an option left out).
      checkString(tag ?? null, `${field}.tags[${i}]`, { maxLength: 512 })
    }
  }
  return input as CacheStrategy
}

/**
 * `args` as Prisma takes them: without the extension's `cacheStrategy`, which Prisma would
 * reject. Arguments without one are returned as they are.
 */
export function withoutCacheStrategy<A extends Record<string, unknown> | undefined>(args: A): A {
  if (args?.cacheStrategy === undefined) return args
  const { cacheStrategy: _, ...rest } = args
  return rest as A
}

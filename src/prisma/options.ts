/**
 * The options of {@link withCache}, validated once when the extension is created: every bad
 * value is a `ValidationError` naming the option (`options.models.Product.ttl`).
 */
import { z } from 'zod'
import { CacheManager } from '../cache/cache-manager.js'
import { validationErrorOf } from '../cache/zod-issue.js'
import type { Env } from '../config/env-parsers.js'
import { invalid } from '../errors.js'
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
  /** Seconds past `ttl` during which the stale result is served while one refresh runs. Default 0. */
  swr?: number
}

/** How a model's reads are cached: a class, explicit settings, or `false` (not cached). */
export type ModelStrategy = StrategyClass | StrategySettings | false

/** Per-query strategy, as in Prisma Accelerate: seconds, plus tags for `$cache.invalidate`. */
export interface CacheStrategy {
  /** Seconds the result stays fresh (default: the model's strategy). */
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
   * Default `true`, or `ENABLE_QUERY_CACHE` / `DATABASE_ENABLE_QUERY_CACHE`.
   */
  enabled?: boolean
  /**
   * `true` (default): every read of a model whose strategy is not `false` is cached, as a client
   * that caches everything does. `false`: only reads that pass a `cacheStrategy` are (Accelerate's
   * way).
   */
  automatic?: boolean
  /**
   * Strategy per model, by its name in the schema: `{ Category: 'reference', Order: 'hot',
   * AuditLog: false, Product: { ttl: 30, swr: 10 } }`. Names are checked against the schema.
   */
  models?: Readonly<Record<string, ModelStrategy>>
  /**
   * Strategy of models not in `models`. Default `'hot'`, or `{ ttl: DATABASE_QUERY_CACHE_TTL }`.
   */
  defaultStrategy?: ModelStrategy
  /**
   * The classes' settings, in seconds. Defaults: hot 10 (`CACHE_TTL_L1`), aggregation 60
   * (`CACHE_TTL_L2`), reference 300 (`CACHE_TTL_L3`), swr 0.
   */
  strategies?: Readonly<Partial<Record<StrategyClass, StrategySettings>>>
  /**
   * Prefix of the extension's keys and tags (default `'prisma'`). Clients of different databases
   * sharing one cache need different namespaces.
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
   */
  metrics?: false | QueryMetricsOptions
  /**
   * Invalidation from every write the database commits, not only this client's: psql sessions,
   * migrations, other services, triggers. `false`: none.
   * @default off, or `CACHE_CHANGE_FEED` (`logical`, `notify`, `auto`) with `DIRECT_DATABASE_URL`
   */
  changeFeed?: ChangeFeedOptions | false
  /**
   * Environment variables to read (the Prisma ones): default `process.env`; `false` reads none.
   * Options given here win over the environment.
   */
  env?: Env | false
}

const seconds = z.number().finite().nonnegative()
const settings = z.strictObject({
  ttl: z.number().finite().positive('must be greater than 0 (seconds)'),
  swr: seconds.optional(),
})
const modelStrategy = z.union([
  z.literal(false),
  z.enum(['hot', 'aggregation', 'reference']),
  settings,
])

const schema = z.strictObject({
  cache: z.custom<CacheManager>((v) => v instanceof CacheManager, 'must be a CacheManager'),
  enabled: z.boolean().optional(),
  automatic: z.boolean().optional(),
  models: z.record(z.string(), modelStrategy).optional(),
  defaultStrategy: modelStrategy.optional(),
  strategies: z
    .strictObject({
      hot: settings.optional(),
      aggregation: settings.optional(),
      reference: settings.optional(),
    })
    .optional(),
  namespace: z
    .string()
    .min(1, 'must not be empty')
    .max(64)
    .regex(/^[\w.-]+$/, 'may hold letters, digits, "_", "-" and "." only')
    .optional(),
  schema: z.string().min(1).optional(),
  // Checked in depth by QueryMetrics itself, which names the field (options.metrics.<field>).
  metrics: z
    .union([
      z.literal(false),
      z.custom<object>((v) => typeof v === 'object' && v !== null, 'must be false or an object'),
    ])
    .optional(),
  // Checked in depth by resolveChangeFeedOptions (options.changeFeed.<field>).
  changeFeed: z
    .union([
      z.literal(false),
      z.custom<object>((v) => typeof v === 'object' && v !== null, 'must be false or an object'),
    ])
    .optional(),
  env: z.union([z.literal(false), z.record(z.string(), z.string().optional())]).optional(),
})

/** Validates {@link WithCacheOptions}; throws a `ValidationError` naming the first bad option. */
export function validateWithCacheOptions(input: unknown): WithCacheOptions {
  if (typeof input !== 'object' || input === null) {
    throw invalid('options', 'must be an object: withCache({ cache })')
  }
  const parsed = schema.safeParse(input)
  if (!parsed.success) throw validationErrorOf(parsed.error, 'options')
  return input as WithCacheOptions
}

const cacheStrategy = z.union([
  z.literal(false),
  z.strictObject({
    ttl: z.number().finite().positive('must be greater than 0 (seconds)').optional(),
    swr: seconds.optional(),
    tags: z.array(z.string().min(1).max(512)).optional(),
  }),
])

/** Validates a query's `cacheStrategy` (slow path: only when one is given). */
export function validateCacheStrategy(input: unknown): CacheStrategy | false {
  const parsed = cacheStrategy.safeParse(input)
  if (!parsed.success) throw validationErrorOf(parsed.error, 'args.cacheStrategy')
  return input as CacheStrategy | false
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

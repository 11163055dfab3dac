import type { Cluster, Redis, RedisOptions } from 'ioredis'
import { z } from 'zod'
import type { InvalidationBus } from '../drivers/bus.js'
import type { L2Driver } from '../drivers/l2-driver.js'
import {
  assertClusterNodes,
  isClusterConfig,
  type RedisClusterConfig,
} from '../drivers/redis-cluster-client.js'
import type { UpstashConnection } from '../drivers/upstash-client.js'
import { ErrorCodes, invalid } from '../errors.js'
import { type Duration, toMs, toMsOptional } from './duration.js'
import { DEFAULT_MAX_VALUE_BYTES } from './entry-format.js'
import { validationErrorOf } from './zod-issue.js'

/** How the in-process tier (L1) behaves. */
export interface LocalCacheOptions {
  /** Most entries held at once. Default `10_000`. */
  maxEntries?: number
  /** Most bytes held at once, counted as the encoded size of each value plus its key. Default 64 MiB. */
  maxBytes?: number
  /**
   * Upper bound on how long an entry lives in L1, whatever its own TTL. Shorter than the L2 TTL
   * bounds how stale another instance's L1 can be without the invalidation bus. Default: the
   * entry's own TTL.
   */
  ttl?: Duration
  /**
   * Give every caller the same object instead of a private copy. Faster (no clone on a hit), but a
   * caller that mutates a value it got back changes what every later caller reads, until the entry
   * expires. Only turn it on when values are never mutated (or are frozen). Default `false`.
   */
  shareReferences?: boolean
}

/**
 * Options of {@link CacheManager}. Every field is optional: `new CacheManager()` is a memory-only
 * cache with one-hour entries that needs no server.
 */
export interface CacheOptions {
  /** `false` turns the cache into a pass-through: reads miss, writes are dropped. Default `true`. */
  enabled?: boolean
  /** Default TTL of an entry. Default `'1h'`. */
  ttl?: Duration
  /** Alias of `ttl` (in ms). Giving both with different values is an error. */
  defaultTtl?: Duration
  /** Prefix of every Redis key this cache writes; `clear()` removes this prefix only. Default `'stratacache:'`. */
  prefix?: string
  /** The in-process tier: options, or `false` to turn it off (Redis only). Default on. */
  local?: boolean | LocalCacheOptions
  /**
   * The Redis tier: a URL, ioredis options (`{ host, port, password, db }`), or a connected ioredis
   * `Redis` / `Cluster` client (left open by `close()`). `false` or absent: memory only.
   * A Redis Cluster: `{ cluster: [{ host, port }, ...], clusterOptions? }` (the nodes to start
   * from; ioredis `ClusterOptions`), or a `Cluster` client. Redis Sentinel: ioredis options
   * `{ sentinels: [{ host, port }, ...], name: 'mymaster' }` (the client follows failovers).
   */
  redis?: false | string | RedisOptions | Redis | Cluster | RedisClusterConfig
  /**
   * Upstash over its REST API (`@upstash/redis`, an optional peer dependency), for runtimes without
   * TCP: `{ url, token }` as the console gives them (`UPSTASH_REDIS_REST_URL` / `_TOKEN`). Fills
   * stay fenced and writes stamped (Upstash runs the same Lua scripts), but there is no invalidation
   * bus: unless `consistency` is `'strict'` or a `bus` object is given, L1 entries live at most
   * `untrustedLocalTtl` (default 1 s), which bounds how long another instance's write goes unseen.
   * Not with `redis` or `l2`.
   */
  upstash?: UpstashConnection
  /** Any other second tier implementing {@link L2Driver}; takes the place of `redis`. */
  l2?: L2Driver
  /** Bound on each Redis command; a slower answer counts as a failure. Default `'250ms'`. */
  commandTimeout?: Duration
  /** When Redis keeps failing, stop calling it for a while, then probe. */
  circuitBreaker?: {
    /** Consecutive failures that open the breaker. Default `3`. */
    failureThreshold?: number
    /** How long the breaker stays open before one probe is let through. Default `'2s'`. */
    openDuration?: Duration
  }
  /** Invalidations kept for replay while Redis is unreachable; past this, recovery clears the prefix. Default `10_000`. */
  maxPendingInvalidations?: number
  /** Compress L2 values larger than `compressionThreshold`. Default `true`. */
  compression?: boolean
  /** Alias of `compression`. */
  enableCompression?: boolean
  /**
   * Values whose encoded size exceeds this many bytes are compressed. Default `16384` (16 KiB):
   * deflate and inflate cost about 10 µs per KiB of CPU on every fill and L2 read, more than the
   * Redis memory and bandwidth they save on smaller values.
   */
  compressionThreshold?: number
  /** Longest key accepted, in characters (prefix excluded). Default `1024`. */
  maxKeyLength?: number
  /**
   * Largest value the cache stores, in bytes of its encoded (uncompressed) form: a larger one is
   * refused with a `SerializationError`, and an entry in Redis that is, or inflates to, more is
   * read as corrupted (a miss), so bytes in Redis cannot make a reader allocate without bound.
   * Decoding runs on the event loop, in time linear in the size: at worst about 0.1 s per MiB (a
   * MiB of empty objects), so this also bounds how long one value can block a reader.
   * @default 16 MiB (16777216)
   */
  maxValueBytes?: number
  /**
   * The cross-instance invalidation bus, which drops other instances' L1 copies on every write and
   * invalidation. Default with Redis: Redis pub/sub on `${prefix}__sc:bus` (`…:bus:db3` in database
   * 3), heartbeat every second.
   * `false` turns it off (then keep `local.ttl` short); an {@link InvalidationBus} object (e.g. a
   * `MemoryBus`) replaces it.
   */
  bus?: boolean | { heartbeat?: Duration } | InvalidationBus
  /**
   * `'strict'`: every L1 hit is checked against Redis (one small `GETRANGE`), so no instance ever
   * serves a value another instance replaced or deleted; a write Redis does not take at once waits
   * for it (bounded by `max(1 s, 4 × commandTimeout)`) rather than be acknowledged unseen. `'eventual'` (default): L1 hits are
   * served at once; other instances' invalidations arrive through the bus (bounded staleness).
   */
  consistency?: 'eventual' | 'strict'
  /**
   * Cross-instance single-flight: on a miss, one instance takes a lease on the key and loads; the
   * others wait for its value. The lease lasts this long, so a crashed holder blocks nobody longer.
   * `false` turns it off (fills are still fenced). Default `'5s'`.
   */
  lease?: false | Duration
  /**
   * XFetch beta for probabilistic early refresh in `getOrCompute` (higher refreshes earlier);
   * `false` or `0` turns it off. Default `1`.
   */
  earlyRefresh?: false | number
  /**
   * Where the cache says what otherwise reaches only its events, in pino's shape
   * (`logger.warn(object, message)`; pino, a child logger or `console` fit): Redis bypassed
   * (`warn`) and back (`info`), the bus untrusted (`warn`) and trusted (`info`), and every
   * absorbed failure (`error`). `withCache` logs slow queries and N+1 reports (`warn`) to it too.
   * @default undefined (events only)
   */
  logger?: CacheLogger
  /** Longest a loader may run and still store its value (cross-instance fence). Default `'60s'`. */
  fenceWindow?: Duration
  /** While the bus is down, values enter L1 for at most this long. Default `'1s'`. */
  untrustedLocalTtl?: Duration
  /**
   * Redis Cluster only: how far apart the nodes' clocks may be. A fill's fence point is read on
   * its key's node and a tag's version on the tag's node, so a fill is refused for a tag
   * invalidated up to this long before it began (an extra miss, never a stale store). Raise it
   * if the nodes' clocks drift further apart. From 0 to `fenceWindow`.
   * @default '100ms', or `fenceWindow` when that is shorter
   */
  clockSkew?: Duration
}

/** A logger in pino's shape: each level takes an object of fields, then a message. */
export interface CacheLogger {
  debug?(fields: object, message: string): void
  info?(fields: object, message: string): void
  warn?(fields: object, message: string): void
  error?(fields: object, message: string): void
}

/** Options after defaults and unit conversion; what the engine reads. */
export interface ResolvedOptions {
  enabled: boolean
  ttlMs: number
  prefix: string
  local: false | (Required<Omit<LocalCacheOptions, 'ttl'>> & { ttlMs: number | undefined })
  redis: false | string | RedisOptions | Redis | Cluster | RedisClusterConfig
  upstash: UpstashConnection | undefined
  l2: L2Driver | undefined
  commandTimeoutMs: number
  breaker: { failureThreshold: number; openMs: number }
  maxPendingInvalidations: number
  compressionThreshold: number
  maxKeyLength: number
  maxValueBytes: number
  bus: false | { heartbeatMs: number } | InvalidationBus
  strict: boolean
  leaseMs: number
  earlyRefreshBeta: number
  fenceWindowMs: number
  untrustedLocalTtlMs: number
  clockSkewMs: number
  logger: CacheLogger | undefined
}

export const DEFAULTS = {
  ttl: '1h',
  prefix: 'stratacache:',
  maxEntries: 10_000,
  maxBytes: 64 * 1024 * 1024,
  commandTimeout: '250ms',
  failureThreshold: 3,
  openDuration: '2s',
  maxPendingInvalidations: 10_000,
  compressionThreshold: 16 * 1024,
  maxKeyLength: 1024,
  maxValueBytes: DEFAULT_MAX_VALUE_BYTES,
  heartbeat: '1s',
  lease: '5s',
  earlyRefresh: 1,
  fenceWindow: '60s',
  untrustedLocalTtl: '1s',
  clockSkew: '100ms',
} as const

const duration = z.union([z.number(), z.string()])
const positiveInt = z.number().int().positive()
const isObject = (v: unknown): v is object => typeof v === 'object' && v !== null
const isRedisClient = (v: unknown): v is Redis | Cluster =>
  isObject(v) && typeof (v as Redis).sendCommand === 'function'
const isL2Driver = (v: unknown): v is L2Driver =>
  isObject(v) &&
  typeof (v as L2Driver).get === 'function' &&
  typeof (v as L2Driver).getMany === 'function'

const isBus = (v: unknown): v is InvalidationBus =>
  isObject(v) &&
  typeof (v as InvalidationBus).publish === 'function' &&
  typeof (v as InvalidationBus).onMessage === 'function'

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const

const isLogger = (v: unknown): v is CacheLogger =>
  isObject(v) &&
  LOG_LEVELS.some((level) => typeof (v as Record<string, unknown>)[level] === 'function')

const localSchema = z.strictObject({
  maxEntries: positiveInt.optional(),
  maxBytes: positiveInt.optional(),
  ttl: duration.optional(),
  shareReferences: z.boolean().optional(),
})

const optionsSchema = z.strictObject({
  enabled: z.boolean().optional(),
  ttl: duration.optional(),
  defaultTtl: duration.optional(),
  prefix: z.string().min(1, 'must not be empty').max(256).optional(),
  local: z.union([z.boolean(), localSchema]).optional(),
  redis: z
    .union([
      z.literal(false),
      z.string().min(1, 'must not be empty'),
      z.custom<Redis | Cluster>(isRedisClient),
      z.record(z.string(), z.unknown()),
    ])
    .optional(),
  upstash: z
    .strictObject({
      url: z.string().regex(/^https?:\/\/\S+$/, 'must be the https:// REST URL of the database'),
      token: z.string().trim().min(1, 'must not be empty'),
    })
    .optional(),
  l2: z.custom<L2Driver>(isL2Driver, 'must implement L2Driver (get, getMany, set...)').optional(),
  commandTimeout: duration.optional(),
  circuitBreaker: z
    .strictObject({ failureThreshold: positiveInt.optional(), openDuration: duration.optional() })
    .optional(),
  maxPendingInvalidations: positiveInt.optional(),
  compression: z.boolean().optional(),
  enableCompression: z.boolean().optional(),
  compressionThreshold: z.number().int().nonnegative().optional(),
  maxKeyLength: positiveInt.max(512 * 1024).optional(),
  maxValueBytes: positiveInt.max(512 * 1024 * 1024).optional(),
  bus: z
    .union([
      z.boolean(),
      z.custom<InvalidationBus>(isBus, 'must be true, false, { heartbeat } or an InvalidationBus'),
      z.strictObject({ heartbeat: duration.optional() }),
    ])
    .optional(),
  consistency: z.enum(['eventual', 'strict']).optional(),
  lease: z.union([z.literal(false), duration]).optional(),
  earlyRefresh: z.union([z.literal(false), z.number().nonnegative().max(100)]).optional(),
  fenceWindow: duration.optional(),
  untrustedLocalTtl: duration.optional(),
  clockSkew: duration.optional(),
  logger: z
    .custom<CacheLogger>(isLogger, 'must have debug, info, warn or error methods (pino, console)')
    .optional(),
})

/**
 * Validates user options; zod's first complaint becomes a {@link ValidationError} whose `field`
 * is the option's path (e.g. `options.local.maxEntries`).
 */
export function validateOptions(input: unknown, root = 'options'): CacheOptions {
  if (input === undefined) return {}
  const parsed = optionsSchema.safeParse(input)
  if (parsed.success) return input as CacheOptions
  throw validationErrorOf(parsed.error, root)
}

/** Applies defaults and converts durations; `base` is what `initialize()` merges onto. */
export function resolveOptions(input: CacheOptions, base?: CacheOptions): ResolvedOptions {
  const given = validateOptions(input)
  const o: CacheOptions = { ...base, ...given }
  // `local: true` (as presets say) means "on", not "on with default limits": keep the base's limits.
  if (given.local === true && typeof base?.local === 'object') o.local = base.local
  const ttlMs = resolveTtl(o)
  const localInput = o.local === undefined || o.local === true ? {} : o.local
  const local =
    localInput === false
      ? (false as const)
      : {
          maxEntries: localInput.maxEntries ?? DEFAULTS.maxEntries,
          maxBytes: localInput.maxBytes ?? DEFAULTS.maxBytes,
          shareReferences: localInput.shareReferences ?? false,
          ttlMs: toMsOptional(localInput.ttl, 'local.ttl'),
        }
  const redis = o.redis ?? false
  if (isClusterConfig(redis)) assertClusterNodes(redis.cluster, 'redis.cluster')
  if (o.upstash !== undefined && (redis !== false || o.l2 !== undefined)) {
    throw invalid(
      'upstash',
      `cannot be given with ${redis !== false ? 'redis' : 'l2'}: give one second tier`,
    )
  }
  if (local === false && redis === false && o.l2 === undefined && o.upstash === undefined) {
    throw invalid('local', 'cannot be false without redis or l2: the cache would have no tier')
  }
  const commandTimeoutMs = toMs(o.commandTimeout ?? DEFAULTS.commandTimeout, 'commandTimeout')
  if (commandTimeoutMs === 0) throw invalid('commandTimeout', 'must be greater than 0')
  if (
    o.compression !== undefined &&
    o.enableCompression !== undefined &&
    o.compression !== o.enableCompression
  ) {
    throw invalid('enableCompression', 'conflicts with compression; give one of them')
  }
  const compression = o.compression ?? o.enableCompression ?? true
  const fenceWindowMs = positiveMs(o.fenceWindow ?? DEFAULTS.fenceWindow, 'fenceWindow')
  // The default yields to a shorter fenceWindow; a clockSkew given must fit inside it.
  const clockSkewMs =
    o.clockSkew === undefined
      ? Math.min(Math.ceil(toMs(DEFAULTS.clockSkew, 'clockSkew')), fenceWindowMs)
      : Math.ceil(toMs(o.clockSkew, 'clockSkew'))
  if (clockSkewMs > fenceWindowMs) {
    throw invalid('clockSkew', `must be at most fenceWindow (${fenceWindowMs} ms)`)
  }
  return {
    enabled: o.enabled ?? true,
    ttlMs,
    prefix: o.prefix ?? DEFAULTS.prefix,
    local,
    redis,
    upstash: o.upstash,
    l2: o.l2,
    commandTimeoutMs,
    breaker: {
      failureThreshold: o.circuitBreaker?.failureThreshold ?? DEFAULTS.failureThreshold,
      openMs: toMs(
        o.circuitBreaker?.openDuration ?? DEFAULTS.openDuration,
        'circuitBreaker.openDuration',
      ),
    },
    maxPendingInvalidations: o.maxPendingInvalidations ?? DEFAULTS.maxPendingInvalidations,
    compressionThreshold: compression
      ? (o.compressionThreshold ?? DEFAULTS.compressionThreshold)
      : Number.POSITIVE_INFINITY,
    maxKeyLength: o.maxKeyLength ?? DEFAULTS.maxKeyLength,
    maxValueBytes: o.maxValueBytes ?? DEFAULTS.maxValueBytes,
    bus: resolveBus(o.bus),
    strict: o.consistency === 'strict',
    leaseMs: o.lease === false ? 0 : toMs(o.lease ?? DEFAULTS.lease, 'lease'),
    earlyRefreshBeta: o.earlyRefresh === false ? 0 : (o.earlyRefresh ?? DEFAULTS.earlyRefresh),
    fenceWindowMs,
    untrustedLocalTtlMs: positiveMs(
      o.untrustedLocalTtl ?? DEFAULTS.untrustedLocalTtl,
      'untrustedLocalTtl',
    ),
    clockSkewMs,
    logger: o.logger,
  }
}

function resolveTtl(o: CacheOptions): number {
  const ttl = o.ttl === undefined ? undefined : toMs(o.ttl, 'ttl')
  const defaultTtl = o.defaultTtl === undefined ? undefined : toMs(o.defaultTtl, 'defaultTtl')
  if (ttl !== undefined && defaultTtl !== undefined && ttl !== defaultTtl) {
    throw invalid(
      'defaultTtl',
      `is ${defaultTtl} ms but ttl is ${ttl} ms; give one of them`,
      ErrorCodes.INVALID_TTL,
    )
  }
  const ms = ttl ?? defaultTtl ?? toMs(DEFAULTS.ttl, 'ttl')
  if (ms === 0)
    throw invalid(
      ttl === undefined ? 'defaultTtl' : 'ttl',
      'must be greater than 0',
      ErrorCodes.INVALID_TTL,
    )
  return ms
}

function resolveBus(bus: CacheOptions['bus']): ResolvedOptions['bus'] {
  if (bus === false) return false
  if (bus === undefined || bus === true)
    return { heartbeatMs: toMs(DEFAULTS.heartbeat, 'bus.heartbeat') }
  if (isBus(bus)) return bus
  return { heartbeatMs: positiveMs(bus.heartbeat ?? DEFAULTS.heartbeat, 'bus.heartbeat') }
}

function positiveMs(value: Duration, field: string): number {
  const ms = toMs(value, field)
  if (ms === 0) throw invalid(field, 'must be greater than 0', ErrorCodes.INVALID_TTL)
  return ms
}

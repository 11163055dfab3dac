import type { Cluster, Redis, RedisOptions } from 'ioredis'
import type { InvalidationBus } from '../drivers/bus.js'
import type { L2Driver } from '../drivers/l2-driver.js'
import type { RedisClusterConfig } from '../drivers/redis-cluster-client.js'
import type { UpstashConnection } from '../drivers/upstash-client.js'
import { DEFAULT_MAX_VALUE_BYTES } from './entry-format.js'
import type { Duration } from './validate.js'

/** How the in-process tier (L1) behaves. */
export interface LocalCacheOptions {
  /**
   * Most entries held at once.
   * @default 10_000
   */
  maxEntries?: number
  /**
   * Most bytes held at once. An entry counts its encoded size (msgpack, before compression), 2
   * bytes per key character and 64 bytes: an estimate, not a measure of the heap. An entry larger
   * than this is not kept in L1.
   * @default 64 MiB (67108864)
   */
  maxBytes?: number
  /**
   * Cap on how long any entry lives in L1, values read from Redis included. A backstop: it bounds
   * how long this instance can serve a copy another instance has invalidated when no bus tells it
   * (`bus: false`, or a notice lost without being detected).
   * @default the entry's own TTL
   */
  ttl?: Duration
  /**
   * Give every caller the same object instead of a private copy. Faster (no clone on a hit), but a
   * caller that mutates a value it got back changes what every later caller reads, until the entry
   * expires. Only turn it on when values are never mutated (or are frozen).
   * @default false
   */
  shareReferences?: boolean
}

/**
 * Options of {@link CacheManager}. Every field is optional: `new CacheManager()` is a memory-only
 * cache with one-hour entries that needs no server.
 */
export interface CacheOptions {
  /**
   * `false` turns the cache into a pass-through: reads miss, writes are dropped, `getOrCompute`
   * always calls the loader. Arguments are still validated.
   * @default true
   */
  enabled?: boolean
  /**
   * Default lifetime of an entry; above 0.
   * @default '1h'
   */
  ttl?: Duration
  /** Alias of `ttl` (in ms). Giving both with different values is `ERR_INVALID_TTL`. */
  defaultTtl?: Duration
  /**
   * Prefix of every Redis key this cache writes, 1-256 characters. `clear()` and pattern
   * invalidation remove this prefix's keys only, not those of a cache whose prefix extends it
   * (`app:v2:` under `app:`): every cache lists its prefix in the Redis set
   * `__stratacache:prefixes`. Keys themselves can still meet (`t1` + `0:x` is `t10` + `:x`): end
   * prefixes with a separator.
   * @default 'stratacache:'
   */
  prefix?: string
  /**
   * The in-process tier: options, `true`, or `false` to turn it off (then `redis`, `upstash` or
   * `l2` is required).
   * @default true
   */
  local?: boolean | LocalCacheOptions
  /**
   * The Redis tier: a `redis://` / `rediss://` URL, ioredis options (`{ host, port, password, db }`),
   * or a connected ioredis `Redis` / `Cluster` client (used as given, left open by `close()`, without
   * ioredis' `keyPrefix`). A Redis Cluster: `{ cluster: [{ host, port }, ...], clusterOptions? }`
   * (the nodes to start from; ioredis `ClusterOptions`). Redis Sentinel: ioredis options
   * `{ sentinels: [{ host, port }, ...], name: 'mymaster' }` (the client follows failovers). A
   * client the cache creates gets safety defaults (docs/CONFIGURATION.md lists them).
   * @default `false` (memory only)
   */
  redis?: false | string | RedisOptions | Redis | Cluster | RedisClusterConfig
  /**
   * Upstash over its REST API, for runtimes without TCP: `{ url, token }` as the console gives them
   * (`UPSTASH_REDIS_REST_URL` / `_TOKEN`). Needs the optional peer `@upstash/redis` (without it the
   * constructor throws, naming it). Fills stay fenced and writes stamped (Upstash runs the same Lua
   * scripts), but there is no invalidation bus: unless `consistency` is `'strict'` or a `bus` object
   * is given, L1 entries live at most `untrustedLocalTtl`, which bounds how long another instance's
   * write goes unseen. Not with `redis` or `l2`.
   */
  upstash?: UpstashConnection
  /** Any other second tier implementing {@link L2Driver}; takes the place of `redis`. */
  l2?: L2Driver
  /**
   * Bound on each Redis command, checked on a coarse clock (a call gives up between 1 and 1.1 times
   * this); a slower answer counts as a failure and the call falls back (a read misses).
   * `invalidateByPattern` and `clear` walk the keyspace with SCAN and are bounded by 30 s instead.
   * @default '250ms'
   */
  commandTimeout?: Duration
  /** When Redis keeps failing, stop calling it for a while, then probe. */
  circuitBreaker?: {
    /**
     * Consecutive failed calls that open the breaker (a failed write or invalidation opens it at
     * once).
     * @default 3
     */
    failureThreshold?: number
    /**
     * How long the breaker stays open before a background probe, and the period of the probes
     * while Redis stays down.
     * @default '2s'
     */
    openDuration?: Duration
  }
  /**
   * Invalidations remembered while Redis is unreachable, replayed on recovery; past this they
   * collapse into one `clear()` of the prefix on recovery.
   * @default 10_000
   */
  maxPendingInvalidations?: number
  /**
   * Deflate values larger than `compressionThreshold` (kept compressed only when that saves space).
   * @default true
   */
  compression?: boolean
  /** Alias of `compression`. Both given and different is an error. */
  enableCompression?: boolean
  /**
   * Values whose encoded size exceeds this many bytes are compressed. Below 16 KiB, deflate and
   * inflate cost more CPU on every fill and L2 read (about 10 µs per KiB) than the Redis memory and
   * bandwidth they save.
   * @default 16384
   */
  compressionThreshold?: number
  /**
   * Longest key accepted, in characters, prefix excluded (at most 524 288).
   * @default 1024
   */
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
   * invalidation. With `redis` (or an `l2` that is a `RedisDriver`): Redis pub/sub (sharded,
   * `SSUBSCRIBE`, on a Cluster, which needs Redis 7) on `${prefix}__sc:bus` (`…:bus:db3` in
   * database 3: channels are server-wide), with a heartbeat every second; `{ heartbeat: '500ms' }`
   * changes the period (whole ms, at least 10). `false` turns it off (then keep `local.ttl` short).
   * An {@link InvalidationBus} object (e.g. a `MemoryBus`) replaces it; the cache starts it and
   * closes it in `close()`, so give each cache its own. With any other `l2` and no bus object, there
   * is no bus.
   * @default `true` with Redis
   */
  bus?:
    | boolean
    | {
        /** Interval between the bus's heartbeats (whole ms, at least 10). */
        heartbeat?: Duration
      }
    | InvalidationBus
  /**
   * `'strict'`: every L1 hit of `get`, `getOrCompute` and `has` is first checked against Redis (a
   * `GETRANGE` of the entry's 8-byte write stamp; `getBatch` reads Redis in one MGET instead), so no
   * instance serves a value another instance replaced or deleted; and a write Redis does not take at
   * once waits for it (probing at once) up to `max(1 s, 4 × commandTimeout)` rather than be
   * acknowledged unseen. Memory only, L1 is served as is. `'eventual'`: L1 hits are served at once;
   * other instances' invalidations arrive through the bus (bounded staleness).
   * @default 'eventual'
   */
  consistency?: 'eventual' | 'strict'
  /**
   * Cross-instance single-flight: on a miss, the instance that takes the key's lease in Redis runs
   * the loader and the others wait for its value. A holder that crashes delays the others by at
   * most about this long (plus one poll, at most 50 ms); a loader that runs longer lets another
   * instance start its own. `false` turns it off (fills are still fenced). Standalone Redis only.
   * @default '5s'
   */
  lease?: false | Duration
  /**
   * XFetch's beta for probabilistic early refresh in `getOrCompute`, 0-100 (higher refreshes
   * earlier); `false` or `0` turns it off.
   * @default 1
   */
  earlyRefresh?: false | number
  /**
   * Where the cache says what otherwise reaches only its events, in pino's shape
   * (`logger.warn(fields, message)`; pino, a child logger or `console` fit): see {@link CacheLogger}
   * for what goes to each level. `withCache` logs to it too. A logger that throws is ignored.
   * @default undefined (events only)
   */
  logger?: CacheLogger
  /**
   * How long the fence across instances lasts: the version keys in Redis live twice this long after
   * their last bump, so a fill that stores more than twice this after an invalidation it overlapped
   * may no longer be refused. Above 0.
   * @default '60s'
   */
  fenceWindow?: Duration
  /**
   * While the bus is not trusted (before its first subscription is confirmed, and from a loss until
   * it is back), values enter L1 for at most this long; on Upstash without a bus, always. Above 0.
   * @default '1s'
   */
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
  /** Not called by the cache; part of pino's shape. */
  debug?(fields: object, message: string): void
  /** Redis back, the bus trusted again. */
  info?(fields: object, message: string): void
  /** Redis bypassed, the bus untrusted; `withCache`'s slow queries and N+1 reports. */
  warn?(fields: object, message: string): void
  /** Every absorbed failure, with `err` and `operation` in `fields`. */
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

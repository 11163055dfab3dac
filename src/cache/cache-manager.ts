import { EventEmitter } from 'node:events'
import { cacheOptionsFromEnv } from '../config/cache-env.js'
import { invalid } from '../errors.js'
import {
  clearAll,
  deleteKeys,
  holdsFresh,
  invalidatePattern,
  invalidateTags,
  readBatch,
  readValue,
  writeBatch,
  writeValue,
} from './cache-operations.js'
import type { ComputeInfo } from './call-options.js'
import {
  type BatchItem,
  type GetOrComputeOptions,
  planCompute,
  type SetOptions,
} from './call-options.js'
import type { CacheEvents } from './events.js'
import { listKeys } from './glob.js'
import { type CacheInternals, newInternals, withoutMark } from './internals.js'
import { type L1Stats, localCacheStats } from './l1-store.js'
import { assertOpen, type ManagerState, newState, reconfigure } from './manager-wiring.js'
import type { CacheMetricsSnapshot } from './metrics.js'
import type { CacheOptions } from './options.js'
import { cacheReads, traceInvalidation, traceRead } from './tracing.js'
import { assertKey } from './validate.js'

export type { BatchItem, CacheInternals, GetOrComputeOptions, SetOptions }

let internalsOf: (cache: CacheManager) => CacheInternals

/** The {@link CacheInternals} of `cache`. */
export function cacheInternals(cache: CacheManager): CacheInternals {
  return internalsOf(cache)
}

/**
 * A two-tier cache: an in-process LRU (L1) in front of Redis (L2), with tags, patterns, batch
 * operations, counters, sets, stale-while-revalidate and graceful degradation. With no options
 * it is a memory-only cache that needs no server.
 *
 * @example
 * ```ts
 * const cache = new CacheManager({ redis: process.env.REDIS_URL, ttl: '10m' })
 * const product = await cache.getOrCompute(
 *   CacheKeyBuilder.product(id),
 *   () => prisma.product.findUnique({ where: { id } }),
 *   { tags: ['products'], staleWhileRevalidate: '1m' },
 * )
 * await cache.invalidateByTag('products')
 * ```
 */
export class CacheManager extends EventEmitter<CacheEvents> {
  /** The cache's parts (see `manager-wiring.ts`); `initialize()` replaces some of them. */
  readonly #state: ManagerState
  readonly #baseOptions: CacheOptions
  /** Whether L2 is bypassed now: an invalidation's L2 part is then queued (tracing's outcome). */
  readonly #degraded = () => this.#state.setup.degraded
  readonly #internals: CacheInternals
  static {
    internalsOf = (cache) => cache.#internals
  }

  constructor(options?: CacheOptions) {
    super()
    this.#baseOptions = { ...options }
    this.#state = newState(this, this.#baseOptions)
    this.#internals = newInternals(this.#state, (tags) => this.invalidateByTag(tags))
  }

  /**
   * A cache configured from environment variables: `REDIS_URL` or `REDIS_HOST`...,
   * `CACHE_TTL` (ms) or `CACHE_DEFAULT_TTL` (s), `CACHE_PREFIX`, `CACHE_ENABLED`, ... A bad or
   * conflicting value throws `ERR_INVALID_ENV` naming the variable.
   */
  static fromEnv(
    env: Record<string, string | undefined> = process.env,
    overrides?: CacheOptions,
  ): CacheManager {
    return new CacheManager({ ...cacheOptionsFromEnv(env), ...overrides })
  }

  /**
   * Re-applies options on top of the current ones, e.g. a {@link CACHE_PRESETS} entry. Tiers whose
   * settings did not change keep their contents and connections.
   */
  initialize(options: CacheOptions): this {
    assertOpen(this.#state)
    reconfigure(this.#state, options, this.#baseOptions)
    return this
  }

  /** The value under `key`, or `undefined` when absent, expired or unreadable. */
  get<T = unknown>(key: string): Promise<T | undefined> {
    if (!cacheReads.hasSubscribers) return readValue(this.#state, key, undefined)
    return traceRead('get', key, (trace) => readValue<T>(this.#state, key, trace))
  }

  /** Whether a fresh value is cached under `key`. Does not count as a hit or miss. */
  has(key: string): Promise<boolean> {
    return holdsFresh(this.#state, key)
  }

  /**
   * Stores `value` in both tiers. The value is copied (later mutations by the caller do not leak
   * in) and validated: functions, symbols, cycles and unregistered classes throw `ERR_UNSERIALIZABLE`.
   */
  set(key: string, value: unknown, options?: SetOptions): Promise<void> {
    return writeValue(this.#state, key, value, options)
  }

  /**
   * The cached value, or the loader's result, cached. Concurrent callers for one key share one
   * loader call; see {@link GetOrComputeOptions} for stale-while-revalidate, stale-if-error and timeout.
   */
  async getOrCompute<T>(
    key: string,
    compute: () => T | Promise<T>,
    options?: GetOrComputeOptions,
  ): Promise<T> {
    const state = this.#state
    assertKey(key, state.options.maxKeyLength)
    if (typeof compute !== 'function') throw invalid('compute', 'must be a function')
    assertOpen(state)
    const plan = planCompute(options, state.options)
    if (!state.options.enabled) return Promise.resolve(compute()).then(withoutMark<T>)
    if (!cacheReads.hasSubscribers) return state.loader.run(key, compute, plan)
    return traceRead('getOrCompute', key, async (trace) => {
      const info: ComputeInfo = { status: 'miss', tier: undefined }
      try {
        return await state.loader.run(key, compute, plan, info)
      } finally {
        trace.status = info.status
        trace.tier = info.tier
      }
    })
  }

  /** Values for `keys`, aligned with them; misses are `undefined`. One L2 round trip at most. */
  getBatch<T = unknown>(keys: readonly string[]): Promise<(T | undefined)[]> {
    return readBatch<T>(this.#state, keys)
  }

  /** Stores many values with one L2 round trip. Every item is validated before anything is stored. */
  setBatch(items: readonly BatchItem[], tags?: string | readonly string[]): Promise<void> {
    return writeBatch(this.#state, items, tags)
  }

  /** Removes `key` (or each of `keys`) from both tiers. */
  delete(keys: string | readonly string[]): Promise<void> {
    return traceInvalidation(
      'delete',
      (trace) => deleteKeys(this.#state, keys, trace),
      this.#degraded,
    )
  }

  /** Removes every entry carrying any of the tags, in both tiers. */
  invalidateByTag(tags: string | readonly string[]): Promise<void> {
    return traceInvalidation(
      'invalidateByTag',
      (trace) => invalidateTags(this.#state, tags, trace),
      this.#degraded,
    )
  }

  /**
   * Removes entries whose key matches a Redis-style glob (`product:*`) or a RegExp, in both tiers
   * (SCAN in Redis, never KEYS). Resolves to the number removed from the tier that held the most.
   */
  invalidateByPattern(pattern: string | RegExp): Promise<number> {
    return traceInvalidation(
      'invalidateByPattern',
      (trace) => invalidatePattern(this.#state, pattern, trace),
      this.#degraded,
    )
  }

  /**
   * The keys of this cache's entries that match a Redis-style glob (default `*`, every key), in
   * batches. While Redis is in use: one batch per SCAN step of the keys under this cache's prefix
   * (never `KEYS`; never its own `__sc:` keys, nor a cache's whose prefix extends this one's),
   * each step sent only when the next batch is asked for and bounded by `commandTimeout`;
   * otherwise the keys in this process's L1, in batches of 1000. A listing, not a snapshot:
   *
   * - keys written or removed while it runs may or may not be listed, and a key may come twice
   *   (as from SCAN);
   * - a listed entry may be stale, expired or invalidated by the time it is read: read the values
   *   (`getBatch`) to know;
   * - while Redis is in use, entries kept in this process alone (`localOnly` loads, writes Redis
   *   did not take) are not listed;
   * - a Redis failure or timeout ends the listing early, reported on `'error'` like any other.
   *
   * @throws ValidationError (`pattern`) for a glob that is not a string, empty, or over 1024
   * characters; `ERR_CLOSED` after `close()`.
   *
   * @example
   * ```ts
   * for await (const keys of cache.scanKeys('user:*')) {
   *   const users = await cache.getBatch(keys)
   * }
   * ```
   */
  scanKeys(pattern = '*'): AsyncGenerator<string[], void, undefined> {
    if (typeof pattern !== 'string') throw invalid('pattern', 'must be a glob string')
    assertOpen(this.#state)
    // A disabled cache holds nothing: the pattern is still checked.
    const { options, store } = this.#state
    return listKeys(options.enabled ? store : { l1: undefined, l2: undefined }, pattern)
  }

  /** Removes every entry of this cache: L1, and in Redis only the keys under this cache's prefix. */
  clear(): Promise<void> {
    return traceInvalidation('clear', () => clearAll(this.#state), this.#degraded)
  }

  /** Adds `by` (an integer) to a counter and returns the new value; a native Redis counter when L2 is up. */
  async increment(key: string, by = 1): Promise<number> {
    const state = this.#state
    assertKey(key, state.options.maxKeyLength)
    if (!Number.isSafeInteger(by)) throw invalid('by', `must be a safe integer, got ${String(by)}`)
    assertOpen(state)
    return state.native.increment(key, by, state.options.ttlMs)
  }

  /** Adds string members to a set; resolves to how many were not there before. */
  async addToSet(key: string, members: readonly string[]): Promise<number> {
    const state = this.#state
    assertKey(key, state.options.maxKeyLength)
    if (!Array.isArray(members) || members.some((m) => typeof m !== 'string')) {
      throw invalid('members', 'must be an array of strings')
    }
    assertOpen(state)
    return state.native.addToSet(key, members, state.options.ttlMs)
  }

  /** Members of a set, `[]` when absent. */
  async getSet(key: string): Promise<string[]> {
    assertKey(key, this.#state.options.maxKeyLength)
    assertOpen(this.#state)
    return this.#state.native.getSet(key)
  }

  /** Counters since creation; `hitRate` is a percentage. */
  getMetrics(): CacheMetricsSnapshot {
    const { link, metrics, setup } = this.#state
    return metrics.snapshot(setup.degraded, link?.trusted ?? true, link?.bus.lagMs)
  }

  /** Size of this process's L1. All zero when L1 is off. */
  getLocalCacheStats(): L1Stats & {
    /** Whether this cache has an L1 (`l1: false` turns it off). */
    enabled: boolean
  } {
    return localCacheStats(this.#state.store.l1)
  }

  /** Stops timers and closes connections the cache opened itself. Idempotent. */
  async close(): Promise<void> {
    const state = this.#state
    if (state.closed) return
    state.closed = true
    await state.link?.close()
    await state.setup.close(state.store)
  }
}

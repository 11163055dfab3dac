import { EventEmitter } from 'node:events'
import { cacheOptionsFromEnv } from '../config/cache-env.js'
import type { BusMessage } from '../drivers/bus.js'
import type { L2CallObserver } from '../drivers/l2-calls.js'
import { invalid, StrataCacheError } from '../errors.js'
import { type BusLink, patternMessage, replayedMessage } from './bus-link.js'
import type { BatchItem, GetOrComputeOptions, SetOptions } from './call-options.js'
import { cacheNow, coarseNow, sampleRoundTrip } from './clock.js'
import type { CacheEvents } from './events.js'
import type {
  ComputeInfo,
  ComputePlan,
  GetOrCompute,
  GetOrComputeSettings,
} from './get-or-compute.js'
import { listKeys } from './key-listing.js'
import { KeyWaiters } from './key-waiters.js'
import { type L1Stats, localCacheStats } from './l1-store.js'
import { type Loaded, unwrapLoaded } from './loaded.js'
import {
  type CacheEventSink,
  linkBus,
  loaderSettings,
  newLoader,
  watchHitListeners,
} from './manager-wiring.js'
import { CacheMetrics, type CacheMetricsSnapshot } from './metrics.js'
import { NativeOps } from './native-ops.js'
import type { CacheLogger, CacheOptions, ResolvedOptions } from './options.js'
import { type PlanDefaults, planCompute, planWrite } from './plans.js'
import { isFresh, MISS, type Prepared } from './store-types.js'
import { TierSetup } from './tier-setup.js'
import type { TieredStore } from './tiered-store.js'
import { announceTopologyLimits, topologyLimits } from './topology-limits.js'
import {
  type CacheInvalidationMessage,
  type CacheReadMessage,
  cacheReads,
  traceInvalidation,
  traceRead,
  traceTargets,
} from './tracing.js'
import { assertKey, assertKeys, normalizeTags } from './validate.js'

export type { BatchItem, GetOrComputeOptions, SetOptions }

/**
 * What stratacache's own upper layers (the Prisma extension) use of a cache beyond its public
 * methods: `getOrCompute` with a plan they built and validated once, reporting how each call was
 * answered. Not part of the public API.
 */
export interface CacheInternals {
  /**
   * `getOrCompute` without per-call validation; `info` says hit, swr or miss afterwards.
   * `compute` may return its value marked (`loaded.ts`): local-only, or with tags of its own.
   */
  compute<T>(
    key: string,
    compute: () => T | Loaded<T> | Promise<T | Loaded<T>>,
    plan: ComputePlan,
    info: ComputeInfo,
  ): Promise<T>
  /**
   * The fresh L1 value of `key` now, or `MISS` (`store-types.ts`) when `compute` must be asked:
   * the synchronous first step of `compute`, for hot paths that skip its promise on a hit.
   */
  tryL1(key: string, compute: () => unknown, plan: ComputePlan, info: ComputeInfo): unknown
  /**
   * `invalidateByTag` for writes that must be seen by this process's later reads (read-your-
   * writes) but need not wait for Redis's reply: resolves once L1 is invalidated and the L2
   * invalidation is sent ahead of any later command, when L2 applies calls in order and the
   * cache is not strict (other instances' strict reads must find it applied); otherwise once it
   * is applied. Tags are not validated.
   */
  invalidate(tags: readonly string[]): Promise<void>
  /**
   * `invalidateByTag`, resolving to whether Redis took it now: `false` while Redis is bypassed
   * (the invalidation is then queued for replay, and its bus notice lost). `true` without Redis.
   * For callers that must not forget an invalidation until Redis has it (the change feed).
   */
  invalidateApplied(tags: readonly string[]): Promise<boolean>
  /** Whether the cache is strict now: its invalidations wait (bounded) for L2 to take them. */
  strict(): boolean
  /** `GetOrCompute.replace`: loads and stores in place of any stored value, fenced (warming). */
  replace(
    key: string,
    compute: () => unknown,
    plan: ComputePlan,
  ): Promise<{ value: unknown; stored: boolean }>
  /** The cache's current default TTL and L1 cap (they change with `initialize()`). */
  planDefaults(): PlanDefaults
  /** Longest key the cache accepts. */
  maxKeyLength(): number
  /**
   * Calls `observer` with the duration (ms) of every Redis call from now on, by operation (`get`,
   * `setMany`, `beginFill`...), also across `initialize()`. Calls are timed only while an
   * observer is added (two clock reads per call). Returns the function that removes it.
   */
  observeL2(observer: L2CallObserver): () => void
  /** The `logger` option, as now (an `initialize()` may change it). */
  logger(): CacheLogger | undefined
}

let internalsOf: (cache: CacheManager) => CacheInternals
const RESOLVED: Promise<void> = Promise.resolve()

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
  readonly #metrics = new CacheMetrics()
  readonly #setup: TierSetup
  #options: ResolvedOptions
  readonly #baseOptions: CacheOptions
  #store: TieredStore
  #loader: GetOrCompute
  #native: NativeOps
  #link: BusLink | undefined
  #closed = false
  /** Whether L2 is bypassed now: an invalidation's L2 part is then queued (tracing's outcome). */
  readonly #degraded = () => this.#setup.degraded
  #emitHits = false
  static {
    internalsOf = (cache) => cache.#internals
  }
  readonly #internals: CacheInternals = {
    compute: (key, compute, plan, info) => {
      this.#assertOpen()
      if (!this.#options.enabled) return Promise.resolve(compute()).then(withoutMark<never>)
      return this.#loader.run(key, compute as () => never, plan, info)
    },
    tryL1: (key, compute, plan, info) => {
      this.#assertOpen()
      if (!this.#options.enabled) return MISS
      return this.#loader.tryL1(key, compute, plan, info)
    },
    invalidate: (tags) => {
      const applied = this.invalidateByTag(tags)
      if (this.#options.strict || this.#store.l2?.ordered !== true) return applied
      applied.catch((error: unknown) => this.#reportError(error as Error, 'invalidateByTag'))
      return RESOLVED
    },
    invalidateApplied: async (tags) => {
      if (this.#setup.degraded) {
        await this.invalidateByTag(tags)
        return false
      }
      await this.invalidateByTag(tags)
      return !this.#setup.degraded
    },
    strict: () => this.#options.strict,
    replace: (key, compute, plan) => {
      this.#assertOpen()
      if (!this.#options.enabled) {
        return Promise.resolve(compute()).then((value) => ({
          value: withoutMark(value),
          stored: false,
        }))
      }
      return this.#loader.replace(key, compute, plan)
    },
    planDefaults: () => this.#options,
    maxKeyLength: () => this.#options.maxKeyLength,
    observeL2: (observer) => this.#setup.l2Timing.add(observer),
    logger: () => this.#options.logger,
  }
  readonly #sink: CacheEventSink = {
    cache: this,
    metrics: this.#metrics,
    emitsHits: () => this.#emitHits,
    reportError: (error, operation, key) => this.#reportError(error, operation, key),
    log: (level, fields, message) => this.#log(level, fields, message),
    waiters: new KeyWaiters(),
  }

  constructor(options?: CacheOptions) {
    super()
    this.#baseOptions = { ...options }
    this.#setup = new TierSetup(this.#metrics, {
      error: (error, operation, key) => this.#reportError(error, operation, key),
      degraded: (reason) => {
        this.#log('warn', { reason }, 'stratacache: Redis bypassed, reads come from L1 and loaders')
        this.emit('degraded', { reason })
      },
      recovered: () => {
        this.#log('info', {}, 'stratacache: Redis in use again, missed invalidations replayed')
        this.emit('recovered', {})
      },
      // Replayed to L2 alone: the notice made with it was lost with the outage, and the other
      // instances may have reloaded the old value from L2 meanwhile. A clear (what Redis lost is
      // unknown: it evicted keys) drops this instance's L1 too, which may hold what it lost.
      replayed: (invalidation) => {
        if (invalidation.kind === 'clear') this.#store.dropL1()
        void this.#link?.publish(replayedMessage(invalidation), this.#options.commandTimeoutMs)
      },
    })
    this.#options = this.#setup.resolve(this.#baseOptions)
    this.#store = this.#setup.build(this.#options)
    announceTopologyLimits(
      topologyLimits(this.#options, this.#store),
      this.#options.logger && ((message) => this.#log('warn', {}, message)),
    )
    this.#link = this.#newLink()
    this.#loader = newLoader(this.#store, this.#loaderSettings(), this.#sink)
    this.#native = new NativeOps(this.#store)
    watchHitListeners(this, (hits) => {
      this.#emitHits = hits
    })
    void sampleServerClock(this.#store)
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
    this.#assertOpen()
    // Relative to the constructor's options, so presets can be switched back and forth.
    const resolved = this.#setup.resolve(options, this.#baseOptions)
    const before = this.#store
    const busChanged = resolved.bus !== this.#options.bus
    this.#store = this.#setup.rebuild(before, this.#options, resolved)
    this.#options = resolved
    // A bus rides on the L2 client (or is the one given): a new L2 or a new bus needs a new link.
    if (this.#store.l2 !== before.l2 || busChanged) {
      const old = this.#link
      old?.close().catch((error: unknown) => this.#reportError(error as Error, 'bus.close'))
      this.#link = this.#newLink()
    } else {
      this.#link?.applyTrustTo(this.#store)
    }
    this.#loader.useStore(this.#store)
    this.#loader.useSettings(this.#loaderSettings())
    this.#native = new NativeOps(this.#store)
    return this
  }

  /** The value under `key`, or `undefined` when absent, expired or unreadable. */
  get<T = unknown>(key: string): Promise<T | undefined> {
    if (!cacheReads.hasSubscribers) return this.#get(key, undefined)
    return traceRead('get', key, (trace) => this.#get<T>(key, trace))
  }

  /** `get`; `trace`, while tracing, learns how it was answered. */
  async #get<T>(key: string, trace: CacheReadMessage | undefined): Promise<T | undefined> {
    assertKey(key, this.#options.maxKeyLength)
    this.#assertOpen()
    const metrics = this.#metrics
    if (!this.#options.enabled) {
      metrics.misses++
      return undefined
    }
    const store = this.#store
    const l1 = store.l1
    if (l1 !== undefined) {
      const entry = l1.get(key)
      if (
        entry !== undefined &&
        isFresh(entry, coarseNow()) &&
        (!this.#options.strict || (await store.stillCurrent(key, entry)))
      ) {
        metrics.hits++
        metrics.l1Hits++
        if (this.#emitHits) this.emit('hit', { key, tier: 'l1', stale: false })
        if (trace !== undefined) {
          trace.status = 'hit'
          trace.tier = 'l1'
        }
        return store.outL1(entry) as T
      }
      metrics.l1Misses++
    }
    if (store.l2 !== undefined) {
      const found = await store.readL2(key)
      if (found !== undefined && isFresh(found, cacheNow())) {
        metrics.hits++
        metrics.l2Hits++
        if (this.#emitHits) this.emit('hit', { key, tier: 'l2', stale: false })
        if (trace !== undefined) {
          trace.status = 'hit'
          trace.tier = 'l2'
        }
        // A value L1 did not keep is private to this read: no copy needed.
        return (found.shared ? store.out(found.value) : found.value) as T
      }
      if (found !== undefined) metrics.l2Misses++
    }
    metrics.misses++
    this.emit('miss', { key })
    if (trace !== undefined) trace.status = 'miss'
    return undefined
  }

  /** Whether a fresh value is cached under `key`. Does not count as a hit or miss. */
  async has(key: string): Promise<boolean> {
    assertKey(key, this.#options.maxKeyLength)
    this.#assertOpen()
    if (!this.#options.enabled) return false
    const local = this.#store.peekL1(key)
    if (
      local !== undefined &&
      local.freshUntil > coarseNow() &&
      (!this.#options.strict || (await this.#store.stillCurrent(key, local)))
    ) {
      return true
    }
    const found = await this.#store.readL2(key)
    return found !== undefined && found.freshUntil > cacheNow()
  }

  /**
   * Stores `value` in both tiers. The value is copied (later mutations by the caller do not leak
   * in) and validated: functions, symbols, cycles and unregistered classes throw `ERR_UNSERIALIZABLE`.
   */
  async set(key: string, value: unknown, options?: SetOptions): Promise<void> {
    assertKey(key, this.#options.maxKeyLength)
    this.#assertOpen()
    const prepared = this.#store.prepare(value, planWrite(options, this.#options))
    if (!this.#options.enabled) return
    this.#store.fence.touchKey(key)
    await this.#store.write(key, prepared)
    // Other instances drop their L1 copy; they read the new value from L2 on their next get.
    await this.#publish({ type: 'delete', keys: [key] })
    this.emit('set', { key, tags: prepared.plan.tags })
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
    assertKey(key, this.#options.maxKeyLength)
    if (typeof compute !== 'function') throw invalid('compute', 'must be a function')
    this.#assertOpen()
    const plan = planCompute(options, this.#options)
    if (!this.#options.enabled) return Promise.resolve(compute()).then(withoutMark<T>)
    if (!cacheReads.hasSubscribers) return this.#loader.run(key, compute, plan)
    return traceRead('getOrCompute', key, async (trace) => {
      const info: ComputeInfo = { status: 'miss', tier: undefined }
      try {
        return await this.#loader.run(key, compute, plan, info)
      } finally {
        trace.status = info.status
        trace.tier = info.tier
      }
    })
  }

  /** Values for `keys`, aligned with them; misses are `undefined`. One L2 round trip at most. */
  async getBatch<T = unknown>(keys: readonly string[]): Promise<(T | undefined)[]> {
    assertKeys(keys, this.#options.maxKeyLength)
    this.#assertOpen()
    if (!this.#options.enabled) {
      this.#metrics.misses += keys.length
      return keys.map(() => undefined)
    }
    const values = await this.#store.readManyFresh(keys)
    for (let i = 0; i < values.length; i++) {
      if (values[i] === MISS) {
        values[i] = undefined
        this.#metrics.misses++
      } else this.#metrics.hits++
    }
    return values as (T | undefined)[]
  }

  /** Stores many values with one L2 round trip. Every item is validated before anything is stored. */
  async setBatch(items: readonly BatchItem[], tags?: string | readonly string[]): Promise<void> {
    if (!Array.isArray(items)) throw invalid('items', 'must be an array of { key, value, ttl? }')
    this.#assertOpen()
    const normalizedTags = normalizeTags(tags)
    const prepared: { key: string; prepared: Prepared }[] = items.map((item, i) => {
      if (typeof item !== 'object' || item === null)
        throw invalid(`items[${i}]`, 'must be { key, value, ttl? }')
      assertKey(item.key, this.#options.maxKeyLength, `items[${i}].key`)
      const plan = planWrite(
        { ttl: item.ttl, tags: normalizedTags },
        this.#options,
        `items[${i}].ttl`,
      )
      return { key: item.key, prepared: this.#store.prepare(item.value, plan) }
    })
    if (!this.#options.enabled) return
    for (const item of prepared) this.#store.fence.touchKey(item.key)
    await this.#store.writeMany(prepared)
    await this.#publish({ type: 'delete', keys: prepared.map((item) => item.key) })
    for (const item of prepared) this.emit('set', { key: item.key, tags: normalizedTags })
  }

  /** Removes `key` (or each of `keys`) from both tiers. */
  delete(keys: string | readonly string[]): Promise<void> {
    return traceInvalidation('delete', (trace) => this.#delete(keys, trace), this.#degraded)
  }

  async #delete(keys: string | readonly string[], trace?: CacheInvalidationMessage): Promise<void> {
    const list = typeof keys === 'string' ? [keys] : keys
    assertKeys(list, this.#options.maxKeyLength, typeof keys === 'string' ? 'key' : 'keys')
    this.#assertOpen()
    traceTargets(trace, list)
    if (list.length === 0) return
    await this.#store.delete(list)
    await this.#publish({ type: 'delete', keys: [...list] })
    this.#metrics.deletes += list.length
    this.emit('delete', { keys: list })
  }

  /** Removes every entry carrying any of the tags, in both tiers. */
  invalidateByTag(tags: string | readonly string[]): Promise<void> {
    return traceInvalidation(
      'invalidateByTag',
      (trace) => this.#invalidateByTag(tags, trace),
      this.#degraded,
    )
  }

  async #invalidateByTag(
    tags: string | readonly string[],
    trace?: CacheInvalidationMessage,
  ): Promise<void> {
    const list = normalizeTags(tags, 'tag')
    if (list.length === 0) throw invalid('tag', 'must name at least one tag')
    this.#assertOpen()
    traceTargets(trace, list)
    const message: BusMessage = { type: 'tags', tags: [...list] }
    // On one Redis, the invalidation script publishes the notice itself: one round trip.
    const notice = this.#setup.degraded ? undefined : this.#link?.noticeFor(message)
    const removed = await this.#store.deleteByTags(list, notice)
    if (trace !== undefined) trace.removed = removed
    if (notice === undefined) await this.#publish(message)
    else this.#metrics.busSent++
    this.#metrics.invalidations++
    this.emit('invalidate', { kind: 'tag', tags: list, removed })
  }

  /**
   * Removes entries whose key matches a Redis-style glob (`product:*`) or a RegExp, in both tiers
   * (SCAN in Redis, never KEYS). Resolves to the number removed from the tier that held the most.
   */
  invalidateByPattern(pattern: string | RegExp): Promise<number> {
    return traceInvalidation(
      'invalidateByPattern',
      (trace) => this.#invalidateByPattern(pattern, trace),
      this.#degraded,
    )
  }

  async #invalidateByPattern(
    pattern: string | RegExp,
    trace?: CacheInvalidationMessage,
  ): Promise<number> {
    if (!(pattern instanceof RegExp) && (typeof pattern !== 'string' || pattern.length === 0)) {
      throw invalid('pattern', 'must be a non-empty glob string or a RegExp')
    }
    this.#assertOpen()
    const removed = await this.#store.deleteByPattern(pattern)
    if (trace !== undefined) {
      trace.target = String(pattern)
      trace.removed = removed
    }
    await this.#publish(patternMessage(pattern))
    this.#metrics.invalidations++
    this.emit('invalidate', { kind: 'pattern', pattern, removed })
    return removed
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
    this.#assertOpen()
    // A disabled cache holds nothing: the pattern is still checked.
    const tiers = this.#options.enabled ? this.#store : { l1: undefined, l2: undefined }
    return listKeys(tiers, pattern)
  }

  /** Removes every entry of this cache: L1, and in Redis only the keys under this cache's prefix. */
  clear(): Promise<void> {
    return traceInvalidation('clear', () => this.#clear(), this.#degraded)
  }

  async #clear(): Promise<void> {
    this.#assertOpen()
    await this.#store.clear()
    await this.#publish({ type: 'clear' })
    this.#metrics.invalidations++
    this.emit('invalidate', { kind: 'clear' })
  }

  /** Adds `by` (an integer) to a counter and returns the new value; a native Redis counter when L2 is up. */
  async increment(key: string, by = 1): Promise<number> {
    assertKey(key, this.#options.maxKeyLength)
    if (!Number.isSafeInteger(by)) throw invalid('by', `must be a safe integer, got ${String(by)}`)
    this.#assertOpen()
    return this.#native.increment(key, by, this.#options.ttlMs)
  }

  /** Adds string members to a set; resolves to how many were not there before. */
  async addToSet(key: string, members: readonly string[]): Promise<number> {
    assertKey(key, this.#options.maxKeyLength)
    if (!Array.isArray(members) || members.some((m) => typeof m !== 'string')) {
      throw invalid('members', 'must be an array of strings')
    }
    this.#assertOpen()
    return this.#native.addToSet(key, members, this.#options.ttlMs)
  }

  /** Members of a set, `[]` when absent. */
  async getSet(key: string): Promise<string[]> {
    assertKey(key, this.#options.maxKeyLength)
    this.#assertOpen()
    return this.#native.getSet(key)
  }

  /** Counters since creation; `hitRate` is a percentage. */
  getMetrics(): CacheMetricsSnapshot {
    const link = this.#link
    return this.#metrics.snapshot(this.#setup.degraded, link?.trusted ?? true, link?.bus.lagMs)
  }

  /** Size of this process's L1. All zero when L1 is off. */
  getLocalCacheStats(): L1Stats & {
    /** Whether this cache has an L1 (`l1: false` turns it off). */
    enabled: boolean
  } {
    return localCacheStats(this.#store.l1)
  }

  /** Stops timers and closes connections the cache opened itself. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#link?.close()
    await this.#setup.close(this.#store)
  }

  /**
   * Tells the other instances (through the bus) about an invalidation made here. Awaited while
   * Redis is healthy, so that a write resolves once the others were told; not while it is
   * degraded, when the publish could only wait for its retries to run out.
   */
  #publish(message: BusMessage): Promise<void> | undefined {
    const published = this.#link?.publish(message, this.#options.commandTimeoutMs)
    return this.#setup.degraded ? undefined : published
  }

  #newLink(): BusLink | undefined {
    return linkBus(this.#setup, this.#options, () => this.#store, this.#sink)
  }

  #loaderSettings(): GetOrComputeSettings {
    return loaderSettings(this.#options, () => this.#link, this.#sink.waiters)
  }

  /** Tells the `logger` option, if any; a logger that throws must not break a cache call. */
  #log(level: keyof CacheLogger, fields: object, message: string): void {
    const logger = this.#options?.logger
    if (logger === undefined) return
    try {
      logger[level]?.(fields, message)
    } catch {
      // The application's logger is its own business.
    }
  }

  #reportError(error: Error, operation: string, key?: string): void {
    this.#metrics.errors++
    this.#log(
      'error',
      { err: error, operation, key },
      `stratacache: ${operation} failed: ${error.message}`,
    )
    // An 'error' event with no listener would throw (EventEmitter semantics): absorb instead.
    if (this.listenerCount('error') > 0) this.emit('error', { error, operation, key })
  }

  #assertOpen(): void {
    if (this.#closed) throw new StrataCacheError('ERR_CLOSED', 'the cache was closed')
  }
}

/** A loaded value without its local-only mark (a disabled cache stores nothing anyway). */
function withoutMark<T>(loaded: unknown): T {
  return unwrapLoaded(loaded).value as T
}

/**
 * One sample of the servers' clock as the cache starts, so that its first writes already measure
 * freshness on it (fills refine it later; see `clock.ts`).
 */
async function sampleServerClock(store: TieredStore): Promise<void> {
  const coordination = store.l2?.coordination
  if (coordination !== undefined)
    await sampleRoundTrip(
      () => coordination.serverTime(),
      (ms) => ms,
    )
}

import { LoaderTimeoutError } from '../errors.js'
import { coarseNow } from './clock.js'
import type { Tier } from './events.js'
import { type FillResult, type FillSettings, type FirstStart, fill, newLeaseToken } from './fill.js'
import type { CacheMetrics } from './metrics.js'
import { isHiddenNative, type L2Read, MISS, type WritePlan } from './store-types.js'
import type { TieredStore } from './tiered-store.js'

/** What `getOrCompute` resolved, in ms, after validation. */
export interface ComputePlan extends WritePlan {
  /** Serve a stale value this long past expiry while one background refresh runs. */
  swrMs: number
  /** Serve a stale value this long past expiry when the loader throws or times out. */
  staleIfErrorMs: number
  /** Give up waiting for the loader after this long (the load itself goes on and still fills). */
  timeoutMs: number | undefined
  /**
   * Whether a loaded value may be stored; `undefined` stores everything. A value refused is
   * handed to the callers that waited for it and kept nowhere (the Prisma layer refuses a
   * `findUnique` that found nothing, so that creating the record needs no invalidation).
   */
  storeIf: ((value: unknown) => boolean) | undefined
}

/**
 * How a `getOrCompute` call was answered, filled in by {@link GetOrCompute.run} when asked (for
 * Prisma's `withCacheInfo()`): the caller sets `status: 'miss'` and the run overwrites it on a hit.
 */
export interface ComputeInfo {
  /** `hit`: a fresh value; `swr`: a stale one (while revalidating, or as stale-if-error). */
  status: 'hit' | 'swr' | 'miss'
  /** The tier that answered a hit. */
  tier: Tier | undefined
}

/** A value past its freshness that may still be served (SWR, stale-if-error). */
interface Stale {
  value: unknown
  freshUntil: number
  tier: Tier
  /** Held by L1: clone before handing out. */
  shared: boolean
}

export interface GetOrComputeSettings extends FillSettings {
  /**
   * XFetch's beta (Vattani et al., VLDB 2015): a fresh hit triggers a background refresh when
   * `now - loadMs * beta * ln(random()) >= expiry`, so hot keys refresh before they expire and
   * never all at once. 0 turns it off.
   */
  earlyRefreshBeta: number
  /** Strict mode: an L1 hit is served only after Redis confirms it is still the current entry. */
  strict: boolean
}

export interface GetOrComputeHooks {
  hit(key: string, tier: Tier, stale: boolean): void
  miss(key: string): void
  error(error: Error, operation: string, key: string): void
}

/**
 * The cache-aside handler: fresh hit → value; stale within the SWR window → stale value plus one
 * background refresh; miss → one loader call per key in this process, fenced against concurrent
 * invalidations, bounded by a timeout, with stale-if-error as the safety net.
 */
export class GetOrCompute {
  #store: TieredStore
  readonly #metrics: CacheMetrics
  readonly #hooks: GetOrComputeHooks
  readonly #flights = new Map<string, Flight>()
  #settings: GetOrComputeSettings

  constructor(
    store: TieredStore,
    metrics: CacheMetrics,
    hooks: GetOrComputeHooks,
    settings: GetOrComputeSettings,
  ) {
    this.#store = store
    this.#metrics = metrics
    this.#hooks = hooks
    this.#settings = settings
  }

  /**
   * The fresh L1 value of `key`, answered synchronously (with `run`'s accounting, and its early
   * refresh), or {@link MISS} when only `run` can answer: no fresh L1 entry, or strict mode (which
   * asks Redis first). For callers on a hot path that would otherwise pay for `run`'s promise.
   */
  tryL1(
    key: string,
    compute: () => unknown,
    plan: ComputePlan,
    info: ComputeInfo | undefined,
  ): unknown {
    if (this.#settings.strict) return MISS
    const store = this.#store
    const local = store.peekL1(key)
    if (local === undefined || isHiddenNative(local) || local.freshUntil <= coarseNow()) {
      return MISS
    }
    this.#maybeRefreshEarly(key, compute, plan, local.freshUntil, local.loadMs)
    return this.#hit(key, store.outL1(local), 'l1', false, false, info)
  }

  async run<T>(
    key: string,
    compute: () => T | Promise<T>,
    plan: ComputePlan,
    info?: ComputeInfo,
  ): Promise<T> {
    const store = this.#store
    let local = store.peekL1(key)
    if (local !== undefined && this.#settings.strict && !(await store.stillCurrent(key, local))) {
      local = undefined
    }
    let stale: Stale | undefined
    if (local !== undefined && !isHiddenNative(local)) {
      if (local.freshUntil > coarseNow()) {
        this.#maybeRefreshEarly(key, compute, plan, local.freshUntil, local.loadMs)
        return this.#hit(key, store.outL1(local), 'l1', false, false, info) as T
      }
      stale = { value: local.value, freshUntil: local.freshUntil, tier: 'l1', shared: true }
    }
    if (store.l1 !== undefined) this.#metrics.l1Misses++
    // A load already running for this key will fill it: join it rather than ask Redis again.
    const running = stale === undefined ? this.#joinable(key, plan.tags) : undefined
    if (running !== undefined) {
      this.#metrics.misses++
      this.#hooks.miss(key)
      return this.#await(running, true, key, compute, plan, undefined, info)
    }
    if (store.l2?.available) {
      const coordination = this.#settings.leaseMs > 0 ? store.l2.coordination : undefined
      let remote: L2Read | undefined
      if (coordination === undefined) {
        remote = await store.readL2(key)
      } else {
        // The read is also the start of a fill: when Redis has no value, the same round trip takes
        // the lease and the fence versions, and the fill goes straight to the loader.
        const ticket = store.fence.acquire()
        let handedOver = false
        try {
          const token = newLeaseToken()
          const start = await coordination.beginFill(
            key,
            plan.tags,
            this.#settings.leaseMs,
            token,
            'if-absent',
          )
          if (start !== undefined && start.value === undefined) {
            this.#metrics.l2Misses++
            handedOver = true
            const first = { start, token }
            return await this.#missWithStart(key, compute, plan, stale, ticket, first, info)
          }
          if (start === undefined) {
            // Timed out, but it may still run and take the lease (Redis paused): give it back
            // (queued behind it on the same connection), or other instances wait a whole lease.
            void coordination.releaseLease(key, token)
          } else {
            remote = store.readBytes(key, start.value, ticket)
          }
        } finally {
          if (!handedOver) store.fence.release(ticket)
        }
      }
      if (remote !== undefined && !isHiddenNative(remote)) {
        if (remote.freshUntil > Date.now()) {
          this.#maybeRefreshEarly(key, compute, plan, remote.freshUntil, remote.loadMs)
          return this.#hit(key, remote.value, 'l2', false, remote.shared, info) as T
        }
        if (stale === undefined || remote.freshUntil > stale.freshUntil) {
          stale = {
            value: remote.value,
            freshUntil: remote.freshUntil,
            tier: 'l2',
            shared: remote.shared,
          }
        }
        this.#metrics.l2Misses++
      }
    }

    if (servableWhileRevalidating(stale, plan)) {
      this.#refreshInBackground(key, compute, plan)
      return this.#hit(key, stale.value, stale.tier, true, stale.shared, info) as T
    }

    this.#metrics.misses++
    this.#hooks.miss(key)
    const joined = this.#joinable(key, plan.tags)
    const flight = joined ?? this.#start(key, compute, plan, false)
    return this.#await(flight, joined !== undefined, key, compute, plan, stale, info)
  }

  /**
   * Redis had no value and `first` tried to take the lease under `ticket` (now ours to release):
   * serve a stale L1 copy while the fill runs in the background (SWR), or wait for the fill.
   */
  #missWithStart<T>(
    key: string,
    compute: () => T | Promise<T>,
    plan: ComputePlan,
    stale: Stale | undefined,
    ticket: number,
    first: FirstStart,
    info: ComputeInfo | undefined,
  ): Promise<T> {
    const swr = servableWhileRevalidating(stale, plan)
    const joined = this.#joinable(key, plan.tags)
    if (joined !== undefined) {
      // Another caller started a fill while we read: join it, and give back what we took.
      this.#store.fence.release(ticket)
      if (first.start.lease) void this.#store.l2?.coordination?.releaseLease(key, first.token)
      if (swr) {
        const value = this.#hit(key, stale.value, stale.tier, true, stale.shared, info)
        return Promise.resolve(value as T)
      }
      this.#metrics.misses++
      this.#hooks.miss(key)
      return this.#await(joined, true, key, compute, plan, stale, info)
    }
    const flight = this.#start(key, compute, plan, swr, { ticket, first })
    if (swr) {
      flight.promise.catch((error: unknown) => this.#hooks.error(error as Error, 'refresh', key))
      const value = this.#hit(key, stale.value, stale.tier, true, stale.shared, info)
      return Promise.resolve(value as T)
    }
    this.#metrics.misses++
    this.#hooks.miss(key)
    return this.#await(flight, false, key, compute, plan, stale, info)
  }

  /**
   * Waits for a load (bounded by the plan's timeout), falling back on `stale` if allowed. In strict
   * mode a caller who joined a load started before it must see Redis confirm the value (another
   * instance may have written since the load began); if not, it loads for itself.
   */
  async #await<T>(
    flight: Flight,
    joined: boolean,
    key: string,
    compute: () => T | Promise<T>,
    plan: ComputePlan,
    stale: Stale | undefined,
    info: ComputeInfo | undefined,
  ): Promise<T> {
    try {
      const load = flight.promise
      let result =
        plan.timeoutMs === undefined ? await load : await withTimeout(load, key, plan.timeoutMs)
      if (
        joined &&
        this.#settings.strict &&
        !(result.stored && (await this.#store.holdsStamp(key, result.stamp)))
      ) {
        const own = this.#start(key, compute, plan, false).promise
        result =
          plan.timeoutMs === undefined ? await own : await withTimeout(own, key, plan.timeoutMs)
      }
      return this.#store.out(result.value) as T
    } catch (error) {
      if (error instanceof LoaderTimeoutError) this.#metrics.loaderTimeouts++
      if (
        stale !== undefined &&
        plan.staleIfErrorMs > 0 &&
        Date.now() - stale.freshUntil <= plan.staleIfErrorMs
      ) {
        this.#hooks.error(error as Error, 'getOrCompute', key)
        this.#metrics.staleHits++
        if (info !== undefined) {
          info.status = 'swr'
          info.tier = stale.tier
        }
        return (stale.shared ? this.#store.out(stale.value) : stale.value) as T
      }
      throw error
    }
  }

  /** Points at the store `initialize()` rebuilt; loads in flight keep being shared. */
  useStore(store: TieredStore): void {
    this.#store = store
  }

  /** New settings from `initialize()`; loads in flight keep theirs. */
  useSettings(settings: GetOrComputeSettings): void {
    this.#settings = settings
  }

  /** Loads in flight in this process. */
  get inFlight(): number {
    return this.#flights.size
  }

  #hit(
    key: string,
    value: unknown,
    tier: Tier,
    stale: boolean,
    shared: boolean,
    info: ComputeInfo | undefined,
  ): unknown {
    if (info !== undefined) {
      info.status = stale ? 'swr' : 'hit'
      info.tier = tier
    }
    const m = this.#metrics
    m.hits++
    if (tier === 'l1') m.l1Hits++
    else m.l2Hits++
    if (stale) m.staleHits++
    this.#hooks.hit(key, tier, stale)
    return shared ? this.#store.out(value) : value
  }

  /** XFetch: refresh a fresh entry early, with a probability that rises as expiry nears. */
  #maybeRefreshEarly<T>(
    key: string,
    compute: () => T | Promise<T>,
    plan: ComputePlan,
    freshUntil: number,
    loadMs: number,
  ): void {
    const beta = this.#settings.earlyRefreshBeta
    if (beta <= 0 || loadMs <= 0) return
    if (coarseNow() - loadMs * beta * Math.log(Math.random()) < freshUntil) return
    this.#metrics.earlyRefreshes++
    this.#refreshInBackground(key, compute, plan)
  }

  #refreshInBackground<T>(key: string, compute: () => T | Promise<T>, plan: ComputePlan): void {
    if (this.#joinable(key, plan.tags) !== undefined) return
    this.#start(key, compute, plan, true).promise.catch((error: unknown) => {
      this.#hooks.error(error as Error, 'refresh', key)
    })
  }

  /**
   * The load running for `key`, if a new caller may still take its value: not if the key or one
   * of its tags was invalidated since it began (its value may predate that write, guarantee 1).
   */
  #joinable(key: string, tags: readonly string[]): Flight | undefined {
    const flight = this.#flights.get(key)
    if (flight === undefined || !this.#store.fence.canStore(flight.ticket, key, tags))
      return undefined
    return flight
  }

  /**
   * Starts a load for `key` under a fresh fence ticket (or `given`'s, taken before its first
   * `beginFill`); later callers may join it.
   */
  #start(
    key: string,
    compute: () => unknown,
    plan: ComputePlan,
    refresh: boolean,
    given?: { ticket: number; first: FirstStart },
  ): Flight {
    const store = this.#store
    const ticket = given?.ticket ?? store.fence.acquire()
    const flight: Flight = {
      ticket,
      promise: fill(
        store,
        this.#metrics,
        this.#settings,
        key,
        compute,
        plan,
        ticket,
        refresh,
        given?.first,
      ).finally(() => {
        store.fence.release(ticket)
        if (this.#flights.get(key) === flight) this.#flights.delete(key)
      }),
    }
    this.#flights.set(key, flight)
    return flight
  }
}

/** A load in flight: its fence ticket (taken before the loader ran) and its outcome. */
interface Flight {
  readonly ticket: number
  readonly promise: Promise<FillResult>
}

/** Whether `stale` is within the plan's stale-while-revalidate window. */
function servableWhileRevalidating(stale: Stale | undefined, plan: ComputePlan): stale is Stale {
  return stale !== undefined && plan.swrMs > 0 && Date.now() - stale.freshUntil <= plan.swrMs
}

function withTimeout<T>(promise: Promise<T>, key: string, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new LoaderTimeoutError(key, timeoutMs)), timeoutMs)
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(error)
      },
    )
  })
}

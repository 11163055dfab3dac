import { LoaderTimeoutError } from '../errors.js'
import { cacheNow, coarseNow } from './clock.js'
import type { Tier } from './events.js'
import {
  beginFill,
  Fill,
  type FillContext,
  type FillResult,
  type FillSettings,
  type FirstStart,
  newLeaseToken,
} from './fill.js'
import type { CacheMetrics } from './metrics.js'
import { isFresh, isHiddenNative, type L2Read, MISS, type StorePlan } from './store-types.js'
import type { TieredStore } from './tiered-store.js'

/** What `getOrCompute` resolved, in ms, after validation. */
export interface ComputePlan extends StorePlan {
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
  loadMs: number
}

export interface GetOrComputeSettings extends FillSettings {
  /**
   * XFetch's beta (Vattani et al., VLDB 2015): a fresh hit triggers a background refresh when
   * `now - loadMs * beta * ln(random()) >= expiry`, so hot keys refresh before they expire and
   * never all at once. 0 turns it off.
   */
  earlyRefreshBeta: number
}

export interface GetOrComputeHooks {
  hit(key: string, tier: Tier, stale: boolean): void
  miss(key: string): void
  error(error: Error, operation: string, key: string): void
}

type Compute = () => unknown

/** Loads seen before a typical load time is trusted, and the weight of each new one. */
const LOADS_BEFORE_TYPICAL = 8
const LOAD_WEIGHT = 0.1

/**
 * The cache-aside handler: fresh hit → value; stale within the SWR window → stale value plus one
 * background refresh; miss → one {@link Fill} per key in this process (callers who come later
 * join it), fenced against concurrent invalidations, bounded by a timeout, with stale-if-error as
 * the safety net.
 */
export class GetOrCompute {
  #store: TieredStore
  readonly #metrics: CacheMetrics
  readonly #hooks: GetOrComputeHooks
  readonly #fills = new Map<string, Fill>()
  #settings: GetOrComputeSettings
  #context: FillContext
  #loads = 0
  #typicalLoadMs = 0

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
    this.#context = this.#newContext()
  }

  /**
   * The fresh L1 value of `key`, answered synchronously (with `run`'s accounting, and its early
   * refresh), or {@link MISS} when only `run` can answer: no fresh L1 entry, or strict mode (which
   * asks Redis first). For callers on a hot path that would otherwise pay for `run`'s promise.
   */
  tryL1(key: string, compute: Compute, plan: ComputePlan, info: ComputeInfo | undefined): unknown {
    if (this.#settings.strict) return MISS
    const store = this.#store
    const local = store.peekL1(key)
    if (local === undefined || !isFresh(local, coarseNow())) return MISS
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
      stale = { ...local, tier: 'l1', shared: true }
    }
    if (store.l1 !== undefined) this.#metrics.l1Misses++
    // A fill already running for this key will store it: join it rather than ask Redis again.
    const running = stale === undefined ? this.#joinable(key, plan) : undefined
    if (running?.loaded) {
      // Loaded and being stored: its value is ours once Redis has it, like an L2 hit.
      const result = await running.join()
      if (result !== undefined) return this.#hit(key, result.value, 'l2', false, true, info) as T
    } else if (running !== undefined) {
      return this.#miss(running, key, compute, plan, undefined, info)
    }
    let first: (FirstStart & { ticket: number }) | undefined
    if (store.l2?.available) {
      const read = await this.#readL2(key)
      if (read.first !== undefined) {
        this.#metrics.l2Misses++
        first = read.first
      } else if (read.remote !== undefined && !isHiddenNative(read.remote)) {
        const remote = read.remote
        if (remote.freshUntil > cacheNow()) {
          this.#maybeRefreshEarly(key, compute, plan, remote.freshUntil, remote.loadMs)
          return this.#hit(key, remote.value, 'l2', false, remote.shared, info) as T
        }
        if (stale === undefined || remote.freshUntil > stale.freshUntil) {
          stale = { ...remote, tier: 'l2' }
        }
        this.#metrics.l2Misses++
      }
    }
    // Another caller may have started a fill while we read: join it, and give back what we took.
    const joined = this.#joinable(key, plan)
    if (joined !== undefined && first !== undefined) this.#abandon(key, first)
    if (stale !== undefined && servableWhileRevalidating(stale, plan)) {
      if (joined === undefined) {
        const refresh = this.#start(key, compute, plan, true, first, stale.loadMs)
        refresh.promise.catch((error: unknown) => this.#hooks.error(error as Error, 'refresh', key))
      }
      return this.#hit(key, stale.value, stale.tier, true, stale.shared, info) as T
    }
    if (joined !== undefined) return this.#miss(joined, key, compute, plan, stale, info)
    const fill = this.#start(key, compute, plan, false, first, stale?.loadMs)
    return this.#miss(fill, key, compute, plan, stale, info, true)
  }

  /**
   * Reads L2. With leases, the read is also the start of a fill: when Redis has no value, the
   * same round trip took the lease and the fence point (`first`, with its ticket, now ours).
   */
  async #readL2(
    key: string,
  ): Promise<{ remote?: L2Read; first?: FirstStart & { ticket: number } }> {
    const store = this.#store
    const coordination = this.#settings.leaseMs > 0 ? store.l2!.coordination : undefined
    if (coordination === undefined) return { remote: await store.readL2(key) }
    const ticket = store.fence.acquire()
    const token = newLeaseToken()
    let handedOver = false
    try {
      const start = await beginFill(coordination, key, this.#settings.leaseMs, token, 'if-absent')
      if (start === undefined) {
        // Timed out, but it may still run and take the lease (Redis paused): give it back
        // (queued behind it on the same connection), or other instances wait a whole lease.
        void coordination.releaseLease(key, token)
        return {}
      }
      if (start.value === undefined) {
        handedOver = true
        return { first: { start, token, ticket } }
      }
      return { remote: store.readBytes(key, start.value, ticket) }
    } finally {
      if (!handedOver) store.fence.release(ticket)
    }
  }

  /** Gives back a first start nobody will use: its ticket, and its lease if it took one. */
  #abandon(key: string, first: FirstStart & { ticket: number }): void {
    this.#store.fence.release(first.ticket)
    if (first.start.lease) void this.#store.l2?.coordination?.releaseLease(key, first.token)
  }

  /**
   * A miss served by `fill` (`started`: by this caller), bounded by the plan's timeout, falling
   * back on `stale` if allowed. A caller whose fill turns out to predate an invalidation it must
   * see loads again; in strict mode a caller who joined must also see Redis confirm the value
   * (another instance may have written since the load began).
   */
  async #miss<T>(
    fill: Fill,
    key: string,
    compute: Compute,
    plan: ComputePlan,
    stale: Stale | undefined,
    info: ComputeInfo | undefined,
    started = false,
  ): Promise<T> {
    this.#metrics.misses++
    this.#hooks.miss(key)
    try {
      let result = await this.#bounded(fill.join(), key, plan)
      if (
        result === undefined ||
        (!started && this.#settings.strict && !(await this.#confirmed(key, result)))
      ) {
        // A fill of our own: one that started before us may predate the same invalidation.
        result = await this.#bounded(this.#start(key, compute, plan, false).promise, key, plan)
      }
      return this.#store.out(result.value) as T
    } catch (error) {
      if (error instanceof LoaderTimeoutError) this.#metrics.loaderTimeouts++
      if (
        stale !== undefined &&
        plan.staleIfErrorMs > 0 &&
        cacheNow() - stale.freshUntil <= plan.staleIfErrorMs
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

  /** Strict mode: the value a fill produced is the entry Redis holds now. */
  async #confirmed(key: string, result: FillResult): Promise<boolean> {
    return (await result.stored) && (await this.#store.holdsStamp(key, result.stamp))
  }

  #bounded<T>(promise: Promise<T>, key: string, plan: ComputePlan): Promise<T> {
    return plan.timeoutMs === undefined ? promise : withTimeout(promise, key, plan.timeoutMs)
  }

  /** Points at the store `initialize()` rebuilt; loads in flight keep being shared. */
  useStore(store: TieredStore): void {
    this.#store = store
    this.#context = this.#newContext()
  }

  /** New settings from `initialize()`; loads in flight keep theirs. */
  useSettings(settings: GetOrComputeSettings): void {
    this.#settings = settings
    this.#context = this.#newContext()
  }

  /** Loads in flight in this process. */
  get inFlight(): number {
    return this.#fills.size
  }

  #newContext(): FillContext {
    return {
      store: this.#store,
      metrics: this.#metrics,
      settings: this.#settings,
      typicalLoadMs: () => (this.#loads < LOADS_BEFORE_TYPICAL ? undefined : this.#typicalLoadMs),
      loaded: (ms) => {
        this.#loads++
        this.#typicalLoadMs =
          this.#loads === 1 ? ms : this.#typicalLoadMs + LOAD_WEIGHT * (ms - this.#typicalLoadMs)
      },
    }
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
  #maybeRefreshEarly(
    key: string,
    compute: Compute,
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

  #refreshInBackground(key: string, compute: Compute, plan: ComputePlan): void {
    if (this.#joinable(key, plan) !== undefined) return
    this.#start(key, compute, plan, true).promise.catch((error: unknown) => {
      this.#hooks.error(error as Error, 'refresh', key)
    })
  }

  /**
   * The fill running for `key`, if a new caller may still take its value: not if the key or one
   * of the plan's tags was invalidated since it began (its value may predate that write,
   * guarantee 1; tags the loader adds are checked when the caller joins, see `Fill.join`).
   */
  #joinable(key: string, plan: ComputePlan): Fill | undefined {
    const fill = this.#fills.get(key)
    if (fill === undefined || fill.finished) return undefined
    return this.#store.fence.canStore(fill.ticket, key, plan.tags) ? fill : undefined
  }

  /**
   * Starts a fill of `key`; later callers may join it. A fill of this process still running for
   * the key (one an invalidation overtook) holds the key's lease: the new one does not wait for it.
   */
  #start(
    key: string,
    compute: Compute,
    plan: ComputePlan,
    refresh: boolean,
    first?: FirstStart & { ticket: number },
    keyLoadMs = 0,
  ): Fill {
    const fill = new Fill(this.#context, key, compute, plan, {
      refresh,
      ticket: first?.ticket,
      first,
      waitForHolder: !this.#fills.has(key),
      keyLoadMs,
    })
    return this.#track(key, fill)
  }

  /** Makes `fill` the one later callers of `key` join, until it is done. */
  #track(key: string, fill: Fill): Fill {
    this.#fills.set(key, fill)
    void fill.done.then(() => this.#forget(key, fill))
    return fill
  }

  /**
   * Loads `key` now and stores the value in place of any stored one, fenced like every fill (cache
   * warming). Resolves to the value and whether it became the entry (`false`: an invalidation
   * overlapped the load, `storeIf` refused it, or Redis gave no fence point and it stayed in L1).
   */
  async replace(
    key: string,
    compute: Compute,
    plan: ComputePlan,
  ): Promise<{ value: unknown; stored: boolean }> {
    const fill = this.#track(
      key,
      new Fill(this.#context, key, compute, plan, {
        refresh: true,
        replace: true,
        waitForHolder: false,
        keyLoadMs: 0,
      }),
    )
    const result = await fill.promise
    return { value: result.value, stored: await result.stored }
  }

  #forget(key: string, fill: Fill): void {
    if (this.#fills.get(key) === fill) this.#fills.delete(key)
  }
}

/** Whether `stale` is within the plan's stale-while-revalidate window. */
function servableWhileRevalidating(stale: Stale, plan: ComputePlan): boolean {
  return plan.swrMs > 0 && cacheNow() - stale.freshUntil <= plan.swrMs
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

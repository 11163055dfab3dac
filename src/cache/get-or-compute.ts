import { LoaderTimeoutError } from '../errors.js'
import {
  bounded,
  type ComputeInfo,
  type ComputePlan,
  withinStaleIfError,
  withinSwr,
} from './call-options.js'
import type { Tier } from './events.js'
import type { Fill, FillContext, FillResult } from './fill.js'
import { FillsInFlight } from './fill-fence.js'
import { abandonFirst, type FillSettings, type FirstRead, LoadTimes, readOrLease } from './lease.js'
import type { CacheMetrics } from './metrics.js'
import { cacheNow, coarseNow, isFresh, isHiddenNative, MISS } from './store-types.js'
import type { TieredStore } from './tiered-store.js'

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
  readonly #fills: FillsInFlight
  #settings: GetOrComputeSettings
  readonly #loadTimes = new LoadTimes()

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
    this.#fills = new FillsInFlight(this.#newContext())
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
    const running = stale === undefined ? this.#fills.joinable(key, plan.tags) : undefined
    if (running?.loaded) {
      // Loaded and being stored: its value is ours once Redis has it, like an L2 hit.
      const result = await running.join()
      if (result !== undefined) return this.#hit(key, result.value, 'l2', false, true, info) as T
    } else if (running !== undefined) {
      return this.#miss(running, key, compute, plan, undefined, info)
    }
    let first: FirstRead | undefined
    if (store.l2?.available) {
      const read = await readOrLease(store, key, this.#settings.leaseMs)
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
    const joined = this.#fills.joinable(key, plan.tags)
    if (joined !== undefined && first !== undefined) abandonFirst(store, key, first)
    if (stale !== undefined && withinSwr(plan, stale.freshUntil)) {
      if (joined === undefined) {
        const refresh = this.#fills.start(key, compute, plan, true, first, stale.loadMs)
        refresh.promise.catch((error: unknown) => this.#hooks.error(error as Error, 'refresh', key))
      }
      return this.#hit(key, stale.value, stale.tier, true, stale.shared, info) as T
    }
    if (joined !== undefined) return this.#miss(joined, key, compute, plan, stale, info)
    const fill = this.#fills.start(key, compute, plan, false, first, stale?.loadMs)
    return this.#miss(fill, key, compute, plan, stale, info, true)
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
      let result = await bounded(fill.join(), key, plan)
      if (
        result === undefined ||
        (!started && this.#settings.strict && !(await this.#confirmed(key, result)))
      ) {
        // A fill of our own: one that started before us may predate the same invalidation.
        result = await bounded(this.#fills.start(key, compute, plan, false).promise, key, plan)
      }
      return this.#store.out(result.value) as T
    } catch (error) {
      if (error instanceof LoaderTimeoutError) this.#metrics.loaderTimeouts++
      if (stale !== undefined && withinStaleIfError(plan, stale.freshUntil)) {
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

  /** Points at the store `initialize()` rebuilt; loads in flight keep being shared. */
  useStore(store: TieredStore): void {
    this.#store = store
    this.#fills.context = this.#newContext()
  }

  /** New settings from `initialize()`; loads in flight keep theirs. */
  useSettings(settings: GetOrComputeSettings): void {
    this.#settings = settings
    this.#fills.context = this.#newContext()
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
      loadTimes: this.#loadTimes,
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
    if (this.#fills.joinable(key, plan.tags) !== undefined) return
    this.#fills.start(key, compute, plan, true).promise.catch((error: unknown) => {
      this.#hooks.error(error as Error, 'refresh', key)
    })
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
    const result = await this.#fills.replace(key, compute, plan).promise
    return { value: result.value, stored: await result.stored }
  }
}

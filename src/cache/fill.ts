import type { LeaseMode } from '../drivers/l2-driver.js'
import type { ResilientCoordination } from '../drivers/resilient-l2.js'
import { unwrapLoaded, withTags } from './call-options.js'
import { copyValue } from './codec.js'
import {
  beginFill,
  FIRST_POLL_MS,
  type FillSettings,
  type FirstStart,
  type LoadTimes,
  MAX_POLL_MS,
  newLeaseToken,
} from './lease.js'
import type { CacheMetrics } from './metrics.js'
import type { Prepared, StorePlan } from './store-types.js'
import type { TieredStore } from './tiered-store.js'

/** What a fill needs of its plan: where and how long to store, and whether to store at all. */
export interface FillPlan extends StorePlan {
  /** See `ComputePlan.storeIf`: a value it refuses is returned to the callers, never stored. */
  storeIf: ((value: unknown) => boolean) | undefined
}

/** What a fill produced. */
export interface FillResult {
  /** The cache's private copy of the value (the value itself when it was not stored). */
  value: unknown
  /** The write stamp of the entry, for strict mode's check of callers who joined the fill. */
  stamp: string
  /**
   * Whether the value became the cached entry (false: fenced, or L2 could not confirm it). Callers
   * get the value before: only strict mode waits for this (then it is settled already).
   */
  stored: Promise<boolean>
  /** The value's tags: the plan's and those the loader added. */
  tags: readonly string[]
}

const STORED = Promise.resolve(true)
const NOT_STORED = Promise.resolve(false)

/** What every fill of one cache shares. */
export interface FillContext {
  readonly store: TieredStore
  readonly metrics: CacheMetrics
  readonly settings: FillSettings
  /** The cache's loader times, for how long a lease holder is worth waiting for. */
  readonly loadTimes: LoadTimes
}

/** How one fill starts. */
export interface FillOptions {
  /** A background refresh (SWR, XFetch): a value stored meanwhile by another instance will do. */
  refresh: boolean
  /**
   * Load and store whatever Redis holds (cache warming): no stored value will do, and no other
   * instance's lease is waited for (the store is fenced all the same).
   */
  replace?: boolean
  /** The fence ticket, when the caller took it before its L2 read (`first`). */
  ticket?: number
  first?: FirstStart
  /**
   * Whether to wait for another instance holding the key's lease. `false` when the holder is a
   * fill of this very process whose value this one cannot take (an invalidation overtook it).
   */
  waitForHolder: boolean
  /** Load time known for this key (a stale entry's), in ms: a longer wait is worth it. */
  keyLoadMs: number
}

/**
 * One fill of one key, from its first L2 round trip to its store: it owns its fence ticket (the
 * in-process fence, `fill-fence.ts`), its lease and its fence point in Redis, and the callers who
 * join it. With a lease (guarantee 8) the instance that takes the key's lease loads, and the
 * others wait for its value (woken early by the bus) no longer than a load of theirs would take,
 * so that waiting never costs more than loading; a crashed holder delays nobody past that.
 *
 * Its value is stored only if nothing invalidated the key or one of its tags since the ticket
 * (here) and since the fence point (in Redis, across instances); either way its callers get it.
 */
export class Fill {
  readonly key: string
  readonly plan: FillPlan
  readonly ticket: number
  readonly promise: Promise<FillResult>
  /** Settles once the value is stored, fenced or refused: the fill's whole life. */
  readonly done: Promise<unknown>
  #loaded: FillResult | undefined
  #finished = false
  readonly #context: FillContext
  readonly #store: TieredStore
  #token: string
  #coordination: ResilientCoordination | undefined
  #lease = false

  constructor(
    context: FillContext,
    key: string,
    compute: () => unknown,
    plan: FillPlan,
    options: FillOptions,
  ) {
    this.#context = context
    this.#store = context.store
    this.key = key
    this.plan = plan
    this.ticket = options.ticket ?? this.#store.fence.acquire()
    this.#token = options.first?.token ?? newLeaseToken()
    // The ticket is held until the value is stored (or not): L1 takes it only if nothing
    // invalidated it meanwhile.
    const release = () => {
      // From now on the fence forgets what happened since the ticket: nobody may take the value.
      this.#finished = true
      this.#store.fence.release(this.ticket)
    }
    this.promise = this.#run(compute, options).then((result) => {
      this.#loaded = result
      return result
    })
    this.done = this.promise.then(
      (result) => result.stored.finally(release),
      release,
    ) as Promise<unknown>
  }

  /** Stored, fenced or refused: a caller arriving now cannot join it. */
  get finished(): boolean {
    return this.#finished
  }

  /** Whether its value is loaded (and being stored): a caller arriving now waits for the store. */
  get loaded(): boolean {
    return this.#loaded !== undefined
  }

  /**
   * The fill's result for a caller arriving now, or `undefined` when it must load again: an
   * invalidation came between the fill's start and this call and touched the key or a tag of the
   * value loaded (known only once it is loaded) (guarantee 1); or the caller comes after the load
   * and Redis refused the value, fenced by another instance's write this one may not have heard
   * of yet (guarantee 2): a value is handed to callers who came after its load only once stored.
   */
  join(): Promise<FillResult | undefined> {
    const fence = this.#store.fence
    const arrival = fence.now
    const loaded = this.#loaded
    if (loaded === undefined && arrival === this.ticket) return this.promise
    // Held until the check below: the fence keeps what happened since the ticket.
    fence.hold(this.ticket)
    const check = (result: FillResult, stored = true) => {
      const fresh = stored && fence.canStore(this.ticket, this.key, result.tags, arrival)
      fence.release(this.ticket)
      return fresh ? result : undefined
    }
    if (loaded !== undefined) return loaded.stored.then((stored) => check(loaded, stored))
    return this.promise.then(check, (error: unknown) => {
      fence.release(this.ticket)
      throw error
    })
  }

  async #run(compute: () => unknown, options: FillOptions): Promise<FillResult> {
    const store = this.#store
    const coordination = store.l2?.available ? store.l2.coordination : undefined
    if (coordination === undefined) return this.#load(compute, undefined)
    this.#coordination = coordination
    const { settings } = this.#context
    const wantLease = settings.leaseMs > 0
    const mode: LeaseMode = wantLease ? 'always' : 'never'
    const waitUntil =
      Date.now() + this.#context.loadTimes.holderWaitMs(options.keyLoadMs, settings.leaseMs)
    let start = options.first?.start
    let pollMs = FIRST_POLL_MS
    for (;;) {
      start ??= await beginFill(coordination, this.key, settings.leaseMs, this.#token, mode)
      if (start === undefined) {
        // The request timed out but may still run (Redis paused): a lease taken then would block
        // other instances for a whole lease. The release queues behind it on the connection.
        if (wantLease) void coordination.releaseLease(this.key, this.#token)
        return this.#load(compute, undefined)
      }
      this.#lease = start.lease
      if (start.value !== undefined && !options.replace && !(options.refresh && start.lease)) {
        // A fresh value is there: a miss takes it; a refresh (SWR, XFetch) takes it only when it
        // did not get the lease, i.e. another instance is refreshing or just refreshed.
        const stored = store.acceptStored(this.key, start.value, this.ticket)
        if (stored !== undefined) {
          this.#giveBack(false)
          return { ...stored, stored: STORED }
        }
      }
      if (
        start.lease ||
        !wantLease ||
        !options.waitForHolder ||
        options.replace === true ||
        Date.now() >= waitUntil
      ) {
        return this.#load(compute, start.since)
      }
      await settings.waitForAnnounce(this.key, Math.min(pollMs, waitUntil - Date.now()))
      pollMs = Math.min(pollMs * 2, MAX_POLL_MS)
      start = undefined
    }
  }

  /**
   * Runs the loader and stores its value: fenced in this process by the ticket, and in Redis by
   * the fence point `since` when there is one (`undefined`: no coordination, L2 alone).
   */
  async #load(compute: () => unknown, since: string | undefined): Promise<FillResult> {
    const { metrics, settings } = this.#context
    const store = this.#store
    metrics.loaderCalls++
    const started = performance.now()
    let result: ReturnType<typeof unwrapLoaded>
    try {
      result = unwrapLoaded(await compute())
    } catch (error) {
      metrics.loaderErrors++
      this.#giveBack(true)
      throw error
    }
    const loadMs = performance.now() - started
    this.#context.loadTimes.record(loadMs)
    const { value } = result
    const plan = withTags(this.plan, result.tags)
    if (plan.storeIf !== undefined && !plan.storeIf(value)) {
      this.#giveBack(true)
      return { value, stamp: '', stored: NOT_STORED, tags: plan.tags }
    }
    const fresh = () => store.fence.canStore(this.ticket, this.key, plan.tags)
    if (!fresh() || (since !== undefined && loadMs > settings.fenceWindowMs)) {
      // Fenced: the callers get the value (checked, each a copy), nothing keeps it or encodes it.
      metrics.fencedFills++
      this.#giveBack(true)
      return { value: copyValue(value), stamp: '', stored: NOT_STORED, tags: plan.tags }
    }
    const prepared = store.prepare(value, plan, loadMs)
    const out = { value: prepared.copy, stamp: prepared.stamp, tags: plan.tags }
    if (result.localOnly) {
      // Kept here only: the lease goes back, and other instances load for themselves.
      this.#giveBack(true)
      store.writeLocal(this.key, prepared)
      return { ...out, stored: NOT_STORED }
    }
    if (since === undefined) {
      // No fence point from Redis (a driver without coordination, the breaker was open, the first
      // round trip timed out): stored there, the value could outlive a write another instance
      // made during the load, until its TTL. Only this process's fence covers it: L1 only,
      // which is the entry itself when there is no L2.
      this.#giveBack(true)
      store.writeLocal(this.key, prepared)
      return { ...out, stored: store.l2 === undefined ? STORED : NOT_STORED }
    }
    // Callers get the value at once; strict mode waits for Redis (its callers who joined check the
    // stamp there). L1 takes the value only once Redis stored it: another instance's write may
    // fence it there, and nobody may be served what a fenced fill read (guarantee 2).
    const stored = this.#storeRemote(prepared, since, fresh)
    if (settings.strict) await stored
    return { ...out, stored }
  }

  /**
   * Stores the value in Redis, fenced by `since`, gives the lease back, and keeps the value in L1
   * when Redis stored it and no invalidation ran here meanwhile (`fresh`).
   */
  async #storeRemote(prepared: Prepared, since: string, fresh: () => boolean): Promise<boolean> {
    const { metrics, settings } = this.#context
    const store = this.#store
    const { plan } = prepared
    const stored = await this.#coordination!.storeFill(
      this.key,
      prepared.bytes!,
      plan.ttlMs + plan.staleMs,
      plan.tags,
      since,
      this.#token,
    )
    // The store script gave the lease back, stored or fenced.
    if (stored !== undefined) this.#lease = false
    if (stored === 'fenced' || !fresh()) {
      metrics.fencedFills++
      this.#giveBack(true)
      return false
    }
    // `undefined`: L2 failed (and will drop the key on recovery): the value stays local.
    store.writeLocal(this.key, prepared)
    if (stored === undefined) {
      this.#giveBack(true)
      return false
    }
    // Only when fills of other instances wait for it: otherwise nobody needs the notice.
    if (stored === 'awaited') settings.announce(this.key)
    else settings.released(this.key)
    return true
  }

  /** Gives the lease back when held; `wake`: this instance's waiters poll again now. */
  #giveBack(wake: boolean): void {
    if (this.#lease) void this.#coordination?.releaseLease(this.key, this.#token)
    this.#lease = false
    if (wake) this.#context.settings.released(this.key)
  }
}

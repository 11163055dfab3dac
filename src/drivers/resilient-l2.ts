import type { BusNotice } from './bus.js'
import type { BreakerState } from './circuit-breaker.js'
import {
  type CallSpec,
  type CallTracker,
  DRIVER_VALUE,
  FAILED,
  MANY,
  READ,
  WRITE,
} from './l2-calls.js'
import {
  type L2Coordination,
  type L2Driver,
  type L2WriteItem,
  publishesNotices,
} from './l2-driver.js'
import { L2Guard } from './l2-guard.js'
import { CLEAR, type Invalidation } from './pending-invalidations.js'
import type { RecentChanges } from './recent-changes.js'
import type {
  ResilientL2Counters,
  ResilientL2Hooks,
  ResilientL2Options,
} from './resilient-l2-options.js'

export type { ResilientL2Counters, ResilientL2Hooks, ResilientL2Options }

const GET: CallSpec = { op: 'get', kind: READ, ok: DRIVER_VALUE, fallback: undefined }
const GET_MANY: CallSpec = { op: 'getMany', kind: READ, ok: DRIVER_VALUE, fallback: MANY }
const GET_SET: CallSpec = { op: 'getSet', kind: READ, ok: DRIVER_VALUE, fallback: undefined }
const INCREMENT: CallSpec = { op: 'increment', kind: READ, ok: DRIVER_VALUE, fallback: undefined }
const ADD_TO_SET: CallSpec = { op: 'addToSet', kind: READ, ok: DRIVER_VALUE, fallback: undefined }
const SCAN_KEYS: CallSpec = { op: 'scanKeys', kind: READ, ok: DRIVER_VALUE, fallback: FAILED }
const PING: CallSpec = { op: 'ping', kind: READ, ok: true, fallback: false }
const SET: CallSpec = { op: 'set', kind: WRITE, ok: true, fallback: false }
const SET_MANY: CallSpec = { op: 'setMany', kind: WRITE, ok: true, fallback: false }

const RESOLVED_UNDEFINED: Promise<undefined> = Promise.resolve(undefined)
const RESOLVED_ZERO: Promise<number> = Promise.resolve(0)

/**
 * Wraps an {@link L2Driver} so that L2 can never fail or slow down a request (guarantee 5): every
 * call is bounded by `commandTimeoutMs` and never rejects, resolving to its fallback (a miss,
 * `false`, 0, `undefined`) when L2 fails, times out or is degraded; nothing stale survives an
 * outage. This file is the operations; what a failure means, the breaker, the probe and the
 * queue of what L2 missed are the {@link L2Guard} it holds (`l2-guard.ts`).
 *
 * @example
 * ```ts
 * const l2 = new ResilientL2(new RedisDriver({ url, prefix: 'app:' }), { commandTimeoutMs: 100 }, {
 *   onDegraded: (reason) => log.warn({ reason }, 'redis degraded'),
 * })
 * const bytes = await l2.get('user:1') // undefined on a miss *or* when Redis is down
 * ```
 */
export class ResilientL2 {
  /** The driver it wraps. */
  readonly driver: L2Driver
  /** Bound on each call, ms (`commandTimeout`). */
  readonly commandTimeoutMs: number
  /** Bound on each SCAN-based call (`deleteByPattern`, `clear`, a `scanKeys` step), ms. */
  readonly scanTimeoutMs: number
  /** Most invalidations kept for replay while L2 is away; past it, one clear is kept instead. */
  readonly maxPendingInvalidations: number
  /** How long `close()` tries to deliver the invalidations L2 missed: 4 command timeouts, ≥ 1 s. */
  readonly closeTimeoutMs: number
  /** What happened to calls so far (live: read it any time). */
  readonly counters: ResilientL2Counters
  /**
   * Cross-instance fencing, leases and stamps, bounded and never rejecting like every other call;
   * `undefined` when the driver offers none (then each instance fences only itself).
   */
  readonly coordination: ResilientCoordination | undefined
  readonly #guard: L2Guard
  readonly #calls: CallTracker
  readonly #recent: RecentChanges | undefined

  constructor(driver: L2Driver, options: ResilientL2Options = {}, hooks: ResilientL2Hooks = {}) {
    const guard = new L2Guard(driver, options, hooks)
    this.#guard = guard
    this.#calls = guard.calls
    this.#recent = guard.recent
    this.driver = guard.driver
    this.commandTimeoutMs = guard.commandTimeoutMs
    this.scanTimeoutMs = guard.scanTimeoutMs
    this.maxPendingInvalidations = guard.maxPendingInvalidations
    this.closeTimeoutMs = guard.closeTimeoutMs
    this.counters = guard.counters
    const { coordination } = driver
    this.coordination =
      coordination &&
      resilientCoordination(coordination, (spec, key, start) => this.#call(spec, key, start))
  }

  /** `true` while L2 is in use; `false` while degraded (circuit open or replaying) or closed. */
  get available(): boolean {
    return this.#guard.available
  }

  /** The circuit breaker's state. */
  get state(): BreakerState {
    return this.#guard.state
  }

  /** Invalidations waiting for L2 to come back (keys + tags + patterns, +1 for a pending clear). */
  get pendingInvalidations(): number {
    return this.#guard.pendingInvalidations
  }

  /** Whether writes and invalidations are kept to redo after a server change (a Cluster). */
  get recordsRecentChanges(): boolean {
    return this.#recent !== undefined
  }

  /**
   * Stops the probe, makes a last attempt at what L2 missed for up to {@link closeTimeoutMs}
   * (what is left is reported: other instances may read what it was to remove until it expires),
   * then closes the driver (bounded, at least 1 s). Later calls resolve to fallbacks.
   */
  close(): Promise<void> {
    return this.#guard.close()
  }

  /** Whether `deleteByTags` publishes its notice with it (see `NoticePublishingDriver`). */
  get publishesNotices(): boolean {
    return publishesNotices(this.driver)
  }

  /** Whether calls apply in the order they are made (the driver's `ordered`). */
  get ordered(): boolean {
    return this.driver.ordered === true
  }

  /** The bytes at `key`; `undefined` on a miss, a failure, a timeout or while degraded. */
  get(key: string): Promise<Buffer | undefined> {
    if (!this.available) return this.#guard.skip(RESOLVED_UNDEFINED)
    let p: Promise<Buffer | undefined>
    try {
      p = this.driver.get(key)
    } catch (error) {
      return this.#calls.thrown(GET, key, error)
    }
    return this.#calls.track(GET, p, key)
  }

  /** Aligned with `keys`; all `undefined` on a failure, a timeout or while degraded. */
  getMany(keys: readonly string[]): Promise<(Buffer | undefined)[]> {
    if (!this.available)
      return this.#guard.skip(Promise.resolve(new Array(keys.length).fill(undefined)))
    let p: Promise<(Buffer | undefined)[]>
    try {
      p = this.driver.getMany(keys)
    } catch (error) {
      return this.#calls.thrown(GET_MANY, keys.length, error)
    }
    return this.#calls.track(GET_MANY, p, keys.length)
  }

  /**
   * Batches of the keys matching the glob `pattern` (`L2Driver.scanKeys`), each step a bounded
   * read; `undefined` when L2 cannot list now. A failed step, or L2 leaving use, ends it early.
   */
  scanKeys(pattern: string): AsyncGenerator<string[], void, undefined> | undefined {
    const { driver } = this
    if (!this.available || typeof driver.scanKeys !== 'function') return undefined
    return this.#calls.steps(SCAN_KEYS, () => driver.scanKeys!(pattern), this.#inUse)
  }

  /** Members of a native set; `undefined` (not `[]`) when L2 could not answer. */
  getSet(key: string): Promise<string[] | undefined> {
    return this.#call(GET_SET, undefined, () => this.driver.getSet(key))
  }

  /** The counter's new value; `undefined` when L2 could not answer (fall back to memory). */
  increment(key: string, by: number, ttlMs: number): Promise<number | undefined> {
    return this.#call(INCREMENT, undefined, () => this.driver.increment(key, by, ttlMs))
  }

  /** Members added; `undefined` when L2 could not answer (fall back to memory). */
  addToSet(key: string, members: readonly string[], ttlMs: number): Promise<number | undefined> {
    return this.#call(ADD_TO_SET, undefined, () => this.driver.addToSet(key, members, ttlMs))
  }

  /** A round trip through the breaker: `true` when L2 answered. `false` while degraded. */
  ping(): Promise<boolean> {
    return this.#call(PING, undefined, () => this.driver.ping())
  }

  /** `true` when stored; `false` when not: a delete of `key` is then queued (see the class). */
  set(key: string, value: Buffer, ttlMs: number, tags: readonly string[]): Promise<boolean> {
    this.#recent?.record({ kind: 'keys', keys: [key] })
    if (!this.available)
      return this.#guard.settled(this.#guard.invalidate({ kind: 'keys', keys: [key] }, true))
    let p: Promise<void>
    try {
      p = this.driver.set(key, value, ttlMs, tags)
    } catch (error) {
      return this.#guard.settled(this.#calls.thrown(SET, key, error))
    }
    return this.#guard.settled(this.#calls.track(SET, p, key))
  }

  /** `true` when all stored; `false` when not (as for {@link set}, for every key). */
  setMany(items: readonly L2WriteItem[]): Promise<boolean> {
    if (items.length === 0) return Promise.resolve(true)
    if (this.#recent !== undefined || !this.available) {
      const keys: Invalidation = { kind: 'keys', keys: items.map((item) => item.key) }
      this.#recent?.record(keys)
      if (!this.available) return this.#guard.settled(this.#guard.invalidate(keys, true))
    }
    let p: Promise<void>
    try {
      p = this.driver.setMany(items)
    } catch (error) {
      return this.#guard.settled(this.#calls.thrown(SET_MANY, items, error))
    }
    return this.#guard.settled(this.#calls.track(SET_MANY, p, items))
  }

  /** Keys removed from L2; 0 when not applied now (then queued and replayed on recovery). */
  delete(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return RESOLVED_ZERO
    return this.#send({ kind: 'keys', keys })
  }

  /**
   * Entries removed; 0 when not applied now (then queued, and replayed without `notice`, which is
   * lost: the other instances notice its gap, see `InvalidationBus.prepareNotice`).
   */
  deleteByTags(tags: readonly string[], notice?: BusNotice): Promise<number> {
    if (tags.length === 0) return RESOLVED_ZERO
    return this.#send({ kind: 'tags', tags, notice })
  }

  /** Entries removed; 0 when not applied now (then queued). Bounded by `scanTimeoutMs` (a SCAN). */
  deleteByPattern(pattern: string | RegExp): Promise<number> {
    return this.#send({ kind: 'pattern', pattern })
  }

  /** `true` when L2 was cleared now; `false` when queued for replay. Bounded by `scanTimeoutMs`. */
  clear(): Promise<boolean> {
    return this.#send(CLEAR)
  }

  /** Sends an invalidation, remembered as a recent change (without its notice, sent once). */
  #send<T>(inv: Invalidation): Promise<T> {
    this.#recent?.record(inv.kind === 'tags' ? { kind: 'tags', tags: inv.tags } : inv)
    return this.#guard.settled(this.#guard.invalidate(inv, false))
  }

  /** One call of `spec`, skipped while L2 is not in use (the hot path spells this out instead). */
  #call<T>(spec: CallSpec, payload: unknown, start: () => Promise<unknown>): Promise<T> {
    if (!this.available) return this.#guard.skip(Promise.resolve(spec.fallback as T))
    let p: Promise<unknown>
    try {
      p = start()
    } catch (error) {
      return this.#calls.thrown(spec, payload, error)
    }
    return this.#calls.track(spec, p, payload)
  }

  /** Whether L2 is in use now, for a listing to stop when it leaves use. */
  readonly #inUse = (): boolean => this.available
}

/**
 * {@link L2Coordination} behind the same timeouts and breaker: every method is there and resolves,
 * with `undefined` when L2 could not answer (the caller then works alone, as without Redis).
 */
export type ResilientCoordination = {
  readonly [M in keyof L2Coordination]-?: (
    ...args: Parameters<NonNullable<L2Coordination[M]>>
  ) => Promise<Awaited<ReturnType<NonNullable<L2Coordination[M]>>> | undefined>
}

/**
 * One driver call through a `ResilientL2`: skipped while L2 is not in use, else bounded in time;
 * resolves to the driver's value, or `undefined` when skipped or failed. `payload` is the key a
 * failed write queues a delete of.
 */
type GuardedCall = <T>(
  spec: CallSpec,
  payload: string | undefined,
  start: () => Promise<T>,
) => Promise<T | undefined>

const read = (op: string): CallSpec => ({ op, kind: READ, ok: DRIVER_VALUE, fallback: undefined })
const BEGIN_FILL = read('beginFill')
const GET_STAMP = read('getStamp')
const SERVER_TIME = read('serverTime')
const STORE_FILL: CallSpec = { op: 'storeFill', kind: WRITE, ok: DRIVER_VALUE, fallback: undefined }

/**
 * Wraps a driver's coordination in a `ResilientL2`'s `call`: `beginFill` and `getStamp` are reads,
 * `storeFill` is a write (a failure queues a delete of the key), and `releaseLease` bypasses the
 * breaker.
 */
export function resilientCoordination(c: L2Coordination, call: GuardedCall): ResilientCoordination {
  return {
    beginFill: (key, leaseMs, token, lease) =>
      call(BEGIN_FILL, undefined, () => c.beginFill(key, leaseMs, token, lease)),
    // A store that fails may or may not have landed: remembered as a delete of the key.
    storeFill: (key, value, ttlMs, tags, since, token) =>
      call(STORE_FILL, key, () => c.storeFill(key, value, ttlMs, tags, since, token)),
    // Sent even while the breaker is open, and not counted: a lease left behind by a request
    // that timed out (but ran) would block other instances' fills for a whole lease. On the
    // same connection it runs after that request. Failures are harmless: the lease expires.
    releaseLease: async (key, token) => {
      try {
        await c.releaseLease(key, token)
      } catch {
        // expires by itself
      }
    },
    getStamp: (key) => call(GET_STAMP, undefined, () => c.getStamp(key)),
    serverTime: () =>
      c.serverTime === undefined
        ? Promise.resolve(undefined)
        : call(SERVER_TIME, undefined, () => c.serverTime!()),
  }
}

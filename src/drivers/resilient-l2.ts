import { ErrorCodes, invalid, L2Error } from '../errors.js'
import type { BusNotice } from './bus.js'
import type { BreakerState } from './circuit-breaker.js'
import { retryFor } from './deadline-clock.js'
import {
  CATCH_UP,
  CallTracker,
  DRIVER_VALUE,
  FAILED,
  INVALID,
  INVALIDATE,
  MANY,
  PROBE,
  READ,
  WRITE,
} from './l2-calls.js'
import {
  type L2Driver,
  type L2WriteItem,
  type NoticePublishingDriver,
  publishesNotices,
} from './l2-driver.js'
import {
  L2Health,
  type ResilientL2Counters,
  type ResilientL2Hooks,
  type ResilientL2Options,
  resolveResilientOptions,
} from './l2-health.js'
import {
  applyInvalidation,
  CLEAR,
  INVALIDATION_OP,
  type Invalidation,
  PendingInvalidations,
  RecentChanges,
  scansKeyspace,
} from './pending-invalidations.js'
import { type ResilientCoordination, resilientCoordination } from './resilient-coordination.js'

export type { ResilientCoordination, ResilientL2Counters, ResilientL2Hooks, ResilientL2Options }

const RESOLVED_UNDEFINED: Promise<undefined> = Promise.resolve(undefined)
const RESOLVED_FALSE: Promise<boolean> = Promise.resolve(false)
const RESOLVED_ZERO: Promise<number> = Promise.resolve(0)
/** Pause between `close()`'s attempts at the invalidations L2 missed. */
const CLOSE_RETRY_MS = 50
/** Pause between a strict write's probes of an L2 that did not take it. */
const SETTLE_RETRY_MS = 20

/**
 * Wraps an {@link L2Driver} so that L2 can never fail or slow down a request (guarantee 5).
 *
 * - Every call is bounded by `commandTimeoutMs` and never rejects: reads resolve to a fallback
 *   (`undefined`, an array of `undefined`), writes to whether they applied, invalidations to the
 *   count removed (0 when not applied), and `increment` / `addToSet` / `getSet` to `undefined`
 *   when L2 could not answer, so the caller can fall back to memory. (Timing: {@link CallTracker}.)
 * - A circuit breaker opens after `failureThreshold` consecutive failures; while it is open calls
 *   are not sent at all, and a background probe (`driver.ping`) runs every open period, so that
 *   recovery happens without traffic ({@link L2Health}).
 * - Nothing stale survives an outage. An invalidation that fails or is skipped is remembered and
 *   replayed before L2 is used again; so is a write that did not apply (as a delete of its keys),
 *   because L2 may still hold the previous value ({@link PendingInvalidations}). Since either may
 *   have left L2 out of date, a failed write or invalidation opens the circuit at once, without
 *   waiting for the threshold. Once the probe's ping is answered, invalidations (and writes, as
 *   deletes of their keys) are sent at once instead of queued, while the backlog is replayed: the
 *   queue then only shrinks, so the replay ends however busy the application is
 *   ({@link L2Health.catchingUp}).
 * - The driver's `coordination` is wrapped the same way ({@link resilientCoordination}).
 *
 * @example
 * ```ts
 * const l2 = new ResilientL2(new RedisDriver({ url, prefix: 'app:' }), { commandTimeoutMs: 100 }, {
 *   onDegraded: (reason) => log.warn({ reason }, 'redis degraded'),
 *   onRecovered: () => log.info('redis recovered'),
 * })
 * const bytes = await l2.get('user:1') // undefined on a miss *or* when Redis is down
 * ```
 */
export class ResilientL2 {
  readonly driver: L2Driver
  readonly commandTimeoutMs: number
  readonly scanTimeoutMs: number
  readonly maxPendingInvalidations: number
  readonly counters: ResilientL2Counters = {
    errors: 0,
    timeouts: 0,
    skipped: 0,
    replayed: 0,
    collapsed: 0,
  }
  /**
   * Cross-instance fencing, leases and stamps, bounded and never rejecting like every other call;
   * `undefined` when the driver offers none (then each instance fences only itself).
   */
  readonly coordination: ResilientCoordination | undefined
  /** How long `close()` tries to deliver the invalidations L2 missed: 4 command timeouts, ≥ 1 s. */
  readonly closeTimeoutMs: number
  readonly #settleMs: number
  readonly #health: L2Health
  readonly #calls: CallTracker
  readonly #pending: PendingInvalidations
  /** What to redo if the driver reports a server change as `'recent'` (a Cluster master replaced). */
  readonly #recent = new RecentChanges()
  readonly #unwatch: () => void
  #closed = false

  constructor(driver: L2Driver, options: ResilientL2Options = {}, hooks: ResilientL2Hooks = {}) {
    if (typeof driver !== 'object' || driver === null || typeof driver.get !== 'function') {
      throw invalid('driver', 'must implement L2Driver')
    }
    this.driver = driver
    const resolved = resolveResilientOptions(options)
    this.commandTimeoutMs = resolved.commandTimeoutMs
    this.scanTimeoutMs = resolved.scanTimeoutMs
    this.maxPendingInvalidations = resolved.maxPendingInvalidations
    this.closeTimeoutMs = Math.max(1000, 4 * this.commandTimeoutMs)
    this.#settleMs = resolved.settleMs
    const { counters } = this
    const pending = new PendingInvalidations({
      driver,
      max: this.maxPendingInvalidations,
      scanTimeoutMs: this.scanTimeoutMs,
      counters,
      onReplayed: hooks.onReplayed?.bind(hooks),
    })
    this.#pending = pending
    // The probe replays through the call tracker, which needs the breaker, which the health owns.
    const health = new L2Health({
      breaker: resolved.breaker,
      hooks,
      counters,
      pending,
      ping: this.#ping,
      replay: () => pending.replay(this.#calls),
    })
    this.#health = health
    this.#calls = new CallTracker(
      this.commandTimeoutMs,
      health.breaker,
      health.failed,
      hooks.timing,
    )
    this.coordination =
      driver.coordination === undefined
        ? undefined
        : resilientCoordination(driver.coordination, (op, kind, payload, start) =>
            this.#call(op, kind, payload, start),
          )
    this.#unwatch =
      driver.watchServer?.((reason, lost) =>
        health.redo(reason, lost === 'any' ? [CLEAR] : this.#recent.redo()),
      ) ?? (() => {})
  }

  /** `true` while L2 is in use; `false` while degraded (circuit open or replaying) or closed. */
  get available(): boolean {
    return this.#health.accepting
  }

  /** The circuit breaker's state. */
  get state(): BreakerState {
    return this.#health.breaker.state
  }

  /** Invalidations waiting for L2 to come back (keys + tags + patterns, +1 for a pending clear). */
  get pendingInvalidations(): number {
    return this.#pending.size
  }

  // ---------------------------------------------------------------------------------- reads

  /** The bytes at `key`; `undefined` on a miss, a failure, a timeout or while degraded. */
  get(key: string): Promise<Buffer | undefined> {
    if (!this.#health.accepting) return this.#skip(RESOLVED_UNDEFINED)
    let p: Promise<Buffer | undefined>
    try {
      p = this.driver.get(key)
    } catch (error) {
      return this.#calls.thrown('get', READ, undefined, undefined, error)
    }
    return this.#calls.track(p, 'get', READ, DRIVER_VALUE, undefined, undefined)
  }

  /** Aligned with `keys`; all `undefined` on a failure, a timeout or while degraded. */
  getMany(keys: readonly string[]): Promise<(Buffer | undefined)[]> {
    if (!this.#health.accepting)
      return this.#skip(Promise.resolve(new Array(keys.length).fill(undefined)))
    let p: Promise<(Buffer | undefined)[]>
    try {
      p = this.driver.getMany(keys)
    } catch (error) {
      return this.#calls.thrown('getMany', READ, MANY, keys.length, error)
    }
    return this.#calls.track(p, 'getMany', READ, DRIVER_VALUE, MANY, keys.length)
  }

  /**
   * Batches of the keys (without prefix) of L2's entries matching the glob `pattern`
   * (`L2Driver.scanKeys`), each step bounded by `commandTimeoutMs` and counted by the breaker like
   * a read; `undefined` when L2 cannot list now (degraded, closed, or a driver without
   * `scanKeys`). A step that fails, times out, or comes while L2 is degraded ends the listing
   * early, the failure reported like any failed read. Never rejects.
   */
  scanKeys(pattern: string): AsyncGenerator<string[], void, undefined> | undefined {
    const { driver } = this
    if (!this.#health.accepting || typeof driver.scanKeys !== 'function') return undefined
    return this.#calls.steps('scanKeys', () => driver.scanKeys!(pattern), this.#accepting)
  }

  /** Members of a native set; `undefined` (not `[]`) when L2 could not answer. */
  getSet(key: string): Promise<string[] | undefined> {
    return this.#call('getSet', READ, undefined, () => this.driver.getSet(key))
  }

  /** The counter's new value; `undefined` when L2 could not answer (fall back to memory). */
  increment(key: string, by: number, ttlMs: number): Promise<number | undefined> {
    return this.#call('increment', READ, undefined, () => this.driver.increment(key, by, ttlMs))
  }

  /** Members added; `undefined` when L2 could not answer (fall back to memory). */
  addToSet(key: string, members: readonly string[], ttlMs: number): Promise<number | undefined> {
    return this.#call('addToSet', READ, undefined, () => this.driver.addToSet(key, members, ttlMs))
  }

  /** A round trip through the breaker: `true` when L2 answered. `false` while degraded. */
  ping(): Promise<boolean> {
    return this.#call('ping', READ, undefined, () => this.driver.ping(), true, false)
  }

  // ---------------------------------------------------------------------------------- writes

  /**
   * `true` when stored. `false` when not: then a delete of `key` is queued (L2 may still hold an
   * older value) and the circuit opens until it is replayed (or sent at once, see
   * {@link L2Health.catchingUp}).
   */
  set(key: string, value: Buffer, ttlMs: number, tags: readonly string[]): Promise<boolean> {
    this.#recent.record({ kind: 'keys', keys: [key] })
    if (!this.#health.accepting) {
      return this.#settled(
        this.#invalidate({ kind: 'keys', keys: [key] }, false, false, RESOLVED_FALSE),
      )
    }
    let p: Promise<void>
    try {
      p = this.driver.set(key, value, ttlMs, tags)
    } catch (error) {
      return this.#settled(this.#calls.thrown('set', WRITE, false, key, error))
    }
    return this.#settled(this.#calls.track(p, 'set', WRITE, true, false, key))
  }

  /** `true` when all stored; `false` when not (as for {@link set}, for every key). */
  setMany(items: readonly L2WriteItem[]): Promise<boolean> {
    if (items.length === 0) return Promise.resolve(true)
    this.#recent.record({ kind: 'keys', keys: items.map((item) => item.key) })
    if (!this.#health.accepting) {
      const keys = items.map((item) => item.key)
      return this.#settled(this.#invalidate({ kind: 'keys', keys }, false, false, RESOLVED_FALSE))
    }
    let p: Promise<void>
    try {
      p = this.driver.setMany(items)
    } catch (error) {
      return this.#settled(this.#calls.thrown('setMany', WRITE, false, items, error))
    }
    return this.#settled(this.#calls.track(p, 'setMany', WRITE, true, false, items))
  }

  // ---------------------------------------------------------------------------------- invalidations

  /** Keys removed from L2; 0 when not applied now (then queued and replayed on recovery). */
  delete(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return RESOLVED_ZERO
    return this.#send({ kind: 'keys', keys }, DRIVER_VALUE, 0, RESOLVED_ZERO)
  }

  /**
   * Entries removed from L2; 0 when not applied now (then queued and replayed on recovery,
   * without `notice`, which is then lost: the other instances notice its gap, see
   * `InvalidationBus.prepareNotice`).
   */
  deleteByTags(tags: readonly string[], notice?: BusNotice): Promise<number> {
    if (tags.length === 0) return RESOLVED_ZERO
    return this.#send({ kind: 'tags', tags, notice }, DRIVER_VALUE, 0, RESOLVED_ZERO)
  }

  /** Whether `deleteByTags` publishes its notice with it (see {@link NoticePublishingDriver}). */
  get publishesNotices(): boolean {
    return publishesNotices(this.driver)
  }

  /**
   * Whether calls apply in the order they are made (the driver's `ordered`): an invalidation is
   * then seen by every later read, sent at once or queued for replay before L2 is used again.
   */
  get ordered(): boolean {
    return this.driver.ordered === true
  }

  /**
   * Entries removed from L2; 0 when not applied now (then queued and replayed on recovery).
   * Bounded by `scanTimeoutMs`, not `commandTimeoutMs`: it SCANs the whole keyspace.
   */
  deleteByPattern(pattern: string | RegExp): Promise<number> {
    return this.#send({ kind: 'pattern', pattern }, DRIVER_VALUE, 0, RESOLVED_ZERO)
  }

  /**
   * `true` when L2 was cleared now; `false` when queued for replay on recovery. Bounded by
   * `scanTimeoutMs`.
   */
  clear(): Promise<boolean> {
    return this.#send(CLEAR, true, false, RESOLVED_FALSE)
  }

  /** Sends an invalidation, remembered as a recent change. */
  #send<T>(
    inv: Invalidation,
    success: unknown,
    fallback: unknown,
    skipped: Promise<T>,
  ): Promise<T> {
    // Redone without its bus notice: a notice is numbered, and sent once.
    this.#recent.record(inv.kind === 'tags' ? { kind: 'tags', tags: inv.tags } : inv)
    return this.#settled(this.#invalidate(inv, success, fallback, skipped))
  }

  /**
   * Sends an invalidation: resolves to `success` (or the driver's value), `fallback` on failure
   * (then it is queued, see `L2Health.failed`). While L2 is not in use, queues it for replay
   * instead and returns `skipped`, unless the replay is under way: then it is sent at once
   * (see {@link L2Health.catchingUp}). Patterns and clears are bounded by `scanTimeoutMs`.
   */
  #invalidate<T>(
    inv: Invalidation,
    success: unknown,
    fallback: unknown,
    skipped: Promise<T>,
  ): Promise<T> {
    let kind = INVALIDATE
    if (!this.#health.accepting) {
      if (!this.#health.catchingUp) {
        this.#pending.add(inv)
        return this.#skip(skipped)
      }
      kind = CATCH_UP
    }
    const op = INVALIDATION_OP[inv.kind]
    let p: Promise<unknown>
    try {
      p = applyInvalidation(this.driver, inv)
    } catch (error) {
      return this.#calls.thrown(op, kind, fallback, inv, error)
    }
    const timeoutMs = scansKeyspace(inv) ? this.scanTimeoutMs : undefined
    return this.#calls.track(p, op, kind, success, fallback, inv, timeoutMs)
  }

  /**
   * `result`, once L2 took the write or invalidation: with `settleMs`, one it did not take (queued
   * for replay) waits up to that long for L2 to come back with it replayed, probing at once.
   */
  #settled<T>(result: Promise<T>): Promise<T> {
    if (this.#settleMs === 0) return result
    return result.then(async (value) => {
      // Each write of a long outage waits the whole bound: one that begins near its end then
      // returns only once Redis took its invalidation (not waiting after a first wait ran out
      // showed stale reads in strict mode, in the fault suite's 1 s cut).
      const settled = await retryFor(
        this.#settleMs,
        SETTLE_RETRY_MS,
        async () => this.#closed || (await this.#health.probeNow()),
      )
      if (settled) return value
      // Resolved anyway (the write itself is done): said, since other instances may serve what
      // it replaced from Redis until the invalidation is replayed.
      this.#report(
        'settle',
        `Redis did not take an invalidation within ${this.#settleMs} ms; it stays queued, and ` +
          'other instances may read the value it removes until Redis is back',
      )
      return value
    })
  }

  /**
   * Stops the probe, forgets pending invalidations and closes the driver (bounded by
   * `commandTimeoutMs`, at least 1 s). Later calls resolve to their fallbacks. Never rejects.
   */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#unwatch()
    this.#health.close()
    await this.#deliverPending()
    this.#pending.close()
    let p: Promise<void>
    try {
      p = this.driver.close()
    } catch {
      return
    }
    const timeoutMs = Math.max(1000, this.commandTimeoutMs)
    await this.#calls.track(p, 'close', PROBE, true, FAILED, undefined, timeoutMs)
  }

  // ---------------------------------------------------------------------------------- internals

  /**
   * Invalidations L2 missed live only in this process: a last attempt at them, bounded by
   * {@link closeTimeoutMs}; what is left is reported (`onError`, counted in `errors`), since
   * every instance may read the values they were to remove from Redis until their TTL.
   */
  async #deliverPending(): Promise<void> {
    if (this.#pending.size === 0) return
    // Attempts until the bound: the connection may be reconnecting (a failed call fails at once).
    const delivered = await retryFor(this.closeTimeoutMs, CLOSE_RETRY_MS, () =>
      this.#pending.replay(this.#calls),
    )
    const left = this.#pending.size
    if (delivered || left === 0) return
    this.#report(
      'close',
      `closed with ${left} invalidation(s) that never reached Redis: other instances may read ` +
        'the values they were to remove until those expire',
    )
  }

  /** Counts and reports (`onError`) an invalidation that Redis did not take in time. */
  #report(operation: string, message: string): void {
    this.#health.report(new L2Error(ErrorCodes.L2_UNAVAILABLE, operation, message))
  }

  #skip<T>(result: Promise<T>): Promise<T> {
    this.counters.skipped++
    return result
  }

  /**
   * One driver call: skipped while L2 is not in use, else bounded and never rejecting (see
   * {@link CallTracker.track}). `get`, `getMany`, `set` and `setMany`, the hot path, spell this
   * out rather than allocate the closure `start`.
   */
  #call<T>(
    op: string,
    kind: number,
    payload: unknown,
    start: () => Promise<unknown>,
    success: unknown = DRIVER_VALUE,
    fallback: unknown = undefined,
  ): Promise<T> {
    if (!this.#health.accepting) return this.#skip(Promise.resolve(fallback as T))
    let p: Promise<unknown>
    try {
      p = start()
    } catch (error) {
      return this.#calls.thrown(op, kind, fallback, payload, error)
    }
    return this.#calls.track(p, op, kind, success, fallback, payload)
  }

  readonly #accepting = (): boolean => this.#health.accepting

  /** The probe's ping (see {@link L2Health}). */
  readonly #ping = async (): Promise<boolean> => {
    const pong = await this.#calls.internal('ping', PROBE, () => this.driver.ping())
    return pong !== FAILED && pong !== INVALID
  }
}

import { invalid } from '../errors.js'
import type { BreakerState } from './circuit-breaker.js'
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
  REPLAY,
  WRITE,
} from './l2-calls.js'
import type { FillStart, L2Driver, L2WriteItem } from './l2-driver.js'
import { L2Health } from './l2-health.js'
import {
  applyInvalidation,
  CLEAR,
  INVALIDATION_OP,
  type Invalidation,
  PendingInvalidations,
} from './pending-invalidations.js'
import {
  type ResilientL2Counters,
  type ResilientL2Hooks,
  type ResilientL2Options,
  resolveResilientOptions,
} from './resilient-l2-options.js'

export type { ResilientL2Counters, ResilientL2Hooks, ResilientL2Options }

const RESOLVED_UNDEFINED: Promise<undefined> = Promise.resolve(undefined)
const RESOLVED_FALSE: Promise<boolean> = Promise.resolve(false)
const RESOLVED_ZERO: Promise<number> = Promise.resolve(0)

/**
 * Wraps an {@link L2Driver} so that L2 can never fail or slow down a request (SPEC guarantee 5).
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
 *   queue then only shrinks, so the replay ends however busy the application is.
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
/**
 * {@link L2Coordination} behind the same timeouts and breaker: every method resolves, with
 * `undefined` when L2 could not answer (the caller then works alone, as without Redis).
 */
export interface ResilientCoordination {
  beginFill(
    key: string,
    tags: readonly string[],
    leaseMs: number,
    token: string,
    wantLease: boolean,
  ): Promise<FillStart | undefined>
  /** `true` stored, `false` fenced (an invalidation came first), `undefined` L2 failed. */
  storeFill(
    key: string,
    value: Buffer,
    ttlMs: number,
    tags: readonly string[],
    versions: readonly string[],
    token: string,
  ): Promise<boolean | undefined>
  releaseLease(key: string, token: string): Promise<void>
  /** The entry's write stamp; `undefined` when there is no entry or L2 failed. */
  getStamp(key: string): Promise<string | undefined>
}

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
  readonly #health: L2Health
  readonly #calls: CallTracker
  readonly #pending: PendingInvalidations
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
    const pending = new PendingInvalidations(this.maxPendingInvalidations, this.counters)
    this.#pending = pending
    const { counters } = this
    const health = new L2Health(
      resolved.breaker,
      hooks,
      counters,
      pending,
      this.#ping,
      this.#replay,
    )
    this.#health = health
    this.#calls = new CallTracker(this.commandTimeoutMs, health.breaker, health.failed)
    this.coordination = driver.coordination === undefined ? undefined : this.#coordination()
  }

  #coordination(): ResilientCoordination {
    const c = this.driver.coordination!
    const track = <T>(
      op: string,
      kind: number,
      fallback: unknown,
      payload: unknown,
      call: () => Promise<T>,
    ) => {
      if (!this.#health.accepting) return this.#skip(Promise.resolve(fallback as T))
      let p: Promise<T>
      try {
        p = call()
      } catch (error) {
        return this.#calls.thrown(op, kind, fallback, payload, error) as Promise<T>
      }
      return this.#calls.track(p, op, kind, DRIVER_VALUE, fallback, payload) as Promise<T>
    }
    return {
      beginFill: (key, tags, leaseMs, token, wantLease) =>
        track('beginFill', READ, undefined, undefined, () =>
          c.beginFill(key, tags, leaseMs, token, wantLease),
        ),
      // A store that fails may or may not have landed: remembered as a delete of the key.
      storeFill: (key, value, ttlMs, tags, versions, token) =>
        track('storeFill', WRITE, undefined, key, () =>
          c.storeFill(key, value, ttlMs, tags, versions, token),
        ),
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
      getStamp: (key) => track('getStamp', READ, undefined, undefined, () => c.getStamp(key)),
    }
  }

  /** `true` while L2 is in use; `false` while degraded (circuit open or replaying) or closed. */
  /**
   * Cross-instance fencing, leases and stamps, bounded and never rejecting like every other call;
   * `undefined` when the driver offers none (then each instance fences only itself).
   */
  readonly coordination: ResilientCoordination | undefined

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

  /** Members of a native set; `undefined` (not `[]`) when L2 could not answer. */
  getSet(key: string): Promise<string[] | undefined> {
    if (!this.#health.accepting) return this.#skip(RESOLVED_UNDEFINED)
    let p: Promise<string[]>
    try {
      p = this.driver.getSet(key)
    } catch (error) {
      return this.#calls.thrown('getSet', READ, undefined, undefined, error)
    }
    return this.#calls.track(p, 'getSet', READ, DRIVER_VALUE, undefined, undefined)
  }

  /** The counter's new value; `undefined` when L2 could not answer (fall back to memory). */
  increment(key: string, by: number, ttlMs: number): Promise<number | undefined> {
    if (!this.#health.accepting) return this.#skip(RESOLVED_UNDEFINED)
    let p: Promise<number>
    try {
      p = this.driver.increment(key, by, ttlMs)
    } catch (error) {
      return this.#calls.thrown('increment', READ, undefined, undefined, error)
    }
    return this.#calls.track(p, 'increment', READ, DRIVER_VALUE, undefined, undefined)
  }

  /** Members added; `undefined` when L2 could not answer (fall back to memory). */
  addToSet(key: string, members: readonly string[], ttlMs: number): Promise<number | undefined> {
    if (!this.#health.accepting) return this.#skip(RESOLVED_UNDEFINED)
    let p: Promise<number>
    try {
      p = this.driver.addToSet(key, members, ttlMs)
    } catch (error) {
      return this.#calls.thrown('addToSet', READ, undefined, undefined, error)
    }
    return this.#calls.track(p, 'addToSet', READ, DRIVER_VALUE, undefined, undefined)
  }

  /** A round trip through the breaker: `true` when L2 answered. `false` while degraded. */
  ping(): Promise<boolean> {
    if (!this.#health.accepting) return this.#skip(RESOLVED_FALSE)
    let p: Promise<void>
    try {
      p = this.driver.ping()
    } catch (error) {
      return this.#calls.thrown('ping', READ, false, undefined, error)
    }
    return this.#calls.track(p, 'ping', READ, true, false, undefined)
  }

  // ---------------------------------------------------------------------------------- writes

  /**
   * `true` when stored. `false` when not: then a delete of `key` is queued (L2 may still hold an
   * older value) and the circuit opens until it is replayed (or sent at once, see `#invalidate`).
   */
  set(key: string, value: Buffer, ttlMs: number, tags: readonly string[]): Promise<boolean> {
    if (!this.#health.accepting) {
      return this.#invalidate({ kind: 'keys', keys: [key] }, false, false, RESOLVED_FALSE)
    }
    let p: Promise<void>
    try {
      p = this.driver.set(key, value, ttlMs, tags)
    } catch (error) {
      return this.#calls.thrown('set', WRITE, false, key, error)
    }
    return this.#calls.track(p, 'set', WRITE, true, false, key)
  }

  /** `true` when all stored; `false` when not (as for {@link set}, for every key). */
  setMany(items: readonly L2WriteItem[]): Promise<boolean> {
    if (items.length === 0) return Promise.resolve(true)
    if (!this.#health.accepting) {
      const keys = items.map((item) => item.key)
      return this.#invalidate({ kind: 'keys', keys }, false, false, RESOLVED_FALSE)
    }
    let p: Promise<void>
    try {
      p = this.driver.setMany(items)
    } catch (error) {
      return this.#calls.thrown('setMany', WRITE, false, items, error)
    }
    return this.#calls.track(p, 'setMany', WRITE, true, false, items)
  }

  // ---------------------------------------------------------------------------------- invalidations

  /** Keys removed from L2; 0 when not applied now (then queued and replayed on recovery). */
  delete(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return RESOLVED_ZERO
    return this.#invalidate({ kind: 'keys', keys }, DRIVER_VALUE, 0, RESOLVED_ZERO)
  }

  /** Entries removed from L2; 0 when not applied now (then queued and replayed on recovery). */
  deleteByTags(tags: readonly string[]): Promise<number> {
    if (tags.length === 0) return RESOLVED_ZERO
    return this.#invalidate({ kind: 'tags', tags }, DRIVER_VALUE, 0, RESOLVED_ZERO)
  }

  /**
   * Entries removed from L2; 0 when not applied now (then queued and replayed on recovery).
   * Bounded by `scanTimeoutMs`, not `commandTimeoutMs`: it SCANs the whole keyspace.
   */
  deleteByPattern(pattern: string | RegExp): Promise<number> {
    return this.#invalidate({ kind: 'pattern', pattern }, DRIVER_VALUE, 0, RESOLVED_ZERO)
  }

  /**
   * `true` when L2 was cleared now; `false` when queued for replay on recovery. Bounded by
   * `scanTimeoutMs`.
   */
  clear(): Promise<boolean> {
    return this.#invalidate(CLEAR, true, false, RESOLVED_FALSE)
  }

  /**
   * Stops the probe, forgets pending invalidations and closes the driver (bounded by
   * `commandTimeoutMs`, at least 1 s). Later calls resolve to their fallbacks. Never rejects.
   */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#health.close()
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

  #skip<T>(result: Promise<T>): Promise<T> {
    this.counters.skipped++
    return result
  }

  /**
   * Sends an invalidation: resolves to `success` (or the driver's value), `fallback` on failure.
   * While L2 is not in use, queues it for replay instead and returns `skipped`, unless the replay
   * is under way: then it is sent at once (see {@link L2Health.catchingUp}).
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
    const timeoutMs =
      inv.kind === 'pattern' || inv.kind === 'clear' ? this.scanTimeoutMs : undefined
    return this.#calls.track(p, op, kind, success, fallback, inv, timeoutMs)
  }

  /** The probe's ping (see {@link L2Health}). */
  readonly #ping = async (): Promise<boolean> => {
    const pong = await this.#calls.internal('ping', PROBE, () => this.driver.ping())
    return pong !== FAILED && pong !== INVALID
  }

  /** The probe's replay of every pending invalidation. */
  readonly #replay = (): Promise<boolean> =>
    this.#pending.replay(this.driver, this.#replayCall, this.scanTimeoutMs)

  readonly #replayCall = async (
    op: string,
    start: () => Promise<unknown>,
    timeoutMs?: number,
  ): Promise<boolean> => (await this.#calls.internal(op, REPLAY, start, timeoutMs)) !== FAILED
}

import { ErrorCodes, invalid, L2Error, ValidationError } from '../errors.js'
import { type BreakerState, CircuitBreaker } from './circuit-breaker.js'
import { retryFor } from './deadline-clock.js'
import {
  CATCH_UP,
  type CallSpec,
  CallTracker,
  DRIVER_VALUE,
  FAILED,
  INVALID,
  INVALIDATE,
  type OnCallFailed,
  PROBE,
  READ,
  REPLAY,
  WRITE,
} from './l2-calls.js'
import type { L2Driver, L2WriteItem } from './l2-driver.js'
import {
  applyInvalidation,
  CLEAR,
  type Invalidation,
  PendingInvalidations,
  SEND,
  SEND_CATCHING_UP,
} from './pending-invalidations.js'
import { RecentChanges } from './recent-changes.js'
import {
  isCommandError,
  type ResilientL2Counters,
  type ResilientL2Hooks,
  type ResilientL2Options,
  resolveResilientOptions,
  toL2Error,
} from './resilient-l2-options.js'

const PROBE_PING: CallSpec = { op: 'ping', kind: PROBE, ok: DRIVER_VALUE, fallback: FAILED }
const CLOSE: CallSpec = { op: 'close', kind: PROBE, ok: true, fallback: FAILED }
const toFalse = (): false => false
/** Pauses between `close()`'s attempts at what L2 missed, and a strict write's probes. */
const CLOSE_RETRY_MS = 50
const SETTLE_RETRY_MS = 20

/**
 * The half of `ResilientL2` that decides what a failure means and how L2 comes back; the other
 * half (`resilient-l2.ts`) is the operations. One object owns the three parts: the timeouts
 * ({@link CallTracker}), the circuit breaker and its background probe, and the queue of what L2
 * missed ({@link PendingInvalidations}), with the recent changes to redo after a server change.
 *
 * - A failed read counts towards the breaker. A failed write or invalidation may have left L2 out
 *   of date: what it should have done is queued (a write as a delete of its keys) and the circuit
 *   opens at once. A bad argument, or a read or write Redis refused as wrong, changes nothing.
 * - While open, the breaker's probe runs every open period: `ping`, then the replay. Once the ping
 *   is answered, invalidations are sent at once rather than queued (catching up): sent at once they
 *   commute with the replay, and the queue only shrinks however busy the application is.
 * - A server change the driver reports (`watchServer`) queues a clear, or, for a driver that
 *   declares `needsRecentChanges` (only then are they recorded), this instance's recent changes.
 */
export class L2Guard {
  readonly driver: L2Driver
  readonly commandTimeoutMs: number
  readonly scanTimeoutMs: number
  readonly maxPendingInvalidations: number
  /** How long `close()` tries to deliver the invalidations L2 missed: 4 command timeouts, ≥ 1 s. */
  readonly closeTimeoutMs: number
  readonly counters: ResilientL2Counters = {
    errors: 0,
    timeouts: 0,
    skipped: 0,
    replayed: 0,
    collapsed: 0,
  }
  readonly calls: CallTracker
  /** What to redo when the driver reports a server change as `'recent'`; only if it needs it. */
  readonly recent: RecentChanges | undefined
  readonly #hooks: ResilientL2Hooks
  readonly #settleMs: number
  readonly #breaker: CircuitBreaker
  readonly #pending: PendingInvalidations
  readonly #unwatch: () => void
  #accepting = true
  #closed = false
  /** Set while the probe replays the backlog, after its ping was answered. */
  #replaying = false
  #lastFailure = ''

  constructor(driver: L2Driver, options: ResilientL2Options, hooks: ResilientL2Hooks) {
    if (typeof driver !== 'object' || driver === null || typeof driver.get !== 'function') {
      throw invalid('driver', 'must implement L2Driver')
    }
    this.driver = driver
    this.#hooks = hooks
    const resolved = resolveResilientOptions(options)
    this.commandTimeoutMs = resolved.commandTimeoutMs
    this.scanTimeoutMs = resolved.scanTimeoutMs
    this.maxPendingInvalidations = resolved.maxPendingInvalidations
    this.closeTimeoutMs = Math.max(1000, 4 * this.commandTimeoutMs)
    this.#settleMs = resolved.settleMs
    this.#breaker = new CircuitBreaker({
      ...resolved.breaker,
      onStateChange: (to, from) => this.#onBreakerChange(to, from),
      probe: this.#probe,
    })
    this.calls = new CallTracker({
      commandTimeoutMs: this.commandTimeoutMs,
      scanTimeoutMs: this.scanTimeoutMs,
      breaker: this.#breaker,
      onFailed: this.#failed,
      timing: hooks.timing,
    })
    this.#pending = new PendingInvalidations({
      driver,
      max: this.maxPendingInvalidations,
      counters: this.counters,
      onReplayed: hooks.onReplayed?.bind(hooks),
    })
    const watches = typeof driver.watchServer === 'function'
    this.recent = watches && driver.needsRecentChanges === true ? new RecentChanges() : undefined
    this.#unwatch = driver.watchServer?.((reason, lost) => this.#redo(reason, lost)) ?? (() => {})
  }

  /** `true` while L2 is in use; `false` while degraded (circuit open or replaying) or closed. */
  get available(): boolean {
    return this.#accepting
  }

  /** The circuit breaker's state. */
  get state(): BreakerState {
    return this.#breaker.state
  }

  /** Invalidations waiting for L2 to come back (keys + tags + patterns, +1 for a pending clear). */
  get pendingInvalidations(): number {
    return this.#pending.size
  }

  /** Whether writes and invalidations are kept to redo after a server change (a Cluster). */
  get recordsRecentChanges(): boolean {
    return this.recent !== undefined
  }

  /**
   * Stops the probe, makes a last attempt at what L2 missed for up to {@link closeTimeoutMs}
   * (what is left is reported: other instances may read what it was to remove until it expires),
   * then closes the driver (bounded, at least 1 s). Later calls resolve to fallbacks.
   */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#accepting = false
    this.#unwatch()
    this.#breaker.stop()
    const left = await this.#pending.deliver(this.calls, this.closeTimeoutMs, CLOSE_RETRY_MS)
    if (left > 0) {
      this.#report(
        'close',
        `closed with ${left} invalidation(s) that never reached Redis: other instances may read ` +
          'the values they were to remove until those expire',
      )
    }
    this.#pending.close()
    let p: Promise<void>
    try {
      p = this.driver.close()
    } catch {
      return
    }
    await this.calls.track(CLOSE, p, undefined, Math.max(1000, this.commandTimeoutMs))
  }

  /** Counts a call not sent because L2 is not in use; resolves to `result`. */
  skip<T>(result: Promise<T>): Promise<T> {
    this.counters.skipped++
    return result
  }

  /**
   * Sends an invalidation, or queues it while L2 is not in use, unless the probe is replaying:
   * then it is sent at once (invalidations commute with the replay). `write`: it stands for a write
   * not sent, which resolves `false` whatever its delete does.
   */
  invalidate<T>(inv: Invalidation, write: boolean): Promise<T> {
    let specs = SEND
    if (!this.#accepting) {
      if (!(this.#replaying && this.#breaker.state === 'half-open')) {
        this.#pending.add(inv)
        return this.skip(Promise.resolve((write ? false : specs[inv.kind].fallback) as T))
      }
      specs = SEND_CATCHING_UP
    }
    const spec = specs[inv.kind]
    let p: Promise<unknown>
    try {
      p = applyInvalidation(this.driver, inv)
    } catch (error) {
      p = this.calls.thrown(spec, inv, error)
      return (write ? p.then(toFalse) : p) as Promise<T>
    }
    const out = this.calls.track<T>(spec, p, inv)
    return write ? (out.then(toFalse) as Promise<T>) : out
  }

  /**
   * `result`, once L2 took the write or invalidation: with `settleMs`, one it did not take (queued
   * for replay) waits up to that long for L2 to come back with it replayed, probing at once.
   */
  settled<T>(result: Promise<T>): Promise<T> {
    if (this.#settleMs === 0) return result
    return result.then(async (value) => {
      // Each write of a long outage waits the whole bound (not waiting after a first wait ran out
      // showed stale reads in strict mode, in the fault suite's 1 s cut).
      const settled = await retryFor(
        this.#settleMs,
        SETTLE_RETRY_MS,
        async () => this.#closed || (await this.#breaker.probeNow()),
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

  /** What a failed call means (see the class). An invalidation refused as wrong did not apply. */
  readonly #failed: OnCallFailed = ({ spec, payload, epoch }, error, timedOut) => {
    const { kind } = spec
    if (kind === PROBE) return
    const l2Error = toL2Error(spec.op, error)
    if (timedOut) this.counters.timeouts++
    this.#report(l2Error)
    if (kind === REPLAY || error instanceof ValidationError) return
    if (isCommandError(error) && kind !== INVALIDATE && kind !== CATCH_UP) return
    this.#lastFailure = l2Error.message
    if (kind === READ) {
      if (epoch === this.#breaker.epoch) this.#breaker.onFailure()
      return
    }
    if (kind !== WRITE) this.#pending.add(payload as Invalidation)
    else if (typeof payload === 'string') this.#pending.addKey(payload)
    else for (const item of payload as readonly L2WriteItem[]) this.#pending.addKey(item.key)
    this.#breaker.trip()
  }

  /**
   * The server may have lost what it acknowledged: what to redo is queued (this instance's recent
   * changes, or a clear) and the circuit opens, so that nothing is read from L2 before it is done.
   */
  #redo(reason: string, lost: 'recent' | 'any'): void {
    if (this.#closed) return
    const changes = lost === 'recent' && this.recent ? this.recent.redo() : [CLEAR]
    for (const change of changes) this.#pending.add(change)
    this.#lastFailure = reason
    this.#breaker.trip()
  }

  /** The breaker's probe: ping, then replay what L2 missed; `true` when all of it was. */
  readonly #probe = async (): Promise<boolean> => {
    this.#replaying = false
    const pong = await this.calls.internal(PROBE_PING, () => this.driver.ping())
    if (pong === FAILED || pong === INVALID) return false
    // Catching up until the next probe: the flag outlives the replay, so that no invalidation is
    // queued (and forgotten) between its end and the circuit closing.
    this.#replaying = true
    return this.#pending.replay(this.calls)
  }

  #onBreakerChange(to: BreakerState, from: BreakerState): void {
    if (to === 'open') {
      this.#accepting = false
      if (from !== 'closed') return
      const failure = this.#lastFailure
      this.#hook(this.#hooks.onDegraded, failure ? `L2 unavailable: ${failure}` : 'L2 unavailable')
    } else if (to === 'closed' && !this.#closed) {
      this.#accepting = true
      this.#hook(this.#hooks.onRecovered, undefined)
    }
  }

  /** Counts (`errors`) and reports (`onError`) a failure, or what `operation` left undone. */
  #report(error: L2Error | string, message = ''): void {
    this.counters.errors++
    const e =
      typeof error === 'string' ? new L2Error(ErrorCodes.L2_UNAVAILABLE, error, message) : error
    this.#hook(this.#hooks.onError, e)
  }

  #hook<A>(hook: ((arg: A) => void) | undefined, arg: A): void {
    if (hook === undefined) return
    try {
      hook.call(this.#hooks, arg)
    } catch {
      // A hook's failure is the application's business; it must not break a cache call.
    }
  }
}

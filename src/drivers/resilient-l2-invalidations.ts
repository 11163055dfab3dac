import { CATCH_UP, type CallTracker, FAILED, INVALIDATE, REPLAY } from './l2-calls.js'
import type { L2Driver } from './l2-driver.js'
import type { L2Health } from './l2-health.js'
import {
  applyInvalidation,
  INVALIDATION_OP,
  type Invalidation,
  type PendingInvalidations,
} from './pending-invalidations.js'
import type { ResilientL2Counters } from './resilient-l2-options.js'

/**
 * The invalidation side of a `ResilientL2` (guarantee 5: nothing stale survives an outage).
 * Invalidations, and the deletes that stand for writes which could not be made, are sent at once
 * while L2 is in use; while it is not, they are queued ({@link PendingInvalidations}) and replayed
 * by the probe before L2 is used again, except while that replay runs: then they are sent at once
 * too (see {@link L2Health.catchingUp}), so that the queue only shrinks and the replay ends however
 * busy the application is.
 */
export class InvalidationSender {
  readonly #driver: L2Driver
  readonly #pending: PendingInvalidations
  readonly #health: L2Health
  readonly #calls: CallTracker
  readonly #counters: ResilientL2Counters
  readonly #scanTimeoutMs: number
  readonly #replayed: ((inv: Invalidation) => void) | undefined

  /** `pending` is the queue `health` was built with. */
  constructor(
    driver: L2Driver,
    pending: PendingInvalidations,
    health: L2Health,
    calls: CallTracker,
    counters: ResilientL2Counters,
    scanTimeoutMs: number,
    replayed?: (inv: Invalidation) => void,
  ) {
    this.#driver = driver
    this.#pending = pending
    this.#health = health
    this.#calls = calls
    this.#counters = counters
    this.#scanTimeoutMs = scanTimeoutMs
    this.#replayed = replayed
  }

  /** Invalidations waiting for L2 to come back (keys + tags + patterns, +1 for a pending clear). */
  get size(): number {
    return this.#pending.size
  }

  /**
   * Sends an invalidation: resolves to `success` (or the driver's value), `fallback` on failure
   * (then it is queued, see `L2Health.failed`). While L2 is not in use, queues it for replay
   * instead and returns `skipped`, unless the replay is under way: then it is sent at once.
   * Patterns and clears are bounded by `scanTimeoutMs`: they SCAN the whole keyspace.
   */
  send<T>(inv: Invalidation, success: unknown, fallback: unknown, skipped: Promise<T>): Promise<T> {
    let kind = INVALIDATE
    if (!this.#health.accepting) {
      if (!this.#health.catchingUp) {
        this.#pending.add(inv)
        this.#counters.skipped++
        return skipped
      }
      kind = CATCH_UP
    }
    const op = INVALIDATION_OP[inv.kind]
    let p: Promise<unknown>
    try {
      p = applyInvalidation(this.#driver, inv)
    } catch (error) {
      return this.#calls.thrown(op, kind, fallback, inv, error)
    }
    const timeoutMs =
      inv.kind === 'pattern' || inv.kind === 'clear' ? this.#scanTimeoutMs : undefined
    return this.#calls.track(p, op, kind, success, fallback, inv, timeoutMs)
  }

  /** The probe's replay of every pending invalidation: `true` when all were applied. */
  readonly replay = (): Promise<boolean> =>
    this.#pending.replay(this.#driver, this.#replayCall, this.#scanTimeoutMs, (inv) => {
      try {
        this.#replayed?.(inv)
      } catch {
        // The application's hook must not stop the replay.
      }
    })

  /** Forgets what is pending, for good. */
  close(): void {
    this.#pending.close()
  }

  readonly #replayCall = async (
    op: string,
    start: () => Promise<unknown>,
    timeoutMs?: number,
  ): Promise<boolean> => (await this.#calls.internal(op, REPLAY, start, timeoutMs)) !== FAILED
}

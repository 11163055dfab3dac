import { ErrorCodes, L2Error, ValidationError } from '../errors.js'
import { type BreakerState, CircuitBreaker } from './circuit-breaker.js'
import { CATCH_UP, INVALIDATE, type OnCallFailed, PROBE, READ, REPLAY, WRITE } from './l2-calls.js'
import type { L2WriteItem } from './l2-driver.js'
import type { Invalidation, PendingInvalidations } from './pending-invalidations.js'
import type {
  ResilientL2Counters,
  ResilientL2Hooks,
  ResolvedResilientL2Options,
} from './resilient-l2-options.js'

function toL2Error(op: string, error: unknown): L2Error {
  if (error instanceof L2Error) return error
  const message = error instanceof Error ? error.message : String(error)
  return new L2Error(ErrorCodes.L2_UNAVAILABLE, op, message, error)
}

/**
 * Replies that mean Redis cannot serve us right now, as opposed to "this command is wrong": an
 * ACL that denies a command (`NOPERM`, after a change of the user's rights) is one.
 */
const UNHEALTHY_REPLY =
  /^(LOADING|BUSY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|READONLY|OOM|MISCONF|NOPERM|NOAUTH|WRONGPASS)\b/

/**
 * Whether Redis answered with an error about the command itself (e.g. `WRONGTYPE` for a `get` on a
 * key holding a set): Redis is healthy and nothing was changed, so the breaker must not count it.
 */
function isCommandError(error: unknown): boolean {
  return (
    error instanceof Error && error.name === 'ReplyError' && !UNHEALTHY_REPLY.test(error.message)
  )
}

/**
 * Whether L2 may be used, and how it comes back: the circuit breaker, what each failure means,
 * the `degraded` / `recovered` hooks, and the half-open probe.
 *
 * - A failed read counts towards the breaker (`failureThreshold` in a row open it).
 * - A failed write or invalidation may have left L2 out of date, so what it should have done is
 *   queued ({@link PendingInvalidations}; a write as a delete of its keys) and the circuit opens at
 *   once, without waiting for the threshold.
 * - While the circuit is open, a probe runs every open period without waiting for traffic: `ping`,
 *   then `replay` of what L2 missed, whose outcome closes the circuit or reopens it.
 * - While the replay runs, invalidations are sent at once rather than queued ({@link catchingUp}).
 */
export class L2Health {
  readonly breaker: CircuitBreaker
  /** `true` while L2 is in use; `false` while degraded (circuit open or replaying) or closed. */
  accepting = true
  readonly #hooks: ResilientL2Hooks
  readonly #counters: ResilientL2Counters
  readonly #pending: PendingInvalidations
  readonly #ping: () => Promise<boolean>
  readonly #replay: () => Promise<boolean>
  #closed = false
  #replaying = false
  #lastFailure = ''
  #probeTimer: NodeJS.Timeout | undefined = undefined
  #probing = false
  #probeRun: Promise<void> | undefined = undefined

  /**
   * `ping` resolves `true` when L2 answered; `replay` when every pending invalidation was
   * replayed. Neither may reject.
   */
  constructor(
    breaker: ResolvedResilientL2Options['breaker'],
    hooks: ResilientL2Hooks,
    counters: ResilientL2Counters,
    pending: PendingInvalidations,
    ping: () => Promise<boolean>,
    replay: () => Promise<boolean>,
  ) {
    this.#hooks = hooks
    this.#counters = counters
    this.#pending = pending
    this.#ping = ping
    this.#replay = replay
    this.breaker = new CircuitBreaker({
      ...breaker,
      onStateChange: (to, from) => this.#onBreakerChange(to, from),
    })
  }

  /**
   * `true` while the probe replays the backlog: its ping was answered and the circuit is still
   * half-open. Invalidations (and writes, as deletes of their keys) are then sent at once instead of
   * queued: queued, an application that keeps writing and invalidating would refill the queue as
   * fast as the replay drains it, and L2 would never come back. Sent at once, they commute with the
   * replay (deletions only: nothing else reaches L2 until the circuit closes); one that fails is
   * queued and reopens the circuit. The flag stays set after the replay until the next probe, so
   * there is no gap before the circuit closes in which an invalidation would be queued, then
   * forgotten.
   */
  get catchingUp(): boolean {
    return this.#replaying && this.breaker.state === 'half-open'
  }

  /** Stops using L2 and stops probing, for good. */
  close(): void {
    this.#closed = true
    this.accepting = false
    if (this.#probeTimer !== undefined) clearTimeout(this.#probeTimer)
    this.#probeTimer = undefined
  }

  /**
   * A call failed (rejected, threw or timed out): count and report it, then let the breaker and
   * the queue know what it means. `epoch` is the breaker's epoch when the call started.
   */
  readonly failed: OnCallFailed = (op, kind, payload, epoch, error, timedOut) => {
    if (kind === PROBE) return
    const l2Error = toL2Error(op, error)
    this.#counters.errors++
    if (timedOut) this.#counters.timeouts++
    this.#call(this.#hooks.onError, l2Error)
    // A bad argument (e.g. a reserved key) says nothing about Redis' health, and there is nothing
    // to invalidate: it never reached Redis. A read or write Redis refused as wrong changed
    // nothing either; an invalidation it refused, whatever the reason, is one that did not apply.
    if (kind === REPLAY || error instanceof ValidationError) return
    if (isCommandError(error) && kind !== INVALIDATE && kind !== CATCH_UP) return
    this.#lastFailure = l2Error.message
    if (kind === READ) {
      if (epoch === this.breaker.epoch) this.breaker.onFailure()
      return
    }
    if (kind === WRITE) {
      if (typeof payload === 'string') this.#pending.addKey(payload)
      else for (const item of payload as readonly L2WriteItem[]) this.#pending.addKey(item.key)
    } else {
      this.#pending.add(payload as Invalidation)
    }
    this.breaker.trip()
  }

  /**
   * L2 may have lost what `changes` did (see `RecentChanges`): they are queued to be done again
   * and the circuit opens, so that nothing is read from L2 before they are.
   */
  redo(reason: string, changes: readonly Invalidation[]): void {
    if (this.#closed) return
    for (const change of changes) this.#pending.add(change)
    this.#lastFailure = reason
    this.breaker.trip()
  }

  #call<A>(hook: ((arg: A) => void) | undefined, arg: A): void {
    if (hook === undefined) return
    try {
      hook.call(this.#hooks, arg)
    } catch {
      // A hook's failure is the application's business; it must not break a cache call.
    }
  }

  #onBreakerChange(to: BreakerState, from: BreakerState): void {
    if (to === 'open') {
      this.accepting = false
      if (from === 'closed') {
        const reason = this.#lastFailure ? `L2 unavailable: ${this.#lastFailure}` : 'L2 unavailable'
        this.#call(this.#hooks.onDegraded, reason)
      }
      this.#scheduleProbe()
    } else if (to === 'closed') {
      if (this.#closed) return
      this.accepting = true
      this.#call(this.#hooks.onRecovered, undefined)
    }
  }

  #scheduleProbe(): void {
    if (this.#closed || this.#probing || this.#probeTimer !== undefined) return
    const delay = Math.max(1, this.breaker.retryAt - Date.now())
    this.#probeTimer = setTimeout(this.#onProbeTimer, delay)
    // A degraded cache must not keep the process alive on its own.
    this.#probeTimer.unref()
  }

  readonly #onProbeTimer = (): void => {
    this.#probeTimer = undefined
    void this.#probe(false)
  }

  /**
   * Probes now rather than when the open period ends, or joins the probe under way; resolves
   * whether L2 is in use again (what it missed replayed). For a strict write whose invalidation
   * was queued: it waits for L2 rather than acknowledge a write others may not see.
   */
  async probeNow(): Promise<boolean> {
    if (this.#closed) return false
    if (this.accepting) return true
    if (this.#probeRun === undefined) {
      clearTimeout(this.#probeTimer)
      this.#probeTimer = undefined
    }
    await this.#probe(true)
    return this.accepting
  }

  /** Half-open probe: ping, replay, then close the circuit or reopen it. */
  #probe(now: boolean): Promise<void> {
    this.#probeRun ??= this.#runProbe(now).finally(() => {
      this.#probeRun = undefined
    })
    return this.#probeRun
  }

  async #runProbe(now: boolean): Promise<void> {
    if (this.#closed || this.#probing) return
    if (!(now ? this.breaker.probeNow() : this.breaker.allowRequest())) {
      this.#scheduleProbe()
      return
    }
    this.#probing = true
    this.#replaying = false
    let ok = false
    try {
      if (await this.#ping()) {
        this.#replaying = true
        ok = await this.#replay()
      }
    } finally {
      this.#probing = false
    }
    if (this.#closed) return
    // Success closes only if nothing tripped the circuit meanwhile (the breaker ignores a success
    // while open); failure reopens it with a longer period.
    if (ok) this.breaker.onSuccess()
    else this.breaker.onFailure()
    if (this.breaker.state === 'open') this.#scheduleProbe()
  }
}

/**
 * Whether L2 may be used, and what configures and observes that: a `ResilientL2`'s options, hooks
 * and counters, then {@link L2Health}, which keeps the circuit breaker and the half-open probe.
 */
import { ErrorCodes, invalid, L2Error, ValidationError } from '../errors.js'
import {
  type BreakerState,
  CircuitBreaker,
  type CircuitBreakerOptions,
  positive,
} from './circuit-breaker.js'
import {
  CATCH_UP,
  INVALIDATE,
  type L2Timing,
  type OnCallFailed,
  PROBE,
  READ,
  REPLAY,
  WRITE,
} from './l2-calls.js'
import type { L2WriteItem } from './l2-driver.js'
import type { Invalidation, PendingInvalidations } from './pending-invalidations.js'

/** Options of a `ResilientL2`. */
export interface ResilientL2Options {
  /**
   * Longest wait for any L2 call, in ms. A call still unanswered then resolves to its fallback and
   * counts as a failure (`ERR_L2_TIMEOUT`).
   * @default 250
   */
  commandTimeoutMs?: number
  /**
   * Longest wait for `deleteByPattern` and `clear`, in ms. They SCAN the whole keyspace, which can
   * legitimately take seconds; bounding them by `commandTimeoutMs` would fail them every time on a
   * large database, and their replay too, so the cache would never recover. Each SCAN step is still
   * quick to fail when Redis is down.
   * @default 30_000
   */
  scanTimeoutMs?: number
  /** The circuit breaker in front of the driver. */
  breaker?: {
    /**
     * Consecutive failed calls (timeouts included) that open the circuit.
     * @default 5
     */
    failureThreshold?: number
    /**
     * How long calls are not sent after the circuit opens, and the probe period.
     * @default 1000
     */
    openMs?: number
    /**
     * Cap of the open period, which doubles after each failed probe.
     * @default `openMs` (no backoff)
     */
    maxOpenMs?: number
  }
  /**
   * Most invalidations (keys + tags + patterns) remembered while L2 is unreachable. One more, and
   * they collapse into a single `clear()` of the prefix, replayed on recovery.
   * @default 10_000
   */
  maxPendingInvalidations?: number
  /**
   * How long a write or an invalidation that L2 did not take waits for it to come back (probing at
   * once) with what it missed replayed, in ms, before resolving anyway. The cache's strict mode
   * sets it: a write acknowledged with its invalidation only queued is one other instances may not
   * see.
   * @default 0 (resolve at once; the invalidation stays queued)
   */
  settleMs?: number
}

/** Hooks of a `ResilientL2`; each is called synchronously and may not throw (errors are swallowed). */
export interface ResilientL2Hooks {
  /** A call failed or timed out (`ERR_L2_UNAVAILABLE` / `ERR_L2_TIMEOUT`). Not called for calls skipped while open. */
  onError?(error: L2Error): void
  /** The circuit opened: L2 is not used until it recovers. Called once per outage. */
  onDegraded?(reason: string): void
  /** The circuit closed again, after every pending invalidation was replayed. */
  onRecovered?(): void
  /**
   * One pending invalidation reached L2 on replay. L2 alone: the bus notice it had when made was
   * lost with the outage, so other instances' L1 copies (reloaded meanwhile from L2) still need it.
   */
  onReplayed?(invalidation: Invalidation): void
  /** Observers of every call's duration (a metrics exporter); calls are timed only while one is added. */
  timing?: L2Timing
}

/** Counters of a `ResilientL2`; the object is live (read it, do not keep a copy). */
export interface ResilientL2Counters {
  /** Calls that failed, timeouts included. */
  errors: number
  /** Calls that did not answer within `commandTimeoutMs` (also counted in `errors`). */
  timeouts: number
  /** Calls not sent because the circuit was open. */
  skipped: number
  /** Invalidation calls replayed on recovery. */
  replayed: number
  /** Times the pending invalidations overflowed and collapsed into one `clear()`. */
  collapsed: number
}

/** Validates {@link ResilientL2Options} and applies defaults; `CircuitBreaker` checks its own. */
export function resolveResilientOptions(options: ResilientL2Options) {
  const commandTimeoutMs = positive(options.commandTimeoutMs, 'commandTimeoutMs', 250, false)
  const scanTimeoutMs = Math.max(
    commandTimeoutMs,
    positive(options.scanTimeoutMs, 'scanTimeoutMs', 30_000, false),
  )
  const max = positive(options.maxPendingInvalidations, 'maxPendingInvalidations', 10_000, false)
  if (!Number.isInteger(max)) throw invalid('maxPendingInvalidations', 'must be an integer')
  const { failureThreshold, openMs, maxOpenMs } = options.breaker ?? {}
  return {
    commandTimeoutMs,
    scanTimeoutMs,
    maxPendingInvalidations: max,
    settleMs: positive(options.settleMs, 'settleMs', 0, false),
    breaker: { failureThreshold, openMs, maxOpenMs },
  }
}

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

/** What an {@link L2Health} is built with. */
export interface L2HealthSetup {
  breaker: Pick<CircuitBreakerOptions, 'failureThreshold' | 'openMs' | 'maxOpenMs'>
  hooks: ResilientL2Hooks
  counters: ResilientL2Counters
  /** Where failed writes and invalidations, and what to redo, are queued. */
  pending: PendingInvalidations
  /** Resolves `true` when L2 answered. May not reject. */
  ping: () => Promise<boolean>
  /** Resolves `true` when every pending invalidation was replayed. May not reject. */
  replay: () => Promise<boolean>
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

  constructor(setup: L2HealthSetup) {
    this.#hooks = setup.hooks
    this.#counters = setup.counters
    this.#pending = setup.pending
    this.#ping = setup.ping
    this.#replay = setup.replay
    this.breaker = new CircuitBreaker({
      ...setup.breaker,
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
    if (timedOut) this.#counters.timeouts++
    this.report(l2Error)
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

  /** Counts an error (`errors`) and reports it (`onError`). */
  report(error: L2Error): void {
    this.#counters.errors++
    this.#call(this.#hooks.onError, error)
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

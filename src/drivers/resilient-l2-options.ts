/**
 * What configures and observes a `ResilientL2` (options, hooks, counters), and how it reads a
 * failure: whether an error says Redis is unhealthy or only that one command was wrong.
 */
import { ErrorCodes, invalid, L2Error } from '../errors.js'
import { positive } from './circuit-breaker.js'
import type { L2Timing } from './l2-calls.js'
import type { Invalidation } from './pending-invalidations.js'

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

/** `error` as an `L2Error` of `op` (as is when it is one). */
export function toL2Error(op: string, error: unknown): L2Error {
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
export function isCommandError(error: unknown): boolean {
  return (
    error instanceof Error && error.name === 'ReplyError' && !UNHEALTHY_REPLY.test(error.message)
  )
}

import { invalid, type L2Error } from '../errors.js'
import type { CircuitBreakerOptions } from './circuit-breaker.js'
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

/** {@link ResilientL2Options} validated, with defaults applied. */
export interface ResolvedResilientL2Options {
  commandTimeoutMs: number
  scanTimeoutMs: number
  maxPendingInvalidations: number
  settleMs: number
  breaker: Pick<CircuitBreakerOptions, 'failureThreshold' | 'openMs' | 'maxOpenMs'>
}

function positive(value: unknown, field: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalid(field, `must be a number > 0, got ${String(value)}`)
  }
  return value
}

/** Validates and applies defaults; the breaker's own options are validated by `CircuitBreaker`. */
export function resolveResilientOptions(options: ResilientL2Options): ResolvedResilientL2Options {
  const commandTimeoutMs = positive(options.commandTimeoutMs, 'commandTimeoutMs', 250)
  const scanTimeoutMs = Math.max(
    commandTimeoutMs,
    positive(options.scanTimeoutMs, 'scanTimeoutMs', 30_000),
  )
  const max = positive(options.maxPendingInvalidations, 'maxPendingInvalidations', 10_000)
  if (!Number.isInteger(max)) throw invalid('maxPendingInvalidations', 'must be an integer')
  return {
    commandTimeoutMs,
    scanTimeoutMs,
    maxPendingInvalidations: max,
    settleMs: options.settleMs === undefined ? 0 : positive(options.settleMs, 'settleMs', 0),
    breaker: {
      failureThreshold: options.breaker?.failureThreshold,
      openMs: options.breaker?.openMs,
      maxOpenMs: options.breaker?.maxOpenMs,
    },
  }
}

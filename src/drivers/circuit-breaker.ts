import { invalid } from '../errors.js'

/** `closed`: calls flow. `open`: calls are refused. `half-open`: one probe is in flight. */
export type BreakerState = 'closed' | 'open' | 'half-open'

/** Options of a {@link CircuitBreaker}. */
export interface CircuitBreakerOptions {
  /** Consecutive failures (timeouts included) that open the circuit. Default 5. */
  failureThreshold?: number
  /** How long the circuit stays open before one probe is let through. Default 1000 ms. */
  openMs?: number
  /**
   * Cap of the open period: each failed probe doubles it, up to this cap; a success resets it to
   * `openMs`. Default `openMs`, i.e. no backoff: a probe of a Redis that is down costs nothing
   * (the client refuses at once while disconnected), and a fixed period recovers fastest. Raise
   * it for a driver whose probes are costly (a paid HTTP API, a struggling server).
   */
  maxOpenMs?: number
  /** The clock, in ms. Default `Date.now`; tests pass a fake one. */
  now?: () => number
  /** Called after every state change, synchronously. Exceptions it throws are swallowed. */
  onStateChange?: (to: BreakerState, from: BreakerState) => void
  /**
   * The background probe: with it, the breaker itself runs `probe` once every open period while
   * open (half-open during the run) and closes or reopens on its outcome, so that recovery does
   * not wait for traffic. Resolves `true` when the dependency is usable again; may not reject.
   */
  probe?: () => Promise<boolean>
}

/** `value`, or `fallback` when absent; throws unless a number > 0 (an integer with `integer`). */
export function positive(
  value: unknown,
  field: string,
  fallback: number,
  integer: boolean,
): number {
  if (value === undefined) return fallback
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value <= 0 ||
    (integer && !Number.isInteger(value))
  ) {
    throw invalid(
      field,
      `must be a ${integer ? 'positive integer' : 'number > 0'}, got ${String(value)}`,
    )
  }
  return value
}

/**
 * A three-state circuit breaker. `closed` → `open` after `failureThreshold` consecutive failures;
 * after the open period, {@link allowRequest} lets exactly one probe through (`half-open`); the
 * probe's success closes the circuit, its failure opens it again (for twice as long, up to
 * `maxOpenMs`, when backoff is enabled).
 *
 * It sits on every L2 call, so the closed path is a field read and, on success, a store: no
 * allocation, no clock read. The clock is read only when the circuit is not closed. Given a
 * `probe`, it runs it in the background while open (see {@link CircuitBreakerOptions.probe}).
 *
 * @example
 * ```ts
 * const breaker = new CircuitBreaker({ failureThreshold: 3, openMs: 500 })
 * if (breaker.allowRequest()) {
 *   try { await work(); breaker.onSuccess() } catch { breaker.onFailure() }
 * }
 * ```
 */
export class CircuitBreaker {
  readonly failureThreshold: number
  readonly openMs: number
  readonly maxOpenMs: number
  #state: BreakerState = 'closed'
  #failures = 0
  #openUntil = 0
  #currentOpenMs: number
  #epoch = 0
  readonly #now: () => number
  readonly #onStateChange: ((to: BreakerState, from: BreakerState) => void) | undefined
  readonly #probe: (() => Promise<boolean>) | undefined
  #probeTimer: NodeJS.Timeout | undefined = undefined
  #probeRun: Promise<void> | undefined = undefined
  #stopped = false

  constructor(options: CircuitBreakerOptions = {}) {
    this.failureThreshold = positive(options.failureThreshold, 'failureThreshold', 5, true)
    this.openMs = positive(options.openMs, 'openMs', 1000, false)
    this.maxOpenMs = positive(options.maxOpenMs, 'maxOpenMs', this.openMs, false)
    if (this.maxOpenMs < this.openMs) throw invalid('maxOpenMs', 'must be >= openMs')
    if (options.now !== undefined && typeof options.now !== 'function') {
      throw invalid('now', 'must be a function returning ms')
    }
    if (options.onStateChange !== undefined && typeof options.onStateChange !== 'function') {
      throw invalid('onStateChange', 'must be a function')
    }
    this.#now = options.now ?? Date.now
    this.#onStateChange = options.onStateChange
    this.#probe = options.probe
    this.#currentOpenMs = this.openMs
  }

  get state(): BreakerState {
    return this.#state
  }

  /** `true` while calls flow normally. */
  get isClosed(): boolean {
    return this.#state === 'closed'
  }

  /** Consecutive failures counted in the closed state. */
  get failures(): number {
    return this.#failures
  }

  /**
   * Increments on every state change. A caller that records it when a call starts can ignore
   * that call's late outcome if the circuit has moved on meanwhile.
   */
  get epoch(): number {
    return this.#epoch
  }

  /** When open: the time (per the clock) from which a probe is allowed. Otherwise 0. */
  get retryAt(): number {
    return this.#state === 'open' ? this.#openUntil : 0
  }

  /**
   * Whether a call may go now. Closed: always. Open: no, until the open period is over; then the
   * circuit turns half-open and this returns `true` once, for the probe. Half-open: no.
   */
  allowRequest(): boolean {
    if (this.#state === 'closed') return true
    if (this.#state === 'half-open') return false
    if (this.#now() < this.#openUntil) return false
    this.#transition('half-open')
    return true
  }

  /**
   * Runs the probe now rather than when the open period ends, or joins the run under way;
   * resolves whether the circuit is closed after it. `true` at once while closed.
   */
  async probeNow(): Promise<boolean> {
    if (this.#state === 'closed') return true
    if (this.#stopped || this.#probe === undefined) return false
    if (this.#probeRun === undefined) {
      clearTimeout(this.#probeTimer)
      this.#probeTimer = undefined
    }
    await this.#runProbe(true)
    return this.isClosed
  }

  /** Stops the background probe for good (the dependency is closed). */
  stop(): void {
    this.#stopped = true
    clearTimeout(this.#probeTimer)
    this.#probeTimer = undefined
  }

  #scheduleProbe(): void {
    if (this.#stopped || this.#probe === undefined) return
    if (this.#probeRun !== undefined || this.#probeTimer !== undefined) return
    this.#probeTimer = setTimeout(this.#onProbeTimer, Math.max(1, this.#openUntil - this.#now()))
    // A degraded dependency must not keep the process alive on its own.
    this.#probeTimer.unref()
  }

  readonly #onProbeTimer = (): void => {
    this.#probeTimer = undefined
    void this.#runProbe(false)
  }

  #runProbe(now: boolean): Promise<void> {
    this.#probeRun ??= this.#probeOnce(now).finally(() => {
      this.#probeRun = undefined
      if (this.#state === 'open') this.#scheduleProbe()
    })
    return this.#probeRun
  }

  async #probeOnce(now: boolean): Promise<void> {
    if (this.#stopped || this.#state !== 'open') return
    if (now) this.#transition('half-open')
    else if (!this.allowRequest()) return
    const ok = await this.#probe!()
    if (this.#stopped) return
    // Success closes only if nothing tripped the circuit meanwhile (a success while open is
    // ignored); failure reopens it with a longer period.
    if (ok) this.onSuccess()
    else this.onFailure()
  }

  /** A call succeeded. Closed: resets the failure count. Half-open: the probe passed, close. */
  onSuccess(): void {
    if (this.#state === 'closed') {
      this.#failures = 0
    } else if (this.#state === 'half-open') {
      this.#failures = 0
      this.#currentOpenMs = this.openMs
      this.#transition('closed')
    }
    // Open: a late answer to a call sent before the circuit opened proves nothing about now.
  }

  /** A call failed or timed out. Closed: counts, opens at the threshold. Half-open: reopens. */
  onFailure(): void {
    if (this.#state === 'closed') {
      if (++this.#failures >= this.failureThreshold) this.#open(this.openMs)
    } else if (this.#state === 'half-open') {
      this.#currentOpenMs = Math.min(this.maxOpenMs, this.#currentOpenMs * 2)
      this.#open(this.#currentOpenMs)
    }
  }

  /** Opens the circuit now, whatever the count (a failure that must not be retried blindly). */
  trip(): void {
    if (this.#state === 'closed') this.#open(this.openMs)
    else if (this.#state === 'half-open') this.onFailure()
  }

  /** Closes the circuit now and forgets failures and backoff. */
  reset(): void {
    this.#failures = 0
    this.#currentOpenMs = this.openMs
    if (this.#state !== 'closed') this.#transition('closed')
  }

  #open(forMs: number): void {
    this.#openUntil = this.#now() + forMs
    this.#transition('open')
    this.#scheduleProbe()
  }

  #transition(to: BreakerState): void {
    const from = this.#state
    this.#state = to
    this.#epoch++
    if (to === 'open') this.#failures = 0
    if (this.#onStateChange !== undefined) {
      try {
        this.#onStateChange(to, from)
      } catch {
        // A throwing listener must not leave the breaker half-updated or break the caller.
      }
    }
  }
}

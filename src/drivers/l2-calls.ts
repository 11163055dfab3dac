import { performance } from 'node:perf_hooks'
import { ErrorCodes, L2Error, ValidationError } from '../errors.js'
import type { CircuitBreaker } from './circuit-breaker.js'
import { DeadlineClock, Deadlined } from './deadline-clock.js'

// What a call is, which decides what its failure means (see `ResilientL2`).
/** Resolve to the fallback, count towards the breaker. */
export const READ = 0
/** set/setMany: the old value may still be in L2, so queue a delete of the keys. */
export const WRITE = 1
/** Queue the invalidation itself. */
export const INVALIDATE = 2
/** Ping and close: silent, no accounting. */
export const PROBE = 3
/** Replayed invalidation: reported, no breaker accounting (the probe decides). */
export const REPLAY = 4
/**
 * Invalidation sent while the probe replays: on failure queued like {@link INVALIDATE}; no
 * success accounting (the probe decides when the circuit closes).
 */
export const CATCH_UP = 5

/** Call outcome marker: resolve to the driver's value rather than a fixed one. */
export const DRIVER_VALUE = Symbol('driver value')
/** Fallback marker for getMany: an array of `undefined` as long as the keys (the payload). */
export const MANY = Symbol('many')
/** Fallback of internal calls, to tell failure from any value. */
export const FAILED = Symbol('failed')
/** Internal call refused for a bad argument: retrying it can never succeed. */
export const INVALID = Symbol('invalid')

/**
 * Called for every failed call (rejected, thrown or timed out), after its caller got the fallback.
 * `epoch` is the breaker's epoch when the call started (-1 when it never started).
 */
export type OnCallFailed = (
  op: string,
  kind: number,
  payload: unknown,
  epoch: number,
  error: unknown,
  timedOut: boolean,
) => void

/** Told how long an L2 call took, in ms, once it settled (answered, failed or timed out). */
export type L2CallObserver = (operation: string, ms: number) => void

/**
 * Who wants the duration of L2 calls (a metrics exporter). Reading the clock costs more than the
 * rest of a call's bookkeeping (see `deadline-clock.ts`), so calls are timed only while someone
 * observes. One object per cache, shared by every `ResilientL2` it builds, so that observers
 * survive an `initialize()` that replaces the L2.
 */
export class L2Timing {
  readonly #observers = new Set<L2CallObserver>()
  /** `undefined` while nobody observes: calls then skip the clock. */
  observe: L2CallObserver | undefined = undefined

  /** Adds `observer`; returns the function that removes it. */
  add(observer: L2CallObserver): () => void {
    this.#observers.add(observer)
    this.#update()
    return () => {
      this.#observers.delete(observer)
      this.#update()
    }
  }

  #update(): void {
    const observers = [...this.#observers]
    this.observe =
      observers.length === 0
        ? undefined
        : (operation, ms) => {
            for (const observer of observers) {
              try {
                observer(operation, ms)
              } catch {
                // An observer must never fail the call it measures.
              }
            }
          }
  }
}

/** One call in flight. */
class Call extends Deadlined {
  done = false
  /** `performance.now()` when tracking started; 0 when nobody times calls. */
  startedAt = 0
  resolve: (value: unknown) => void
  constructor(
    readonly op: string,
    readonly kind: number,
    readonly success: unknown,
    readonly fallback: unknown,
    readonly payload: unknown,
    readonly timeoutMs: number,
    readonly epoch: number,
    resolve: (value: unknown) => void,
  ) {
    super()
    this.resolve = resolve
  }
}

// `new Promise(capture)` hands us the resolver without allocating an executor closure per call.
let captured: ((value: unknown) => void) | undefined
function capture(resolve: (value: unknown) => void): void {
  captured = resolve
}

/** The value a failed call resolves to. */
export function fallbackOf(fallback: unknown, payload: unknown): unknown {
  return fallback === MANY ? new Array(payload as number).fill(undefined) : fallback
}

/**
 * Turns driver promises into promises that never reject and always settle in time: with the
 * driver's answer (or a fixed success value), or with a fallback when the driver rejects, throws or
 * does not answer within the timeout. What a failure means (counting, breaker, queueing) is left
 * to the owner's {@link OnCallFailed}; a success of a call started in the breaker's current epoch
 * is reported to the breaker here, on the hot path, with no allocation beyond the call itself.
 */
export class CallTracker {
  readonly #clock: DeadlineClock<Call>
  readonly #breaker: CircuitBreaker
  readonly #onFailed: OnCallFailed
  readonly #timing: L2Timing | undefined

  constructor(
    commandTimeoutMs: number,
    breaker: CircuitBreaker,
    onFailed: OnCallFailed,
    timing?: L2Timing,
  ) {
    this.#clock = new DeadlineClock<Call>(commandTimeoutMs, this.#onExpire)
    this.#breaker = breaker
    this.#onFailed = onFailed
    this.#timing = timing
  }

  /**
   * Settles the returned promise with `p`'s answer (`success`, or the driver's value for
   * {@link DRIVER_VALUE}), or with the fallback on failure or at the deadline.
   */
  track<T>(
    p: Promise<unknown>,
    op: string,
    kind: number,
    success: unknown,
    fallback: unknown,
    payload: unknown,
    timeoutMs = this.#clock.timeoutMs,
  ): Promise<T> {
    const out = new Promise(capture) as Promise<T>
    const call = new Call(
      op,
      kind,
      success,
      fallback,
      payload,
      timeoutMs,
      this.#breaker.epoch,
      captured!,
    )
    captured = undefined
    if (this.#timing?.observe !== undefined) call.startedAt = performance.now()
    this.#clock.start(call, timeoutMs)
    p.then(
      (value) => this.#answered(call, value),
      (error) => this.#rejected(call, error),
    )
    return out
  }

  /** The driver threw instead of returning a promise: a failure like any other. */
  thrown<T>(
    op: string,
    kind: number,
    fallback: unknown,
    payload: unknown,
    error: unknown,
  ): Promise<T> {
    this.#onFailed(op, kind, payload, this.#breaker.epoch, error, false)
    return Promise.resolve(fallbackOf(fallback, payload) as T)
  }

  /**
   * Runs an internal call (probe, replay, close) bounded by `timeoutMs`; resolves to its value,
   * {@link FAILED}, or {@link INVALID} when the driver refused its arguments. Never rejects.
   */
  internal<T>(
    op: string,
    kind: number,
    start: () => Promise<T>,
    timeoutMs = this.#clock.timeoutMs,
  ): Promise<T | typeof FAILED | typeof INVALID> {
    let p: Promise<T>
    try {
      p = start()
    } catch (error) {
      this.#onFailed(op, kind, undefined, -1, error, false)
      return Promise.resolve(error instanceof ValidationError ? INVALID : FAILED)
    }
    return this.track(p, op, kind, DRIVER_VALUE, FAILED, undefined, timeoutMs)
  }

  /**
   * A driver's listing (`start`), each step tracked like a read (`op`, bounded by the command
   * timeout, counted by the breaker); empty batches are passed over. A step that fails or times
   * out ends the listing (the failure reported like any failed read), and so does `go()` turning
   * `false` (L2 left use: no step is sent while the circuit is open). Never rejects.
   */
  async *steps<T>(
    op: string,
    start: () => AsyncIterable<T[]>,
    go: () => boolean,
  ): AsyncGenerator<T[], void, undefined> {
    let source: AsyncIterator<T[]>
    try {
      source = start()[Symbol.asyncIterator]()
    } catch (error) {
      await this.thrown(op, READ, FAILED, undefined, error)
      return
    }
    let done = false
    try {
      while (go()) {
        let step: Promise<IteratorResult<T[]>>
        try {
          step = source.next()
        } catch (error) {
          await this.thrown(op, READ, FAILED, undefined, error)
          return
        }
        const result = await this.track<IteratorResult<T[]> | typeof FAILED | typeof INVALID>(
          step,
          op,
          READ,
          DRIVER_VALUE,
          FAILED,
          undefined,
        )
        if (result === FAILED || result === INVALID) return
        if (result.done === true) {
          done = true
          return
        }
        if (result.value.length > 0) yield result.value
      }
    } finally {
      // Stopped early (by the consumer, a failure or a timeout): the driver stops listing, once
      // any step still in flight settled. Its answer no longer matters.
      if (!done) {
        try {
          source.return?.()?.catch(() => {})
        } catch {
          // An iterator that cannot be closed keeps nothing open that we could release.
        }
      }
    }
  }

  #settle(call: Call): void {
    call.done = true
    this.#clock.stop(call)
    // A timed-out call is observed at the time its caller gave up: what the caller waited.
    if (call.startedAt !== 0) this.#timing?.observe?.(call.op, performance.now() - call.startedAt)
  }

  #answered(call: Call, value: unknown): void {
    if (call.done) return // already timed out: the caller has moved on
    this.#settle(call)
    call.resolve(call.success === DRIVER_VALUE ? value : call.success)
    if (call.kind <= INVALIDATE && call.epoch === this.#breaker.epoch) this.#breaker.onSuccess()
  }

  #rejected(call: Call, error: unknown): void {
    if (call.done) return
    this.#settle(call)
    const invalidArgument = error instanceof ValidationError
    call.resolve(
      invalidArgument && call.fallback === FAILED
        ? INVALID
        : fallbackOf(call.fallback, call.payload),
    )
    this.#onFailed(call.op, call.kind, call.payload, call.epoch, error, false)
  }

  readonly #onExpire = (call: Call): void => {
    if (call.done) return
    this.#settle(call)
    call.resolve(fallbackOf(call.fallback, call.payload))
    const error = new L2Error(
      ErrorCodes.L2_TIMEOUT,
      call.op,
      `no answer within ${call.timeoutMs} ms`,
    )
    this.#onFailed(call.op, call.kind, call.payload, call.epoch, error, true)
  }
}

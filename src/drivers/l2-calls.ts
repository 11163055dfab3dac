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
 * What a kind of call is, fixed per operation (module constants, so that a call allocates none):
 * its name, what its failure means (`kind`), what it resolves to when the driver answers (`ok`,
 * or the driver's value for {@link DRIVER_VALUE}) and when it does not (`fallback`), and whether
 * it SCANs the keyspace (then bounded by the scan timeout rather than the command timeout).
 */
export interface CallSpec {
  readonly op: string
  readonly kind: number
  readonly ok: unknown
  readonly fallback: unknown
  readonly scan?: boolean
}

/** A call that failed, as its owner's failure policy sees it. */
export interface FailedCall {
  readonly spec: CallSpec
  /** The key(s) or invalidation a failed write or invalidation queues. */
  readonly payload: unknown
  /** The breaker's epoch when the call started (-1 when it never started). */
  readonly epoch: number
}

/** Called for every failed call (rejected, thrown or timed out), after its caller got the fallback. */
export type OnCallFailed = (call: FailedCall, error: unknown, timedOut: boolean) => void

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

/** One call in flight: the only object a call allocates besides its promise. */
class Call extends Deadlined implements FailedCall {
  done = false
  /** `performance.now()` when tracking started; 0 when nobody times calls. */
  startedAt = 0
  timeoutMs = 0
  constructor(
    readonly spec: CallSpec,
    readonly payload: unknown,
    readonly epoch: number,
    readonly resolve: (value: unknown) => void,
  ) {
    super()
  }
}

// `new Promise(capture)` hands us the resolver without allocating an executor closure per call.
let captured: ((value: unknown) => void) | undefined
function capture(resolve: (value: unknown) => void): void {
  captured = resolve
}

/** The value a call of `spec` resolves to when it fails. */
function fallbackOf(spec: CallSpec, payload: unknown): unknown {
  return spec.fallback === MANY ? new Array(payload as number).fill(undefined) : spec.fallback
}

/** What a {@link CallTracker} is built with. */
export interface CallTrackerSetup {
  commandTimeoutMs: number
  /** The bound of calls whose spec has `scan`. */
  scanTimeoutMs: number
  breaker: CircuitBreaker
  onFailed: OnCallFailed
  timing?: L2Timing | undefined
}

/**
 * Turns driver promises into promises that never reject and always settle in time: with the
 * driver's answer (or the spec's `ok`), or with the spec's fallback when the driver rejects, throws
 * or does not answer within the timeout. What a failure means is the owner's {@link OnCallFailed};
 * a success of a call started in the breaker's current epoch is reported to the breaker here.
 */
export class CallTracker {
  readonly #clock: DeadlineClock<Call>
  readonly #setup: CallTrackerSetup

  constructor(setup: CallTrackerSetup) {
    this.#setup = setup
    this.#clock = new DeadlineClock<Call>(setup.commandTimeoutMs, this.#onExpire)
  }

  /** Settles the returned promise with `p`'s answer, or the fallback on failure or at the deadline. */
  track<T>(spec: CallSpec, p: Promise<unknown>, payload?: unknown, timeoutMs?: number): Promise<T> {
    const out = new Promise(capture) as Promise<T>
    const call = new Call(spec, payload, this.#setup.breaker.epoch, captured!)
    captured = undefined
    if (this.#setup.timing?.observe !== undefined) call.startedAt = performance.now()
    call.timeoutMs =
      timeoutMs ?? (spec.scan === true ? this.#setup.scanTimeoutMs : this.#clock.timeoutMs)
    this.#clock.start(call, call.timeoutMs)
    p.then(
      (value) => this.#answered(call, value),
      (error) => this.#rejected(call, error),
    )
    return out
  }

  /** The driver threw instead of returning a promise: a failure like any other. */
  thrown<T>(spec: CallSpec, payload: unknown, error: unknown): Promise<T> {
    this.#setup.onFailed({ spec, payload, epoch: this.#setup.breaker.epoch }, error, false)
    if (error instanceof ValidationError && spec.fallback === FAILED) {
      return Promise.resolve(INVALID as T)
    }
    return Promise.resolve(fallbackOf(spec, payload) as T)
  }

  /**
   * Runs `start` as a call of `spec` (whose fallback is {@link FAILED}): resolves to its value,
   * `FAILED`, or {@link INVALID} when the driver refused its arguments. Never rejects.
   */
  internal<T>(
    spec: CallSpec,
    start: () => Promise<T>,
    timeoutMs?: number,
  ): Promise<T | typeof FAILED | typeof INVALID> {
    let p: Promise<T>
    try {
      p = start()
    } catch (error) {
      return this.thrown(spec, undefined, error)
    }
    return this.track(spec, p, undefined, timeoutMs)
  }

  /**
   * A driver's listing (`start`), each step tracked as a call of `spec` (a read, fallback
   * {@link FAILED}); empty batches are passed over. A step that fails or times out ends the
   * listing, and so does `go()` turning `false` (L2 left use). Never rejects.
   */
  async *steps<T>(
    spec: CallSpec,
    start: () => AsyncIterable<T[]>,
    go: () => boolean,
  ): AsyncGenerator<T[], void, undefined> {
    let source: AsyncIterator<T[]>
    try {
      source = start()[Symbol.asyncIterator]()
    } catch (error) {
      await this.thrown(spec, undefined, error)
      return
    }
    let done = false
    try {
      while (go()) {
        const result = await this.internal(spec, () => source.next())
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
    if (call.startedAt !== 0) {
      this.#setup.timing?.observe?.(call.spec.op, performance.now() - call.startedAt)
    }
  }

  #answered(call: Call, value: unknown): void {
    if (call.done) return // already timed out: the caller has moved on
    this.#settle(call)
    const { spec } = call
    call.resolve(spec.ok === DRIVER_VALUE ? value : spec.ok)
    const { breaker } = this.#setup
    if (spec.kind <= INVALIDATE && call.epoch === breaker.epoch) breaker.onSuccess()
  }

  #rejected(call: Call, error: unknown): void {
    if (call.done) return
    this.#settle(call)
    const invalidArgument = error instanceof ValidationError
    call.resolve(
      invalidArgument && call.spec.fallback === FAILED
        ? INVALID
        : fallbackOf(call.spec, call.payload),
    )
    this.#setup.onFailed(call, error, false)
  }

  readonly #onExpire = (call: Call): void => {
    if (call.done) return
    this.#settle(call)
    call.resolve(fallbackOf(call.spec, call.payload))
    const message = `no answer within ${call.timeoutMs} ms`
    this.#setup.onFailed(call, new L2Error(ErrorCodes.L2_TIMEOUT, call.spec.op, message), true)
  }
}

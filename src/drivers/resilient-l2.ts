import { ErrorCodes, invalid, L2Error, ValidationError } from '../errors.js'
import { type BreakerState, CircuitBreaker } from './circuit-breaker.js'
import type { L2Driver, L2WriteItem } from './l2-driver.js'

/** Options of a {@link ResilientL2}. */
export interface ResilientL2Options {
  /**
   * Longest wait for any L2 call, in ms. A call still unanswered then resolves to its fallback
   * and counts as a failure (`ERR_L2_TIMEOUT`). Default 250.
   */
  commandTimeoutMs?: number
  /**
   * Longest wait for `deleteByPattern` and `clear`, in ms. They SCAN the whole keyspace, which can
   * legitimately take seconds; bounding them by `commandTimeoutMs` would fail them every time on a
   * large database, and their replay too, so the cache would never recover. Each SCAN step is
   * still quick to fail when Redis is down. Default 30 000.
   */
  scanTimeoutMs?: number
  /** The circuit breaker in front of the driver. */
  breaker?: {
    /** Consecutive failed calls (timeouts included) that open the circuit. Default 5. */
    failureThreshold?: number
    /** How long calls are not sent after the circuit opens, and the probe period. Default 1000 ms. */
    openMs?: number
    /** Cap of the open period, which doubles after each failed probe. Default `openMs` (no backoff). */
    maxOpenMs?: number
  }
  /**
   * Most invalidations (keys + tags + patterns) remembered while L2 is unreachable. One more, and
   * they collapse into a single `clear()` of the prefix, replayed on recovery. Default 10 000.
   */
  maxPendingInvalidations?: number
}

/** Hooks of a {@link ResilientL2}; each is called synchronously and may not throw (errors are swallowed). */
export interface ResilientL2Hooks {
  /** A call failed or timed out (`ERR_L2_UNAVAILABLE` / `ERR_L2_TIMEOUT`). Not called for calls skipped while open. */
  onError?(error: L2Error): void
  /** The circuit opened: L2 is not used until it recovers. Called once per outage. */
  onDegraded?(reason: string): void
  /** The circuit closed again, after every pending invalidation was replayed. */
  onRecovered?(): void
}

/** Counters of a {@link ResilientL2}; the object is live (read it, do not keep a copy). */
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

// What to do when a call fails.
const READ = 0 // resolve to the fallback, count towards the breaker
const WRITE = 1 // set/setMany: the old value may still be in L2, so queue a delete of the keys
const INVALIDATE = 2 // queue the invalidation itself
const PROBE = 3 // ping and close: silent, no accounting
const REPLAY = 4 // replayed invalidation: reported, no breaker accounting (the probe decides)

/** Call outcome marker: resolve to the driver's value rather than a fixed one. */
const DRIVER_VALUE = Symbol('driver value')
/** Fallback marker for getMany: an array of `undefined` as long as the keys. */
const MANY = Symbol('many')
/** Fallback of internal calls, to tell failure from any value. */
const FAILED = Symbol('failed')
/** Internal call refused for a bad argument: retrying it can never succeed. */
const INVALID = Symbol('invalid')

type Invalidation =
  | { kind: 'keys'; keys: readonly string[] }
  | { kind: 'tags'; tags: readonly string[] }
  | { kind: 'pattern'; pattern: string | RegExp }
  | { kind: 'clear' }

const CLEAR: Invalidation = { kind: 'clear' }
const RESOLVED_UNDEFINED: Promise<undefined> = Promise.resolve(undefined)
const RESOLVED_FALSE: Promise<boolean> = Promise.resolve(false)
const RESOLVED_ZERO: Promise<number> = Promise.resolve(0)

/**
 * Ticks per `commandTimeoutMs`. Calls in the deadline list time out on a coarse clock (a tick
 * counter advanced by one interval timer) instead of reading the time on every call: reading
 * `performance.now()` costs more than the rest of the bookkeeping. A call then times out between
 * `commandTimeoutMs` and `commandTimeoutMs * (1 + 1 / TICKS)` after it started, never earlier.
 */
const TICKS = 10

/** One call in flight: a node of the deadline list. */
class Call {
  prev: Call | undefined = undefined
  next: Call | undefined = undefined
  done = false
  /** Own timer of a call with a longer timeout than `commandTimeoutMs` (not in the list). */
  timer: NodeJS.Timeout | undefined = undefined
  resolve: (value: unknown) => void
  constructor(
    readonly op: string,
    readonly kind: number,
    readonly success: unknown,
    readonly fallback: unknown,
    readonly payload: unknown,
    readonly deadline: number,
    readonly timeoutMs: number,
    readonly epoch: number,
    resolve: (value: unknown) => void,
  ) {
    this.resolve = resolve
  }
}

// `new Promise(capture)` hands us the resolver without allocating an executor closure per call.
let captured: ((value: unknown) => void) | undefined
function capture(resolve: (value: unknown) => void): void {
  captured = resolve
}

function toL2Error(op: string, error: unknown): L2Error {
  if (error instanceof L2Error) return error
  const message = error instanceof Error ? error.message : String(error)
  return new L2Error(ErrorCodes.L2_UNAVAILABLE, op, message, error)
}

function positive(value: unknown, field: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalid(field, `must be a number > 0, got ${String(value)}`)
  }
  return value
}

/**
 * Wraps an {@link L2Driver} so that L2 can never fail or slow down a request (SPEC guarantee 5).
 *
 * - Every call is bounded by `commandTimeoutMs` and never rejects: reads resolve to a fallback
 *   (`undefined`, an array of `undefined`), writes to whether they applied, invalidations to the
 *   count removed (0 when not applied), and `increment` / `addToSet` / `getSet` to `undefined`
 *   when L2 could not answer, so the caller can fall back to memory.
 * - A circuit breaker opens after `failureThreshold` consecutive failures; while it is open calls
 *   are not sent at all, and a background probe (`driver.ping`) runs every open period, so that
 *   recovery happens without traffic.
 * - Nothing stale survives an outage. An invalidation that fails or is skipped is remembered and
 *   replayed before L2 is used again; so is a write that did not apply (as a delete of its keys),
 *   because L2 may still hold the previous value. Since either may have left L2 out of date, a
 *   failed write or invalidation opens the circuit at once, without waiting for the threshold.
 *   While pending invalidations are replayed nothing else is sent, so they commute: they are
 *   deduplicated and replayed as clear, keys, tags, then patterns in arrival order.
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
  readonly #breaker: CircuitBreaker
  readonly #hooks: ResilientL2Hooks
  #accepting = true
  #closed = false
  #lastFailure = ''
  // Deadline list: every call has the same timeout, so arrival order is deadline order, and the
  // ticker only ever looks at the head. It runs while calls are in flight (and a little after).
  #head: Call | undefined = undefined
  #tail: Call | undefined = undefined
  #tick = 0
  #idleTicks = 0
  #ticker: NodeJS.Timeout | undefined = undefined
  readonly #tickMs: number
  // Pending invalidations.
  #pendingClear = false
  readonly #pendingKeys = new Set<string>()
  readonly #pendingTags = new Set<string>()
  #pendingPatterns: (string | RegExp)[] = []
  // Probe.
  #probeTimer: NodeJS.Timeout | undefined = undefined
  #probing = false

  constructor(driver: L2Driver, options: ResilientL2Options = {}, hooks: ResilientL2Hooks = {}) {
    if (typeof driver !== 'object' || driver === null || typeof driver.get !== 'function') {
      throw invalid('driver', 'must implement L2Driver')
    }
    this.driver = driver
    this.commandTimeoutMs = positive(options.commandTimeoutMs, 'commandTimeoutMs', 250)
    this.#tickMs = Math.max(1, this.commandTimeoutMs / TICKS)
    this.scanTimeoutMs = Math.max(
      this.commandTimeoutMs,
      positive(options.scanTimeoutMs, 'scanTimeoutMs', 30_000),
    )
    const max = positive(options.maxPendingInvalidations, 'maxPendingInvalidations', 10_000)
    if (!Number.isInteger(max)) throw invalid('maxPendingInvalidations', 'must be an integer')
    this.maxPendingInvalidations = max
    this.#hooks = hooks
    this.#breaker = new CircuitBreaker({
      failureThreshold: options.breaker?.failureThreshold,
      openMs: options.breaker?.openMs,
      maxOpenMs: options.breaker?.maxOpenMs,
      onStateChange: (to, from) => this.#onBreakerChange(to, from),
    })
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
    return (
      (this.#pendingClear ? 1 : 0) +
      this.#pendingKeys.size +
      this.#pendingTags.size +
      this.#pendingPatterns.length
    )
  }

  // ---------------------------------------------------------------------------------- reads

  /** The bytes at `key`; `undefined` on a miss, a failure, a timeout or while degraded. */
  get(key: string): Promise<Buffer | undefined> {
    if (!this.#accepting) return this.#skip(RESOLVED_UNDEFINED)
    let p: Promise<Buffer | undefined>
    try {
      p = this.driver.get(key)
    } catch (error) {
      return this.#thrown('get', READ, undefined, undefined, error)
    }
    return this.#track(p, 'get', READ, DRIVER_VALUE, undefined, undefined)
  }

  /** Aligned with `keys`; all `undefined` on a failure, a timeout or while degraded. */
  getMany(keys: readonly string[]): Promise<(Buffer | undefined)[]> {
    if (!this.#accepting) return this.#skip(Promise.resolve(new Array(keys.length).fill(undefined)))
    let p: Promise<(Buffer | undefined)[]>
    try {
      p = this.driver.getMany(keys)
    } catch (error) {
      return this.#thrown('getMany', READ, MANY, keys.length, error)
    }
    return this.#track(p, 'getMany', READ, DRIVER_VALUE, MANY, keys.length)
  }

  /** Members of a native set; `undefined` (not `[]`) when L2 could not answer. */
  getSet(key: string): Promise<string[] | undefined> {
    if (!this.#accepting) return this.#skip(RESOLVED_UNDEFINED)
    let p: Promise<string[]>
    try {
      p = this.driver.getSet(key)
    } catch (error) {
      return this.#thrown('getSet', READ, undefined, undefined, error)
    }
    return this.#track(p, 'getSet', READ, DRIVER_VALUE, undefined, undefined)
  }

  /** The counter's new value; `undefined` when L2 could not answer (fall back to memory). */
  increment(key: string, by: number, ttlMs: number): Promise<number | undefined> {
    if (!this.#accepting) return this.#skip(RESOLVED_UNDEFINED)
    let p: Promise<number>
    try {
      p = this.driver.increment(key, by, ttlMs)
    } catch (error) {
      return this.#thrown('increment', READ, undefined, undefined, error)
    }
    return this.#track(p, 'increment', READ, DRIVER_VALUE, undefined, undefined)
  }

  /** Members added; `undefined` when L2 could not answer (fall back to memory). */
  addToSet(key: string, members: readonly string[], ttlMs: number): Promise<number | undefined> {
    if (!this.#accepting) return this.#skip(RESOLVED_UNDEFINED)
    let p: Promise<number>
    try {
      p = this.driver.addToSet(key, members, ttlMs)
    } catch (error) {
      return this.#thrown('addToSet', READ, undefined, undefined, error)
    }
    return this.#track(p, 'addToSet', READ, DRIVER_VALUE, undefined, undefined)
  }

  /** A round trip through the breaker: `true` when L2 answered. `false` while degraded. */
  ping(): Promise<boolean> {
    if (!this.#accepting) return this.#skip(RESOLVED_FALSE)
    let p: Promise<void>
    try {
      p = this.driver.ping()
    } catch (error) {
      return this.#thrown('ping', READ, false, undefined, error)
    }
    return this.#track(p, 'ping', READ, true, false, undefined)
  }

  // ---------------------------------------------------------------------------------- writes

  /**
   * `true` when stored. `false` when not: then a delete of `key` is queued (L2 may still hold an
   * older value) and the circuit opens until it is replayed.
   */
  set(key: string, value: Buffer, ttlMs: number, tags: readonly string[]): Promise<boolean> {
    if (!this.#accepting) {
      this.#enqueueKey(key)
      return this.#skip(RESOLVED_FALSE)
    }
    let p: Promise<void>
    try {
      p = this.driver.set(key, value, ttlMs, tags)
    } catch (error) {
      return this.#thrown('set', WRITE, false, key, error)
    }
    return this.#track(p, 'set', WRITE, true, false, key)
  }

  /** `true` when all stored; `false` when not (as for {@link set}, for every key). */
  setMany(items: readonly L2WriteItem[]): Promise<boolean> {
    if (items.length === 0) return Promise.resolve(true)
    if (!this.#accepting) {
      for (const item of items) this.#enqueueKey(item.key)
      return this.#skip(RESOLVED_FALSE)
    }
    let p: Promise<void>
    try {
      p = this.driver.setMany(items)
    } catch (error) {
      return this.#thrown('setMany', WRITE, false, items, error)
    }
    return this.#track(p, 'setMany', WRITE, true, false, items)
  }

  // ---------------------------------------------------------------------------------- invalidations

  /** Keys removed from L2; 0 when not applied now (then queued and replayed on recovery). */
  delete(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return RESOLVED_ZERO
    const inv: Invalidation = { kind: 'keys', keys }
    if (!this.#accepting) return this.#skipInvalidation(inv, RESOLVED_ZERO)
    let p: Promise<number>
    try {
      p = this.driver.delete(keys)
    } catch (error) {
      return this.#thrown('delete', INVALIDATE, 0, inv, error)
    }
    return this.#track(p, 'delete', INVALIDATE, DRIVER_VALUE, 0, inv)
  }

  /** Entries removed from L2; 0 when not applied now (then queued and replayed on recovery). */
  deleteByTags(tags: readonly string[]): Promise<number> {
    if (tags.length === 0) return RESOLVED_ZERO
    const inv: Invalidation = { kind: 'tags', tags }
    if (!this.#accepting) return this.#skipInvalidation(inv, RESOLVED_ZERO)
    let p: Promise<number>
    try {
      p = this.driver.deleteByTags(tags)
    } catch (error) {
      return this.#thrown('deleteByTags', INVALIDATE, 0, inv, error)
    }
    return this.#track(p, 'deleteByTags', INVALIDATE, DRIVER_VALUE, 0, inv)
  }

  /**
   * Entries removed from L2; 0 when not applied now (then queued and replayed on recovery).
   * Bounded by `scanTimeoutMs`, not `commandTimeoutMs`: it SCANs the whole keyspace.
   */
  deleteByPattern(pattern: string | RegExp): Promise<number> {
    const inv: Invalidation = { kind: 'pattern', pattern }
    if (!this.#accepting) return this.#skipInvalidation(inv, RESOLVED_ZERO)
    let p: Promise<number>
    try {
      p = this.driver.deleteByPattern(pattern)
    } catch (error) {
      return this.#thrown('deleteByPattern', INVALIDATE, 0, inv, error)
    }
    return this.#track(p, 'deleteByPattern', INVALIDATE, DRIVER_VALUE, 0, inv, this.scanTimeoutMs)
  }

  /**
   * `true` when L2 was cleared now; `false` when queued for replay on recovery. Bounded by
   * `scanTimeoutMs`.
   */
  clear(): Promise<boolean> {
    if (!this.#accepting) return this.#skipInvalidation(CLEAR, RESOLVED_FALSE)
    let p: Promise<void>
    try {
      p = this.driver.clear()
    } catch (error) {
      return this.#thrown('clear', INVALIDATE, false, CLEAR, error)
    }
    return this.#track(p, 'clear', INVALIDATE, true, false, CLEAR, this.scanTimeoutMs)
  }

  /**
   * Stops the probe, forgets pending invalidations and closes the driver (bounded by
   * `commandTimeoutMs`, at least 1 s). Later calls resolve to their fallbacks. Never rejects.
   */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#accepting = false
    if (this.#probeTimer !== undefined) clearTimeout(this.#probeTimer)
    this.#probeTimer = undefined
    this.#dropPending()
    let p: Promise<void>
    try {
      p = this.driver.close()
    } catch {
      return
    }
    await this.#track(
      p,
      'close',
      PROBE,
      true,
      FAILED,
      undefined,
      Math.max(1000, this.commandTimeoutMs),
    )
  }

  // ---------------------------------------------------------------------------------- calls

  #skip<T>(result: Promise<T>): Promise<T> {
    this.counters.skipped++
    return result
  }

  #skipInvalidation<T>(inv: Invalidation, result: Promise<T>): Promise<T> {
    this.#enqueue(inv)
    return this.#skip(result)
  }

  /**
   * Settles the returned promise with `p`'s answer, or with the fallback at the deadline. Calls
   * with the common `commandTimeoutMs` share the deadline list and its single timer; the rare
   * longer ones (scans, close) get a timer of their own, so the list stays in deadline order.
   */
  #track<T>(
    p: Promise<unknown>,
    op: string,
    kind: number,
    success: unknown,
    fallback: unknown,
    payload: unknown,
    timeoutMs = this.commandTimeoutMs,
  ): Promise<T> {
    const out = new Promise(capture) as Promise<T>
    const call = new Call(
      op,
      kind,
      success,
      fallback,
      payload,
      this.#tick + TICKS + 1,
      timeoutMs,
      this.#breaker.epoch,
      captured!,
    )
    captured = undefined
    if (timeoutMs === this.commandTimeoutMs) {
      this.#link(call)
    } else {
      call.timer = setTimeout(this.#onOwnTimer, timeoutMs, call)
      call.timer.unref()
    }
    p.then(
      (value) => this.#answered(call, value),
      (error) => this.#rejected(call, error),
    )
    return out
  }

  #settle(call: Call): void {
    call.done = true
    if (call.timer === undefined) this.#unlink(call)
    else clearTimeout(call.timer)
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
    this.#failed(call.op, call.kind, call.payload, call.epoch, error, false)
  }

  #timedOut(call: Call): void {
    this.#settle(call)
    call.resolve(fallbackOf(call.fallback, call.payload))
    const error = new L2Error(
      ErrorCodes.L2_TIMEOUT,
      call.op,
      `no answer within ${call.timeoutMs} ms`,
    )
    this.#failed(call.op, call.kind, call.payload, call.epoch, error, true)
  }

  readonly #onOwnTimer = (call: Call): void => {
    if (!call.done) this.#timedOut(call)
  }

  /** The driver threw instead of returning a promise: a failure like any other. */
  #thrown<T>(
    op: string,
    kind: number,
    fallback: unknown,
    payload: unknown,
    error: unknown,
  ): Promise<T> {
    this.#failed(op, kind, payload, this.#breaker.epoch, error, false)
    return Promise.resolve(fallbackOf(fallback, payload) as T)
  }

  #failed(
    op: string,
    kind: number,
    payload: unknown,
    epoch: number,
    error: unknown,
    timedOut: boolean,
  ): void {
    if (kind === PROBE) return
    const l2Error = toL2Error(op, error)
    this.counters.errors++
    if (timedOut) this.counters.timeouts++
    this.#call(this.#hooks.onError, l2Error)
    // A bad argument (e.g. a reserved key) says nothing about Redis' health, and there is nothing
    // to invalidate: it never reached Redis.
    if (kind === REPLAY || error instanceof ValidationError) return
    this.#lastFailure = l2Error.message
    if (kind === READ) {
      if (epoch === this.#breaker.epoch) this.#breaker.onFailure()
      return
    }
    if (kind === WRITE) {
      if (typeof payload === 'string') this.#enqueueKey(payload)
      else for (const item of payload as readonly L2WriteItem[]) this.#enqueueKey(item.key)
    } else {
      this.#enqueue(payload as Invalidation)
    }
    this.#breaker.trip()
  }

  #link(call: Call): void {
    const tail = this.#tail
    if (tail === undefined) {
      this.#head = call
      this.#tail = call
      if (this.#ticker === undefined) {
        this.#idleTicks = 0
        this.#ticker = setInterval(this.#onTick, this.#tickMs)
        // A driver that hangs holds a socket or a request, which keeps the process alive; our
        // clock alone must not.
        this.#ticker.unref()
      }
    } else {
      call.prev = tail
      tail.next = call
      this.#tail = call
    }
  }

  #unlink(call: Call): void {
    const { prev, next } = call
    if (prev === undefined) this.#head = next
    else prev.next = next
    if (next === undefined) this.#tail = prev
    else next.prev = prev
    call.prev = undefined
    call.next = undefined
  }

  readonly #onTick = (): void => {
    const tick = ++this.#tick
    let call = this.#head
    while (call !== undefined && call.deadline <= tick) {
      const next = call.next
      this.#timedOut(call)
      call = next
    }
    if (this.#head !== undefined) {
      this.#idleTicks = 0
    } else if (++this.#idleTicks > TICKS) {
      // Idle for a whole timeout: stop ticking. Steady traffic keeps one interval running rather
      // than creating a timer per call.
      clearInterval(this.#ticker)
      this.#ticker = undefined
    }
  }

  #call<A>(hook: ((arg: A) => void) | undefined, arg: A): void {
    if (hook === undefined) return
    try {
      hook.call(this.#hooks, arg)
    } catch {
      // A hook's failure is the application's business; it must not break a cache call.
    }
  }

  // ---------------------------------------------------------------------------------- pending

  #enqueueKey(key: string): void {
    if (this.#closed || this.#pendingClear) return
    this.#pendingKeys.add(key)
    this.#checkOverflow()
  }

  #enqueue(inv: Invalidation): void {
    // A pending clear already covers everything queued after it (until its replay starts).
    if (this.#closed || this.#pendingClear) return
    switch (inv.kind) {
      case 'keys':
        for (const key of inv.keys) this.#pendingKeys.add(key)
        break
      case 'tags':
        for (const tag of inv.tags) this.#pendingTags.add(tag)
        break
      case 'pattern':
        this.#pendingPatterns.push(inv.pattern)
        break
      case 'clear':
        this.#dropPending()
        this.#pendingClear = true
        return
    }
    this.#checkOverflow()
  }

  #checkOverflow(): void {
    if (this.pendingInvalidations <= this.maxPendingInvalidations) return
    this.#dropPending()
    this.#pendingClear = true
    this.counters.collapsed++
  }

  #dropPending(): void {
    this.#pendingClear = false
    this.#pendingKeys.clear()
    this.#pendingTags.clear()
    this.#pendingPatterns = []
  }

  /**
   * Runs an internal call (probe, replay) bounded by `timeoutMs`; resolves to its value,
   * {@link FAILED}, or {@link INVALID} when the driver refused its arguments. Never rejects.
   */
  #internal<T>(
    op: string,
    kind: number,
    start: () => Promise<T>,
    timeoutMs = this.commandTimeoutMs,
  ): Promise<T | typeof FAILED | typeof INVALID> {
    let p: Promise<T>
    try {
      p = start()
    } catch (error) {
      this.#failed(op, kind, undefined, -1, error, false)
      return Promise.resolve(error instanceof ValidationError ? INVALID : FAILED)
    }
    return this.#track(p, op, kind, DRIVER_VALUE, FAILED, undefined, timeoutMs)
  }

  /** Replays pending invalidations until none is left; `false` at the first one that fails. */
  async #replay(): Promise<boolean> {
    const driver = this.driver
    for (;;) {
      if (this.#closed) return false
      if (this.#pendingClear) {
        // From here on, new invalidations are queued individually: the clear may already have
        // passed the keys they touch.
        this.#pendingClear = false
        const cleared = await this.#internal(
          'clear',
          REPLAY,
          () => driver.clear(),
          this.scanTimeoutMs,
        )
        if (cleared === FAILED) {
          this.#enqueue(CLEAR)
          return false
        }
      } else if (this.#pendingKeys.size > 0) {
        const batch: string[] = []
        for (const key of this.#pendingKeys) {
          batch.push(key)
          if (batch.length === 1000) break
        }
        if ((await this.#internal('delete', REPLAY, () => driver.delete(batch))) === FAILED) {
          return false
        }
        for (const key of batch) this.#pendingKeys.delete(key)
      } else if (this.#pendingTags.size > 0) {
        const batch: string[] = []
        for (const tag of this.#pendingTags) {
          batch.push(tag)
          if (batch.length === 100) break
        }
        if (
          (await this.#internal('deleteByTags', REPLAY, () => driver.deleteByTags(batch))) ===
          FAILED
        ) {
          return false
        }
        for (const tag of batch) this.#pendingTags.delete(tag)
      } else if (this.#pendingPatterns.length > 0) {
        const patterns = this.#pendingPatterns
        const pattern = patterns[0]!
        const result = await this.#internal(
          'deleteByPattern',
          REPLAY,
          () => driver.deleteByPattern(pattern),
          this.scanTimeoutMs,
        )
        if (result === FAILED) return false
        // A collapse meanwhile replaced the array; then there is nothing to remove.
        if (this.#pendingPatterns === patterns && patterns[0] === pattern) patterns.shift()
      } else {
        return true
      }
      this.counters.replayed++
    }
  }

  // ---------------------------------------------------------------------------------- breaker

  #onBreakerChange(to: BreakerState, from: BreakerState): void {
    if (to === 'open') {
      this.#accepting = false
      if (from === 'closed') {
        const reason = this.#lastFailure ? `L2 unavailable: ${this.#lastFailure}` : 'L2 unavailable'
        this.#call(this.#hooks.onDegraded, reason)
      }
      this.#scheduleProbe()
    } else if (to === 'closed') {
      if (this.#closed) return
      this.#accepting = true
      this.#call(this.#hooks.onRecovered, undefined)
    }
  }

  #scheduleProbe(): void {
    if (this.#closed || this.#probing || this.#probeTimer !== undefined) return
    const delay = Math.max(1, this.#breaker.retryAt - Date.now())
    this.#probeTimer = setTimeout(this.#onProbeTimer, delay)
    // A degraded cache must not keep the process alive on its own.
    this.#probeTimer.unref()
  }

  readonly #onProbeTimer = (): void => {
    this.#probeTimer = undefined
    void this.#probe()
  }

  /** Half-open probe: ping, replay pending invalidations, then close the circuit. */
  async #probe(): Promise<void> {
    if (this.#closed || this.#probing) return
    if (!this.#breaker.allowRequest()) {
      this.#scheduleProbe()
      return
    }
    this.#probing = true
    let ok = false
    try {
      const pong = await this.#internal('ping', PROBE, () => this.driver.ping())
      ok = pong !== FAILED && pong !== INVALID && (await this.#replay())
    } finally {
      this.#probing = false
    }
    if (this.#closed) return
    // Success closes only if nothing tripped the circuit meanwhile (the breaker ignores a success
    // while open); failure reopens it with a longer period.
    if (ok) this.#breaker.onSuccess()
    else this.#breaker.onFailure()
    if (this.#breaker.state === 'open') this.#scheduleProbe()
  }
}

function fallbackOf(fallback: unknown, payload: unknown): unknown {
  return fallback === MANY ? new Array(payload as number).fill(undefined) : fallback
}

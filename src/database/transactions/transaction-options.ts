/**
 * The options of {@link TransactionManager.execute} and the manager's defaults, their documented
 * defaults, and their validation (a `ValidationError` naming the field, e.g. `options.maxRetries`).
 *
 * And the waits between attempts: exponential backoff with full jitter (AWS Architecture Blog,
 * "Exponential Backoff and Jitter"): retry `n` waits a uniformly random time in
 * `[0, min(maxDelay, baseDelay * 2^(n-1)))`. Why full jitter: transactions that conflicted did so
 * because they ran at the same moment. A fixed or merely growing delay sends them back at the same
 * moment again; spreading each wait over the whole window is what de-synchronises them, and it
 * needs the least total work of the schemes the article compares.
 */
import { type Duration, toMs } from '../../cache/validate.js'
import { ErrorCodes, invalid } from '../../errors.js'
import { isRecord } from '../../option-checks.js'
import type { TransactionFailureKind } from './retryable-errors.js'

/** Prisma's isolation levels on PostgreSQL. */
export const ISOLATION_LEVELS = [
  'ReadUncommitted',
  'ReadCommitted',
  'RepeatableRead',
  'Serializable',
] as const

/** One of {@link ISOLATION_LEVELS}. */
export type IsolationLevel = (typeof ISOLATION_LEVELS)[number]

/** What `onRetry` is told before the manager waits and runs the transaction again. */
export interface RetryInfo {
  /** The transaction's `name`, if it has one. */
  readonly name: string | undefined
  /** The attempt that just failed (1 for the first). */
  readonly attempt: number
  /** Its error. */
  readonly error: unknown
  /** Why it is safe to retry. */
  readonly kind: TransactionFailureKind
  /** The backoff before the next attempt, in ms. */
  readonly delayMs: number
}

/** Settings that apply to every transaction of a manager, unless a call overrides them. */
export interface TransactionDefaults {
  /**
   * Retries after the first attempt (so at most `maxRetries + 1` attempts). Integer 0-100.
   * @default 3
   */
  maxRetries?: number
  /**
   * Longest one attempt may stay open (Prisma's `timeout`), ms or `'10s'`.
   * @default 5000
   */
  timeout?: Duration
  /**
   * Longest to wait for a connection to start an attempt (Prisma's `maxWait`).
   * @default 2000
   */
  maxWait?: Duration
  /**
   * Isolation level of the transaction.
   * @default the database's (`ReadCommitted` on PostgreSQL)
   */
  isolationLevel?: IsolationLevel
  /**
   * Backoff window of the first retry; it doubles per retry.
   * @default 20
   */
  baseDelay?: Duration
  /**
   * Longest backoff.
   * @default 1000; not less than `baseDelay`
   */
  maxDelay?: Duration
  /**
   * Called before each retry (logging, metrics). It must not throw; a throw is ignored, so a
   * logging bug cannot turn a retryable conflict into a failed transaction.
   */
  onRetry?: (info: RetryInfo) => void
}

/** Options of one `execute` call: the defaults' fields plus a name. */
export interface TransactionOptions extends TransactionDefaults {
  /** A label for logs and `onRetry` (e.g. `'createOrder'`); 1-200 characters. */
  name?: string
}

/** Options with every default applied, durations in ms. */
export interface ResolvedTransactionOptions {
  readonly maxRetries: number
  readonly timeoutMs: number
  readonly maxWaitMs: number
  readonly isolationLevel: IsolationLevel | undefined
  readonly baseDelayMs: number
  readonly maxDelayMs: number
  readonly onRetry: ((info: RetryInfo) => void) | undefined
  readonly name: string | undefined
}

/** The library defaults; Prisma's own for `timeout` and `maxWait`. */
export const DEFAULT_TRANSACTION_OPTIONS: ResolvedTransactionOptions = Object.freeze({
  maxRetries: 3,
  timeoutMs: 5_000,
  maxWaitMs: 2_000,
  isolationLevel: undefined,
  baseDelayMs: 20,
  maxDelayMs: 1_000,
  onRetry: undefined,
  name: undefined,
})

const MAX_RETRIES = 100
/** setTimeout's limit: Prisma's timers would fire at once above it. */
const MAX_TIMER_MS = 2 ** 31 - 1
const MAX_NAME_LENGTH = 200

/**
 * Validates `options` (reported under `root`, e.g. `'options'`) and applies them over `base`.
 * `name` is only accepted when `allowName` (a manager's defaults have no name).
 */
export function resolveTransactionOptions(
  options: unknown,
  root: string,
  base: ResolvedTransactionOptions,
  allowName = true,
): ResolvedTransactionOptions {
  if (options === undefined) return { ...base, name: allowName ? base.name : undefined }
  if (!isRecord(options)) throw invalid(root, `must be an options object, got ${typeOf(options)}`)
  const known = allowName ? OPTION_NAMES : OPTION_NAMES.filter((n) => n !== 'name')
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw invalid(`${root}.${key}`, `unknown option (expected one of: ${known.join(', ')})`)
    }
  }
  const o = options as TransactionOptions
  const resolved: ResolvedTransactionOptions = {
    maxRetries: o.maxRetries === undefined ? base.maxRetries : retries(o.maxRetries, root),
    timeoutMs: positiveMs(o.timeout, `${root}.timeout`) ?? base.timeoutMs,
    maxWaitMs: positiveMs(o.maxWait, `${root}.maxWait`) ?? base.maxWaitMs,
    isolationLevel:
      o.isolationLevel === undefined ? base.isolationLevel : level(o.isolationLevel, root),
    baseDelayMs: delayMs(o.baseDelay, `${root}.baseDelay`) ?? base.baseDelayMs,
    maxDelayMs: delayMs(o.maxDelay, `${root}.maxDelay`) ?? base.maxDelayMs,
    onRetry: o.onRetry === undefined ? base.onRetry : hook(o.onRetry, root),
    name: o.name === undefined ? base.name : label(o.name, root),
  }
  if (resolved.maxDelayMs < resolved.baseDelayMs) {
    const field = o.maxDelay !== undefined ? 'maxDelay' : 'baseDelay'
    throw invalid(
      `${root}.${field}`,
      `maxDelay (${resolved.maxDelayMs} ms) must not be less than baseDelay (${resolved.baseDelayMs} ms)`,
    )
  }
  return resolved
}

const OPTION_NAMES: readonly string[] = [
  'maxRetries',
  'timeout',
  'maxWait',
  'isolationLevel',
  'baseDelay',
  'maxDelay',
  'onRetry',
  'name',
]

function retries(value: unknown, root: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_RETRIES) {
    throw invalid(
      `${root}.maxRetries`,
      `must be an integer from 0 to ${MAX_RETRIES}, got ${show(value)}`,
    )
  }
  return value
}

/** A duration > 0 that a timer can hold; Prisma rejects a 0 timeout or maxWait. */
function positiveMs(value: Duration | undefined, field: string): number | undefined {
  const ms = delayMs(value, field)
  if (ms === 0) throw invalid(field, 'must be greater than 0 ms', ErrorCodes.INVALID_TTL)
  return ms
}

function delayMs(value: Duration | undefined, field: string): number | undefined {
  if (value === undefined) return undefined
  const ms = toMs(value, field)
  if (ms > MAX_TIMER_MS) {
    throw invalid(field, `must be at most ${MAX_TIMER_MS} ms, got ${ms}`, ErrorCodes.INVALID_TTL)
  }
  return ms
}

function level(value: unknown, root: string): IsolationLevel {
  if (typeof value === 'string' && (ISOLATION_LEVELS as readonly string[]).includes(value)) {
    return value as IsolationLevel
  }
  throw invalid(
    `${root}.isolationLevel`,
    `must be one of ${ISOLATION_LEVELS.join(', ')}, got ${show(value)}`,
  )
}

function hook(value: unknown, root: string): (info: RetryInfo) => void {
  if (typeof value !== 'function') {
    throw invalid(`${root}.onRetry`, `must be a function, got ${typeOf(value)}`)
  }
  return value as (info: RetryInfo) => void
}

function label(value: unknown, root: string): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > MAX_NAME_LENGTH) {
    throw invalid(
      `${root}.name`,
      `must be a non-blank string of at most ${MAX_NAME_LENGTH} characters, got ${show(value)}`,
    )
  }
  return value
}

function typeOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 40))
  return typeof value === 'number' ? String(value) : typeOf(value)
}

/** The window of backoff delays. */
export interface BackoffWindow {
  /** The first retry's upper bound, in ms. */
  readonly baseDelayMs: number
  /** No wait exceeds this, in ms. */
  readonly maxDelayMs: number
}

/**
 * The wait before retry number `retry` (1 for the first retry), in whole ms. `random` returns a
 * number in `[0, 1)`; tests pass their own to pin the draw.
 *
 * @example
 * ```ts
 * backoffDelay(3, { baseDelayMs: 20, maxDelayMs: 1000 }) // somewhere in [0, 80)
 * backoffDelay(3, { baseDelayMs: 20, maxDelayMs: 1000 }, () => 0.5) // 40
 * ```
 */
export function backoffDelay(
  retry: number,
  window: BackoffWindow,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(retry - 1, 0), 30)
  const ceiling = Math.min(window.maxDelayMs, window.baseDelayMs * 2 ** exponent)
  return Math.floor(random() * ceiling)
}

/**
 * Resolves after `ms` (at once for 0). The timer keeps the process alive on purpose: a script
 * awaiting a transaction between two attempts must not exit there.
 */
export function sleep(ms: number): Promise<void> {
  if (ms <= 0) return Promise.resolve()
  return new Promise((resolve) => setTimeout(resolve, ms))
}

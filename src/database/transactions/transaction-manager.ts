/**
 * Interactive Prisma transactions that retry what is safe to retry (deadlocks, serialization
 * failures, a start that found no connection, a connection lost before COMMIT) with exponential
 * backoff and full jitter, and report the outcome as a value instead of throwing.
 */
import { performance } from 'node:perf_hooks'
import { invalid } from '../../errors.js'
import {
  classifyTransactionError,
  type TransactionFailure,
  type TransactionFailureKind,
  type TransactionPhase,
} from './retryable-errors.js'
import {
  backoffDelay,
  DEFAULT_TRANSACTION_OPTIONS,
  type IsolationLevel,
  type ResolvedTransactionOptions,
  type RetryInfo,
  resolveTransactionOptions,
  sleep,
  type TransactionDefaults,
  type TransactionOptions,
} from './transaction-options.js'
import { TransactionCounters, type TransactionStats } from './transaction-stats.js'

/** Prisma's options of an interactive transaction. */
export interface PrismaTransactionOptions {
  /** The isolation level of the transaction. */
  isolationLevel?: IsolationLevel
  /** Longest the transaction may run, ms, before Prisma rolls it back. */
  timeout?: number
  /** Longest wait for a connection to start it, ms. */
  maxWait?: number
}

/** What the manager needs of a Prisma client (plain or `$extends`-ed): interactive `$transaction`. */
export interface TransactionCapableClient {
  /** Prisma's interactive transaction. */
  $transaction(
    fn: (tx: unknown) => Promise<unknown>,
    options?: PrismaTransactionOptions,
  ): Promise<unknown>
}

/**
 * The transaction client `fn` receives: the parameter of the client's interactive `$transaction`
 * overload (the last one, for generated and extended clients alike).
 */
export type TransactionClientOf<Client> = Client extends {
  /** The interactive overload whose callback parameter is read. */
  $transaction(fn: (tx: infer Tx) => unknown, options?: never): unknown
}
  ? Tx
  : never

/** The transaction committed. */
export interface TransactionSuccess<T> {
  /** Tells success and failure apart. */
  success: true
  /** What `fn` returned, from the attempt that committed. */
  data: T
  /** Never set on success. */
  error?: undefined
  /** Attempts made, 1 when nothing was retried. */
  attempts: number
  /** Wall time of the whole call in ms, retries and backoff included. */
  durationMs: number
}

/** The transaction did not commit; nothing of it is in the database. */
export interface TransactionFailed {
  /** Tells success and failure apart. */
  success: false
  /** Never set on failure. */
  data?: undefined
  /** The last attempt's error, as thrown (by `fn` or Prisma). */
  error: unknown
  /** What that error was; `'other'` for errors of `fn` itself. */
  errorKind: TransactionFailureKind
  /** Attempts made: 1 for an error not worth retrying, `maxRetries + 1` when retries ran out. */
  attempts: number
  /** Wall time of the whole call in ms. */
  durationMs: number
}

/** What {@link TransactionManager.execute} resolves to; branch on `success`. */
export type TransactionResult<T> = TransactionSuccess<T> | TransactionFailed

type Attempt<T> = { ok: true; data: T } | { ok: false; error: unknown; failure: TransactionFailure }

/**
 * Runs `fn` in `prisma.$transaction(fn, { isolationLevel, timeout, maxWait })` and runs it again,
 * after a jittered backoff, when the attempt failed in a way that is safe to retry (see
 * {@link classifyTransactionError}). Errors `fn` throws itself are never retried.
 *
 * `fn` may run more than once: keep effects outside the database (emails, HTTP calls) out of it,
 * or make them idempotent.
 *
 * @example
 * ```ts
 * const transactions = new TransactionManager(prisma, { maxRetries: 5 })
 * const result = await transactions.execute(
 *   async (tx) => {
 *     const from = await tx.account.findUniqueOrThrow({ where: { id: 1 } })
 *     if (from.balance < 30) throw new Error('insufficient funds') // not retried
 *     await tx.account.update({ where: { id: 1 }, data: { balance: { decrement: 30 } } })
 *     return tx.account.update({ where: { id: 2 }, data: { balance: { increment: 30 } } })
 *   },
 *   { isolationLevel: 'Serializable', timeout: '10s', name: 'transfer' },
 * )
 * if (!result.success) throw result.error
 * result.data.balance // typed: the Account row
 * transactions.getStats() // { total: 1, successful: 1, failed: 0, retried: 0, deadlocks: 0, ... }
 * ```
 */
export class TransactionManager<Client extends TransactionCapableClient> {
  readonly #prisma: Client
  readonly #defaults: ResolvedTransactionOptions
  readonly #counters = new TransactionCounters()

  /**
   * @param prisma A Prisma client, plain or extended.
   * @param defaults Settings for every `execute` call; each call may override them.
   * @throws ValidationError naming `prisma` or the bad `defaults.<field>`.
   */
  constructor(prisma: Client, defaults?: TransactionDefaults) {
    this.#prisma = prisma
    const candidate = prisma as unknown as { $transaction?: unknown } | null
    if (typeof candidate !== 'object' || candidate === null) {
      throw invalid('prisma', 'must be a Prisma client')
    }
    if (typeof candidate.$transaction !== 'function') {
      throw invalid(
        'prisma',
        'must be a Prisma client with $transaction (not a transaction client)',
      )
    }
    this.#defaults = resolveTransactionOptions(
      defaults,
      'defaults',
      DEFAULT_TRANSACTION_OPTIONS,
      false,
    )
  }

  /**
   * Runs `fn` in an interactive transaction, retrying safe failures up to `maxRetries` times.
   * Never rejects for a failed transaction: it resolves to `{ success: false, error }`.
   *
   * @param fn The transaction body; it gets the transaction client `tx`.
   * @param options Overrides of the manager's defaults, plus a `name`.
   * @returns `{ success, data?, error?, errorKind?, attempts, durationMs }`.
   * @throws ValidationError (as a rejection) naming `fn` or the bad `options.<field>`.
   *
   * @example
   * ```ts
   * const result = await transactions.execute((tx) => tx.order.create({ data }), { maxRetries: 3 })
   * ```
   */
  async execute<T>(
    fn: (tx: TransactionClientOf<Client>) => Promise<T>,
    options?: TransactionOptions,
  ): Promise<TransactionResult<T>> {
    if (typeof fn !== 'function') {
      throw invalid('fn', `must be a function (tx) => Promise, got ${typeof fn}`)
    }
    const settings = resolveTransactionOptions(options, 'options', this.#defaults)
    const startedAt = performance.now()
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.#attempt(fn, settings)
      if (outcome.ok) return this.#finish({ success: true, data: outcome.data }, attempt, startedAt)
      const { error, failure } = outcome
      this.#counters.recordFailure(failure.kind)
      if (!failure.retryable || attempt > settings.maxRetries) {
        return this.#finish({ success: false, error, errorKind: failure.kind }, attempt, startedAt)
      }
      const delayMs = backoffDelay(attempt, settings)
      notify(settings, { name: settings.name, attempt, error, kind: failure.kind, delayMs })
      await sleep(delayMs)
    }
  }

  /**
   * The counters since construction (or {@link resetStats}).
   *
   * @example
   * ```ts
   * const { total, successful, failed, retried, deadlocks } = transactions.getStats()
   * ```
   */
  getStats(): TransactionStats {
    return this.#counters.snapshot()
  }

  /** Sets every counter back to zero. */
  resetStats(): void {
    this.#counters.reset()
  }

  /** One attempt, and the phase it reached: what a failure means depends on it. */
  async #attempt<T>(
    fn: (tx: TransactionClientOf<Client>) => Promise<T>,
    settings: ResolvedTransactionOptions,
  ): Promise<Attempt<T>> {
    let phase: TransactionPhase = 'start'
    try {
      const data = (await this.#prisma.$transaction(async (tx: unknown) => {
        phase = 'body'
        const value = await fn(tx as TransactionClientOf<Client>)
        // From here Prisma sends COMMIT: a connection lost now leaves the outcome unknown.
        phase = 'commit'
        return value
      }, prismaOptions(settings))) as T
      return { ok: true, data }
    } catch (error) {
      return { ok: false, error, failure: classifyTransactionError(error, phase) }
    }
  }

  #finish<T>(
    outcome: { success: true; data: T } | Omit<TransactionFailed, 'attempts' | 'durationMs'>,
    attempts: number,
    startedAt: number,
  ): TransactionResult<T> {
    const durationMs = performance.now() - startedAt
    this.#counters.recordCall(outcome.success, attempts, durationMs)
    return { ...outcome, attempts, durationMs }
  }
}

function prismaOptions(settings: ResolvedTransactionOptions): PrismaTransactionOptions {
  const options: PrismaTransactionOptions = {
    timeout: settings.timeoutMs,
    maxWait: settings.maxWaitMs,
  }
  if (settings.isolationLevel !== undefined) options.isolationLevel = settings.isolationLevel
  return options
}

function notify(settings: ResolvedTransactionOptions, info: RetryInfo): void {
  try {
    settings.onRetry?.(info)
  } catch {
    // Documented: a throwing hook must not turn a retryable conflict into a failure.
  }
}

/**
 * Counters of a {@link TransactionManager}: how many transactions ran, how they ended, how often
 * and why they were retried, and how long they took (whole `execute` calls, backoff included).
 */
import { LatencyHistogram } from '../../prisma/metrics/histogram.js'
import type { TransactionFailureKind } from './retryable-errors.js'

/** A snapshot of the counters; a plain object, safe to serialise. */
export interface TransactionStats {
  /** `execute` calls that finished (successful + failed). */
  total: number
  /** Calls that committed. */
  successful: number
  /** Calls that gave up: a non-retryable error, or retries exhausted. */
  failed: number
  /** Calls that needed at least one retry (whatever their outcome). */
  retried: number
  /** Retries in all (a call retried three times counts 3). */
  retries: number
  /** Deadlocks seen (SQLSTATE 40P01), one per failed attempt. */
  deadlocks: number
  /** Serialization failures and write conflicts seen (40001 / P2034). */
  serializationFailures: number
  /** Attempts that got no connection within `maxWait`. */
  startTimeouts: number
  /** Attempts whose connection died. */
  connectionLosses: number
  /** Attempts that outlived their `timeout`. */
  timeouts: number
  /** Mean duration of a call in ms, retries and backoff included; 0 before any. */
  averageDurationMs: number
  /** 95th percentile of call durations in ms (within 0.8 %). */
  p95DurationMs: number
  /** Longest call in ms. */
  maxDurationMs: number
}

/** The failure kinds that have a counter, and which counter. */
const COUNTER_OF: Partial<Record<TransactionFailureKind, keyof Counts>> = {
  deadlock: 'deadlocks',
  serialization: 'serializationFailures',
  'start-timeout': 'startTimeouts',
  'connection-lost': 'connectionLosses',
  timeout: 'timeouts',
}

/** Durations (ms) of whole `execute` calls, retries and backoff included, by outcome. */
export interface TransactionDurations {
  readonly committed: LatencyHistogram
  readonly failed: LatencyHistogram
}

/**
 * The durations each snapshot was taken from: the Prometheus exporter reads its histograms
 * through the snapshot the manager's `getStats()` returns, keeping `TransactionStats` plain.
 */
const origins = new WeakMap<TransactionStats, TransactionDurations>()

/**
 * The duration histograms behind a `getStats()` snapshot, if it is one.
 * @internal
 */
export function transactionDurationsOf(stats: unknown): TransactionDurations | undefined {
  return typeof stats === 'object' && stats !== null
    ? origins.get(stats as TransactionStats)
    : undefined
}

/** Mutable counters behind {@link TransactionStats}; one per manager. */
export class TransactionCounters {
  #counts = emptyCounts()
  #durations = emptyDurations()

  /** Counts one failed attempt of kind `kind` (whether or not it is retried). */
  recordFailure(kind: TransactionFailureKind): void {
    const counter = COUNTER_OF[kind]
    if (counter !== undefined) this.#counts[counter]++
  }

  /** Counts one finished `execute` call. */
  recordCall(success: boolean, attempts: number, durationMs: number): void {
    this.#counts.total++
    if (success) this.#counts.successful++
    else this.#counts.failed++
    if (attempts > 1) this.#counts.retried++
    this.#counts.retries += attempts - 1
    const durations = success ? this.#durations.committed : this.#durations.failed
    durations.record(durationMs)
  }

  snapshot(): TransactionStats {
    const all = new LatencyHistogram()
    all.merge(this.#durations.committed)
    all.merge(this.#durations.failed)
    const stats: TransactionStats = {
      ...this.#counts,
      averageDurationMs: all.mean,
      p95DurationMs: all.count === 0 ? 0 : all.percentile(95),
      maxDurationMs: all.max,
    }
    origins.set(stats, this.#durations)
    return stats
  }

  reset(): void {
    this.#counts = emptyCounts()
    this.#durations = emptyDurations()
  }
}

function emptyDurations(): TransactionDurations {
  return { committed: new LatencyHistogram(), failed: new LatencyHistogram() }
}

type Counts = Omit<TransactionStats, 'averageDurationMs' | 'p95DurationMs' | 'maxDurationMs'>

function emptyCounts(): Counts {
  return {
    total: 0,
    successful: 0,
    failed: 0,
    retried: 0,
    retries: 0,
    deadlocks: 0,
    serializationFailures: 0,
    startTimeouts: 0,
    connectionLosses: 0,
    timeouts: 0,
  }
}

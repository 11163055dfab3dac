/**
 * What the service tells the health check about its queries (`recordQueryMetric`, `recordError`)
 * and what an optional `QueryMetrics` saw, turned into a result's slow queries, error figures and
 * performance figures.
 *
 * Query times are kept for the average and percentiles in a window bounded both in count (the
 * latest `capacity` samples) and in age (`windowMs`), so that a burst of slow queries an hour ago
 * does not keep a quiet service `degraded`, and memory stays fixed however long the process runs.
 *
 * Why not the project's `LatencyHistogram`: it accumulates forever and cannot forget old samples.
 * A health check runs every few seconds at most, so sorting a copy of at most `capacity` samples
 * then (about 30 µs for 1000) is cheaper than keeping rotating histograms, and exact.
 */
import { RingBuffer } from '../../prisma/metrics/ring-buffer.js'
import { ErrorCounts, errorLine } from './error-counts.js'
import type { ErrorFigures, PerformanceFigures, SlowQuery } from './health-result.js'
import type { HealthSettings } from './options.js'

/** What a query recorded with `recordQueryMetric` was, when known. */
export interface QueryMetricInfo {
  /** The model queried. */
  model?: string
  /** The operation. */
  operation?: string
  /** The SQL statement or statements it ran. */
  sql?: string | string[]
}

/** Performance figures when nothing was measured: `null`, not 0. */
export const noPerformance = (): PerformanceFigures => ({
  averageQueryTime: null,
  p95QueryTime: null,
  p99QueryTime: null,
  samples: 0,
  source: null,
})

/**
 * @example
 * ```ts
 * const activity = new RecordedActivity(settings)
 * activity.recordQuery(1250, { model: 'Order', operation: 'findMany' }, Date.now())
 * activity.slowQueries([]) // [{ durationMs: 1250, source: 'recorded', model: 'Order', ... }]
 * ```
 */
export class RecordedActivity {
  readonly #timings: QueryTimings
  readonly #errors: ErrorCounts
  readonly #slow: RingBuffer<SlowQuery>
  readonly #settings: HealthSettings

  constructor(settings: HealthSettings) {
    this.#settings = settings
    this.#timings = new QueryTimings(settings.sampleSize, settings.sampleWindowMs)
    // Enough error times to count past any threshold within the window.
    this.#errors = new ErrorCounts(
      settings.errorWindowMs,
      Math.max(1000, settings.recentErrors + 1),
    )
    this.#slow = new RingBuffer(settings.maxSlowQueries)
  }

  /** Counts one query time; a slow one is also listed. */
  recordQuery(durationMs: number, info: QueryMetricInfo | undefined, now: number): void {
    this.#timings.record(durationMs, now)
    if (durationMs <= this.#settings.slowQueryMs) return
    const sql = info?.sql
    this.#slow.push({
      durationMs,
      timestamp: new Date(now),
      source: 'recorded',
      model: typeof info?.model === 'string' ? info.model : null,
      operation: typeof info?.operation === 'string' ? info.operation : null,
      sql: typeof sql === 'string' ? [sql] : Array.isArray(sql) ? sql.map(String) : null,
      callSite: null,
    })
  }

  /** Counts one error by kind. */
  recordError(error: unknown, now: number): void {
    this.#errors.record(error, now)
  }

  /** Error figures as of `now`. */
  errorFigures(now: number): ErrorFigures {
    return this.#errors.figures(now)
  }

  /**
   * Recorded slow queries and `options.metrics`' slow queries, the latest first. A metrics object
   * that throws is reported in `failures` (it is the user's object).
   */
  slowQueries(failures: string[]): SlowQuery[] {
    const all = this.#slow.toArray()
    const metrics = this.#settings.metrics
    if (metrics !== undefined) {
      try {
        for (const entry of metrics.slowQueries()) {
          all.push({
            durationMs: entry.durationMs,
            timestamp: new Date(entry.timestamp),
            source: 'metrics',
            model: entry.model ?? null,
            operation: entry.operation,
            sql: entry.sql ?? null,
            callSite: entry.callSite ?? null,
          })
        }
      } catch (error) {
        failures.push(`options.metrics.slowQueries(): ${errorLine(error, 300)}`)
      }
    }
    all.sort((a, b) => b.timestamp.getTime() - a.timestamp.getTime())
    return all.slice(0, this.#settings.maxSlowQueries)
  }

  /**
   * Average and percentiles of the recorded times within the window; when none were recorded,
   * of `options.metrics`' database times (since it started or was reset).
   */
  performance(now: number, failures: string[]): PerformanceFigures {
    const recorded = this.#timings.summary(now)
    if (recorded.count > 0) {
      return {
        averageQueryTime: recorded.average,
        p95QueryTime: recorded.p95,
        p99QueryTime: recorded.p99,
        samples: recorded.count,
        source: 'recorded',
      }
    }
    const metrics = this.#settings.metrics
    if (metrics !== undefined) {
      try {
        const db = metrics.stats().totals.db
        if (db.count > 0) {
          return {
            averageQueryTime: db.mean,
            p95QueryTime: db.p95,
            p99QueryTime: db.p99,
            samples: db.count,
            source: 'metrics',
          }
        }
      } catch (error) {
        failures.push(`options.metrics.stats(): ${errorLine(error, 300)}`)
      }
    }
    return noPerformance()
  }
}

/** Average and percentiles of the samples in the window; `null`s when it is empty. */
export interface TimingSummary {
  count: number
  average: number | null
  p95: number | null
  p99: number | null
}

/**
 * @example
 * ```ts
 * const timings = new QueryTimings(1000, 300_000)
 * timings.record(12.5, Date.now())
 * timings.summary(Date.now()) // { count: 1, average: 12.5, p95: 12.5, p99: 12.5 }
 * ```
 */
export class QueryTimings {
  readonly #durations: Float64Array
  readonly #times: Float64Array
  /** Index the next sample is written to. */
  #next = 0
  #size = 0

  constructor(
    readonly capacity: number,
    readonly windowMs: number,
  ) {
    this.#durations = new Float64Array(capacity)
    this.#times = new Float64Array(capacity)
  }

  /** Adds one sample, overwriting the oldest when full. */
  record(ms: number, now: number): void {
    this.#durations[this.#next] = ms
    this.#times[this.#next] = now
    this.#next = (this.#next + 1) % this.capacity
    if (this.#size < this.capacity) this.#size++
  }

  /** The summary of the samples recorded within `windowMs` before `now` (nearest-rank percentiles). */
  summary(now: number): TimingSummary {
    const since = now - this.windowMs
    const kept: number[] = []
    for (let i = 0; i < this.#size; i++) {
      if (this.#times[i]! >= since) kept.push(this.#durations[i]!)
    }
    if (kept.length === 0) return { count: 0, average: null, p95: null, p99: null }
    kept.sort((a, b) => a - b)
    const rank = (p: number) => kept[Math.max(0, Math.ceil((p / 100) * kept.length) - 1)]!
    let sum = 0
    for (const ms of kept) sum += ms
    return { count: kept.length, average: sum / kept.length, p95: rank(95), p99: rank(99) }
  }
}

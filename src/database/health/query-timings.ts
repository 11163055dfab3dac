/**
 * The latest query times, for a health check's average and percentiles: a window bounded both in
 * count (the latest `capacity` samples) and in age (`windowMs`), so that a burst of slow queries
 * an hour ago does not keep a quiet service `degraded`, and memory stays fixed however long the
 * process runs.
 *
 * Why not the project's `LatencyHistogram`: it accumulates forever and cannot forget old samples.
 * A health check runs every few seconds at most, so sorting a copy of at most `capacity` samples
 * then (about 30 µs for 1000) is cheaper than keeping rotating histograms, and exact.
 */

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

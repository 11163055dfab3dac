import { LatencyHistogram, type LatencySummary } from './histogram.js'
import { hashText, SHAPE_SEED } from './query-shape.js'

/** Counters and latencies of one model and operation (or of all of them, for totals). */
export interface OperationCounters {
  /** Calls made. */
  queries: number
  /** Answered from the cache, fresh. */
  hits: number
  /** Answered from the cache with a stale value while it was refreshed. */
  swr: number
  /** Went to the database and were (or could have been) cached. */
  misses: number
  /** Did not use the cache: writes, raw queries, `cacheStrategy: false`, transactions. */
  uncached: number
  /** Calls that failed (also counted under their cache status). */
  errors: number
  /** `(hits + swr) / (hits + swr + misses)` in percent, 0-100; 0 before the first cached read. */
  hitRate: number
  /** Latency the callers saw, ms. */
  latency: LatencySummary
  /** Time spent in the database, ms, over the calls that went to it (misses and uncached). */
  db: LatencySummary
}

/** {@link OperationCounters} of one model and operation. */
export interface OperationStatsSnapshot extends OperationCounters {
  /** The model, or `undefined` for raw queries (listed under `$raw`). */
  model: string | undefined
  /** The operation. */
  operation: string
}

/**
 * Mutable counters of one model and operation: plain fields, one object shape, so that the
 * record path stays monomorphic.
 *
 * @example
 * ```ts
 * const stats = new OperationStats('Product', 'findMany')
 * stats.queries++
 * stats.latency.record(0.8)
 * stats.snapshot().latency.p50
 * ```
 */
export class OperationStats {
  queries = 0
  hits = 0
  swr = 0
  misses = 0
  uncached = 0
  errors = 0
  readonly latency = new LatencyHistogram()
  readonly db = new LatencyHistogram()
  /** Seed of this operation's query-shape hashes (N+1 detection). */
  readonly shapeSeed: number

  constructor(
    readonly model: string | undefined,
    readonly operation: string,
  ) {
    this.shapeSeed = hashText(hashText(SHAPE_SEED, model ?? '$raw'), `.${operation}`)
  }

  /**
   * Adds `other`'s counters and histograms to this one (for totals).
   *
   * @example
   * ```ts
   * const totals = new OperationStats(undefined, '*')
   * for (const stats of all) totals.add(stats)
   * ```
   */
  add(other: OperationStats): void {
    this.queries += other.queries
    this.hits += other.hits
    this.swr += other.swr
    this.misses += other.misses
    this.uncached += other.uncached
    this.errors += other.errors
    this.latency.merge(other.latency)
    this.db.merge(other.db)
  }

  /**
   * A plain, JSON-safe copy of the counters with percentiles computed.
   *
   * @example
   * ```ts
   * JSON.stringify(stats.counters())
   * ```
   */
  counters(): OperationCounters {
    const cached = this.hits + this.swr + this.misses
    return {
      queries: this.queries,
      hits: this.hits,
      swr: this.swr,
      misses: this.misses,
      uncached: this.uncached,
      errors: this.errors,
      hitRate: cached === 0 ? 0 : ((this.hits + this.swr) / cached) * 100,
      latency: this.latency.summary(),
      db: this.db.summary(),
    }
  }

  /**
   * {@link counters} plus the model and operation.
   *
   * @example
   * ```ts
   * stats.snapshot() // { model: 'Product', operation: 'findMany', queries: 3, ... }
   * ```
   */
  snapshot(): OperationStatsSnapshot {
    return { model: this.model, operation: this.operation, ...this.counters() }
  }
}

/** Model key of raw queries in `stats().operations`. */
const RAW = '$raw'
/** Beyond this many model/operation pairs, calls are counted under `$other.$other`. */
const MAX_OPERATIONS = 1000
const OTHER = '$other'

/** The {@link OperationStats} of each model and operation, bounded. */
export class OperationTable {
  readonly #byModel = new Map<string, Map<string, OperationStats>>()
  #count = 0
  #last: OperationStats | undefined = undefined

  /** The stats of `model` (`undefined`: a raw query) and `operation`, created on first use. */
  get(model: string | undefined, operation: string): OperationStats {
    // N+1 loops and benchmarks repeat one operation: a one-entry cache skips both lookups.
    const last = this.#last
    if (last !== undefined && last.operation === operation && last.model === model) return last
    const modelKey = model ?? RAW
    let operations = this.#byModel.get(modelKey)
    let stats = operations?.get(operation)
    if (stats === undefined) {
      // Operation names come from the extension, but a bug must not grow memory without bound.
      if (this.#count >= MAX_OPERATIONS && modelKey !== OTHER) return this.get(OTHER, OTHER)
      if (operations === undefined) {
        operations = new Map()
        this.#byModel.set(modelKey, operations)
      }
      stats = new OperationStats(model, operation)
      operations.set(operation, stats)
      this.#count++
    }
    this.#last = stats
    return stats
  }

  /** Snapshots keyed `Model.operation` (raw queries under `$raw`), and their sum. */
  snapshot(): {
    operations: Record<string, OperationStatsSnapshot>
    totals: OperationCounters
  } {
    const operations: Record<string, OperationStatsSnapshot> = {}
    const totals = new OperationStats(undefined, '*')
    for (const [modelKey, byOperation] of this.#byModel) {
      for (const [operation, stats] of byOperation) {
        operations[`${modelKey}.${operation}`] = stats.snapshot()
        totals.add(stats)
      }
    }
    return { operations, totals: totals.counters() }
  }

  /** The live stats of every model and operation. */
  all(): OperationStats[] {
    const out: OperationStats[] = []
    for (const byOperation of this.#byModel.values()) out.push(...byOperation.values())
    return out
  }

  /** Forgets every model and operation. */
  clear(): void {
    this.#byModel.clear()
    this.#count = 0
    this.#last = undefined
  }
}

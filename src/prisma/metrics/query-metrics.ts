import type { CapturedStatement, StatementSink } from '../sql-capture.js'
import { CallSiteBudget } from './call-site.js'
import type { QueryEvent } from './database-call.js'
import { NPlusOneDetector, type NPlusOneReport } from './n-plus-one.js'
import {
  type OperationCounters,
  type OperationStats,
  type OperationStatsSnapshot,
  OperationTable,
} from './operation-stats.js'
import { type MetricsSettings, type QueryMetricsOptions, resolveMetricsOptions } from './options.js'
import { currentQueryContext } from './query-context.js'
import { type SlowQueryEntry, SlowQueryLog } from './slow-queries.js'

/** What {@link QueryMetrics.stats} returns: JSON-safe, a copy. */
export interface QueryStats {
  /** Per model and operation, keyed `Product.findUnique`; raw queries under `$raw.$queryRaw`. */
  operations: Record<string, OperationStatsSnapshot>
  /** Everything added up. */
  totals: OperationCounters
  /** The latest slow database calls, oldest first. */
  slowQueries: SlowQueryEntry[]
  /** Slow calls seen in all, including those no longer held. */
  slowQueryCount: number
  /** The latest N+1 reports, oldest first. */
  nPlusOne: NPlusOneReport[]
  /** N+1 reports made in all, including those no longer held. */
  nPlusOneCount: number
  /** When counting started (creation or last `reset()`), epoch ms. */
  since: number
}

/**
 * The metrics each `stats()` result came from. A client extended with `withCache` keeps its
 * `QueryMetrics` to itself and shows only `$cache.stats()`: this is how the Prometheus exporter
 * finds the histograms behind it, without widening the client's API.
 */
const origins = new WeakMap<QueryStats, QueryMetrics>()

/**
 * The `QueryMetrics` whose `stats()` returned `stats`, if any.
 * @internal
 */
export function queryMetricsOf(stats: unknown): QueryMetrics | undefined {
  return typeof stats === 'object' && stats !== null ? origins.get(stats as QueryStats) : undefined
}

function safely<T>(callback: ((value: T) => void) | undefined, value: T): void {
  if (callback === undefined) return
  try {
    callback(value)
  } catch {
    // A logging callback must never fail the query that triggered it.
  }
}

/**
 * Query metrics of a Prisma client: per model and operation counts by cache status, latency and
 * database-time percentiles, a slow-query log and N+1 detection. The Prisma extension calls
 * {@link record} once per call; `captureSql` feeds {@link recordStatement} with SQL that ran
 * outside any call.
 *
 * `record` is built for cache hits: no allocation, no clock read (N+1 bursts use the coarse clock),
 * at most two Map lookups, a histogram update and a shape hash. Measured on a `findUnique` hit:
 * ≈ 20 ns with N+1 detection off, ≈ 90-150 ns with it on. A slow call's call site is read as it
 * ends, while its caller awaits it: a stack (≈ 20-150 µs) per slow call, nothing per fast one.
 *
 * @example
 * ```ts
 * const metrics = new QueryMetrics({ slowQueryMs: 200, onSlowQuery: (q) => log.warn(q) })
 * metrics.record({ model: 'Product', operation: 'findUnique', cacheStatus: 'hit',
 *   durationMs: 0.01, dbDurationMs: 0, args: { where: { id: 1 } } })
 * metrics.stats().operations['Product.findUnique'].hits // 1
 * ```
 */
export class QueryMetrics implements StatementSink {
  readonly #settings: MetricsSettings
  readonly #operations = new OperationTable()
  readonly #slowLog: SlowQueryLog
  readonly #callSites = new CallSiteBudget()
  readonly #detector: NPlusOneDetector | undefined
  readonly #countHits: boolean
  #since = Date.now()

  /** Throws a `ValidationError` (`ERR_INVALID_OPTION`) naming the first bad option. */
  constructor(options?: QueryMetricsOptions) {
    this.#settings = resolveMetricsOptions(options)
    this.#slowLog = new SlowQueryLog(this.#settings.maxSlowQueries)
    const nPlusOne = this.#settings.nPlusOne
    const onNPlusOne = this.#settings.onNPlusOne
    this.#detector =
      nPlusOne === undefined
        ? undefined
        : new NPlusOneDetector(nPlusOne, (report) => safely(onNPlusOne, report))
    this.#countHits = nPlusOne?.includeCacheHits ?? false
  }

  /** The slow-query threshold in ms. */
  get slowQueryMs(): number {
    return this.#settings.slowQueryMs
  }

  /** Slow calls seen in all, including those no longer held (`stats().slowQueryCount`). */
  get slowQueryCount(): number {
    return this.#slowLog.total
  }

  /** N+1 reports made in all, including those no longer held (`stats().nPlusOneCount`). */
  get nPlusOneCount(): number {
    return this.#detector?.total ?? 0
  }

  /**
   * Counts one Prisma call. Never throws for a well-formed event (callbacks are guarded).
   *
   * @example
   * ```ts
   * metrics.record({ model: 'Order', operation: 'create', cacheStatus: 'none',
   *   durationMs: 4.2, dbDurationMs: 3.9, args, sql: collector.sql })
   * ```
   */
  record(event: QueryEvent): void {
    const stats = this.#operations.get(event.model, event.operation)
    const status = event.cacheStatus
    // The request's own figures (its response headers, say), when it runs in a query context.
    const context = currentQueryContext()
    stats.queries++
    stats.latency.record(event.durationMs)
    if (event.error !== undefined) stats.errors++
    if (status === 'hit' || status === 'swr') {
      if (status === 'hit') stats.hits++
      else stats.swr++
      if (context !== undefined) context.cacheHits++
    } else {
      if (status === 'miss') stats.misses++
      else stats.uncached++
      const db = event.dbDurationMs
      stats.db.record(db)
      if (db > this.#settings.slowQueryMs) this.#slow(stats, event)
      if (context !== undefined) {
        context.queries++
        context.dbTimeMs += db
        if (status === 'miss') context.cacheMisses++
      }
    }
    const detector = this.#detector
    if (
      detector !== undefined &&
      event.counted !== true &&
      (this.#countHits || (status !== 'hit' && status !== 'swr'))
    ) {
      detector.observe(stats, event.args, context)
    }
  }

  /**
   * Counts a call for N+1 detection when it is made, rather than when `record` gets its event
   * (which must then say `counted: true`). Returns whether it counted: only when cache hits count
   * too (`nPlusOne.includeCacheHits`), since whether this call will hit is not known yet.
   *
   * @example
   * ```ts
   * const counted = metrics.noteCall('Review', 'findMany', { where: { productId } })
   * ```
   */
  noteCall(model: string, operation: string, args: unknown): boolean {
    const detector = this.#detector
    if (detector === undefined || !this.#countHits) return false
    detector.observe(this.#operations.get(model, operation), args)
    return true
  }

  /**
   * Logs a statement that ran outside any attributed Prisma call (a `COMMIT`, SQL of code that
   * bypasses the extension) if it was slow, with `model: undefined`, `operation: '$statement'`.
   *
   * @example
   * ```ts
   * new PrismaClient({ adapter: captureSql(new PrismaPg(url), { metrics }) })
   * ```
   */
  recordStatement(statement: CapturedStatement): void {
    if (!(statement.durationMs > this.#settings.slowQueryMs)) return
    const entry = this.#slowLog.add({
      model: undefined,
      operation: '$statement',
      durationMs: statement.durationMs,
      totalMs: statement.durationMs,
      args: statement.params,
      sql: [statement.sql],
      error: statement.error,
      callSite: this.#callSites.capture(this.#settings.nPlusOne?.ignoreFrames),
    })
    safely(this.#settings.onSlowQuery, entry)
  }

  #slow(stats: OperationStats, event: QueryEvent): void {
    const entry = this.#slowLog.add({
      model: stats.model,
      operation: stats.operation,
      durationMs: event.dbDurationMs,
      totalMs: event.durationMs,
      args: event.args,
      sql: event.sql,
      error: event.error,
      // Known to be slow only now, at its end: the caller still awaits it, so it is on the stack.
      callSite: this.#callSites.capture(this.#settings.nPlusOne?.ignoreFrames),
    })
    safely(this.#settings.onSlowQuery, entry)
  }

  /**
   * Per model and operation counters, totals, slow queries and N+1 reports (a copy).
   *
   * @example
   * ```ts
   * const { operations, totals } = metrics.stats()
   * console.log(totals.hitRate, operations['Product.findMany']?.latency.p95)
   * ```
   */
  stats(): QueryStats {
    const { operations, totals } = this.#operations.snapshot()
    const stats: QueryStats = {
      operations,
      totals,
      slowQueries: this.#slowLog.entries(),
      slowQueryCount: this.slowQueryCount,
      nPlusOne: this.nPlusOne(),
      nPlusOneCount: this.nPlusOneCount,
      since: this.#since,
    }
    origins.set(stats, this)
    return stats
  }

  /**
   * The live counters and histograms of each model and operation, for an exporter that needs the
   * histograms' buckets (`stats()` has only their percentiles). Read them, never change them.
   * @internal
   */
  operationStats(): OperationStats[] {
    return this.#operations.all()
  }

  /**
   * The latest slow database calls, oldest first.
   *
   * @example
   * ```ts
   * for (const q of metrics.slowQueries()) console.warn(q.model, q.operation, q.durationMs, q.sql)
   * ```
   */
  slowQueries(): SlowQueryEntry[] {
    return this.#slowLog.entries()
  }

  /**
   * The latest N+1 reports, oldest first (empty when detection is off).
   *
   * @example
   * ```ts
   * for (const r of metrics.nPlusOne()) console.warn(`${r.callSite}: ${r.suggestion}`)
   * ```
   */
  nPlusOne(): NPlusOneReport[] {
    return this.#detector?.reports() ?? []
  }

  /** Forgets every counter, histogram, slow query and N+1 report. */
  reset(): void {
    this.#operations.clear()
    this.#slowLog.clear()
    this.#detector?.reset()
    this.#since = Date.now()
  }
}

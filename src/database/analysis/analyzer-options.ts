/** Options of `QueryAnalyzer`, validated once at construction. */
import { type Duration, toMs } from '../../cache/validate.js'
import { invalid } from '../../errors.js'
import { isRecord } from '../../option-checks.js'
import { QueryMetrics, type QueryStats } from '../../prisma/metrics/query-metrics.js'

/** Options of `new QueryAnalyzer(prisma, options)`; every one is optional. */
export interface QueryAnalyzerOptions {
  /**
   * The application's query metrics: a `QueryMetrics` (the one given to `withQueryMetrics`), or a
   * function returning its stats, such as `() => prisma.$cache.stats().queries` for a client
   * extended with `withCache`. Its N+1 reports become recommendations of `analyze`, and its
   * counters feed `getOptimizationInsights`.
   */
  metrics?: QueryMetrics | (() => QueryStats | undefined)
  /**
   * Operations whose 95th percentile database time exceeds this (ms) are advised for analysis in
   * the insights.
   * @default the `QueryMetrics`' own `slowQueryMs`, else 1000
   */
  slowQueryMs?: number
  /**
   * Tables with more rows than this are worth an index or a `take`. Integer ≥ 0.
   * @default 1000
   */
  largeTableRows?: number
  /**
   * A filter that keeps at most this share of the rows it reads is selective enough for an index to
   * beat a sequential scan. In (0, 1].
   * @default 0.2
   */
  indexSelectivity?: number
  /**
   * A column whose average stored width (`pg_stats`) reaches this is wide. Bytes ≥ 1.
   * @default 256
   */
  wideColumnBytes?: number
  /**
   * A read without `select` of more columns than this over-fetches. Integer ≥ 1.
   * @default 12
   */
  manyColumns?: number
  /**
   * `skip` beyond this advises cursor pagination. Integer ≥ 0.
   * @default 1000
   */
  maxOffset?: number
  /**
   * Analyses kept for `analyses()` and `getOptimizationInsights()`. Integer 1-10 000.
   * @default 50
   */
  keepAnalyses?: number
  /**
   * Longest one analysis's transaction may stay open, ms or `'30s'`.
   * @default '30s'
   */
  timeout?: Duration
  /**
   * Longest to wait for a connection to start it, ms or `'5s'`.
   * @default '5s'
   */
  maxWait?: Duration
  /**
   * Allow `analyze` of writes (`create` … `deleteMany`). Analyzing runs the call for real inside a
   * transaction that is rolled back: its rows are unchanged afterwards, but meanwhile it takes
   * row locks (other writers wait), fires triggers and functions whose side effects outside the
   * database are not undone, and advances sequences.
   * @default false (a write is refused with a `ValidationError` naming `query.operation`)
   */
  analyzeWrites?: boolean
}

/** @internal Options after validation and defaults. */
export interface AnalyzerSettings {
  /** The metrics' stats now, or `undefined` without metrics. */
  stats: () => QueryStats | undefined
  slowQueryMs: number
  largeTableRows: number
  indexSelectivity: number
  wideColumnBytes: number
  manyColumns: number
  maxOffset: number
  keepAnalyses: number
  timeoutMs: number
  maxWaitMs: number
  analyzeWrites: boolean
}

function boolean(value: unknown, field: string): boolean {
  if (value === undefined) return false
  if (typeof value !== 'boolean')
    throw invalid(field, `must be true or false, got ${String(value)}`)
  return value
}

function integer(value: unknown, field: string, fallback: number, min: number, max = 1e12): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(field, `must be an integer from ${min} to ${max}, got ${String(value)}`)
  }
  return value
}

function positiveMs(value: Duration | undefined, field: string, fallback: number): number {
  if (value === undefined) return fallback
  const ms = toMs(value, field)
  if (ms === 0) throw invalid(field, 'must be more than 0 ms')
  return ms
}

/**
 * Validates `options` and fills in the defaults; a `ValidationError` names the first bad field
 * (`options.largeTableRows`).
 *
 * @example
 * ```ts
 * resolveAnalyzerOptions({ largeTableRows: 10_000 }).indexSelectivity // 0.2
 * ```
 */
export function resolveAnalyzerOptions(options: unknown): AnalyzerSettings {
  if (options === undefined) options = {}
  if (!isRecord(options)) throw invalid('options', 'must be an object')
  const o = options as QueryAnalyzerOptions
  const { metrics } = o
  if (
    metrics !== undefined &&
    !(metrics instanceof QueryMetrics) &&
    typeof metrics !== 'function'
  ) {
    throw invalid(
      'options.metrics',
      'must be a QueryMetrics or a function returning its stats (() => prisma.$cache.stats().queries)',
    )
  }
  const slowQueryMs =
    o.slowQueryMs ?? (metrics instanceof QueryMetrics ? metrics.slowQueryMs : 1000)
  if (typeof slowQueryMs !== 'number' || !Number.isFinite(slowQueryMs) || slowQueryMs < 0) {
    throw invalid('options.slowQueryMs', `must be a number of ms >= 0, got ${String(slowQueryMs)}`)
  }
  const selectivity = o.indexSelectivity ?? 0.2
  if (
    typeof selectivity !== 'number' ||
    !Number.isFinite(selectivity) ||
    selectivity <= 0 ||
    selectivity > 1
  ) {
    throw invalid(
      'options.indexSelectivity',
      `must be a number in (0, 1], got ${String(selectivity)}`,
    )
  }
  return {
    stats:
      metrics === undefined
        ? () => undefined
        : metrics instanceof QueryMetrics
          ? () => metrics.stats()
          : metrics,
    slowQueryMs,
    largeTableRows: integer(o.largeTableRows, 'options.largeTableRows', 1000, 0),
    indexSelectivity: selectivity,
    wideColumnBytes: integer(o.wideColumnBytes, 'options.wideColumnBytes', 256, 1),
    manyColumns: integer(o.manyColumns, 'options.manyColumns', 12, 1),
    maxOffset: integer(o.maxOffset, 'options.maxOffset', 1000, 0),
    keepAnalyses: integer(o.keepAnalyses, 'options.keepAnalyses', 50, 1, 10_000),
    timeoutMs: positiveMs(o.timeout, 'options.timeout', 30_000),
    maxWaitMs: positiveMs(o.maxWait, 'options.maxWait', 5_000),
    analyzeWrites: boolean(o.analyzeWrites, 'options.analyzeWrites'),
  }
}

/**
 * Optimization insights: what `QueryMetrics` counted in production and what the analyses found,
 * in one report a dashboard or an admin endpoint can show as it is (JSON-safe).
 */
import { invalid } from '../../errors.js'
import type { QueryStats } from '../../prisma/metrics/query-metrics.js'
import type { SlowQueryEntry } from '../../prisma/metrics/slow-queries.js'
import type { QueryAnalysis } from './analysis-result.js'
import { nPlusOneAdvice } from './query-advisor.js'
import {
  type MissingIndexRecommendation,
  type Recommendation,
  recommendationKey,
  SEVERITY_RANK,
  type Severity,
  type SlowOperationRecommendation,
} from './recommendations.js'

/** An operation ranked by its database time. */
export interface SlowOperation {
  /** The model; `undefined` for a raw query. */
  model: string | undefined
  /** The operation. */
  operation: string
  /** Calls counted. */
  queries: number
  /** Calls that failed. */
  errors: number
  /** Database time over the calls that went to the database, ms. */
  p95Ms: number
  /** Mean database time, ms. */
  meanMs: number
  /** Longest database time, ms. */
  maxMs: number
}

/** A recommendation with how often it came up. */
export type RankedRecommendation = Recommendation & {
  /** Distinct analyzed queries (or metrics reports) that made it. */
  occurrences: number
  /** When it was last made, epoch ms. */
  lastSeen: number
}

/** One index to create, from every analysis that wanted it. */
export interface IndexSuggestion {
  /** The PostgreSQL schema of the table. */
  schema: string
  /** The table to index. */
  table: string
  /** The index columns, in order. */
  columns: string[]
  /** The name the statement gives the index. */
  indexName: string
  /** The `CREATE INDEX` statement to run. */
  statement: string
  /** The `@@index` line for the Prisma schema, when the model is known. */
  prismaSchema: string | undefined
  /** The highest severity among the analyses that wanted it. */
  severity: Severity
  /** Analyses that wanted it. */
  occurrences: number
}

/** What `QueryAnalyzer.getOptimizationInsights` returns. */
export interface OptimizationInsights {
  /** Totals over the metrics and the analyses kept. */
  summary: {
    /** Calls the metrics counted (0 without metrics). */
    totalQueries: number
    /** Slow database calls seen in all. */
    slowQueries: number
    /** Calls that failed. */
    errors: number
    /** N+1 patterns reported. */
    nPlusOnePatterns: number
    /** Cache hit rate of cached reads, percent 0-100. */
    cacheHitRate: number
    /** Mean database time per call, ms. */
    averageQueryTimeMs: number
    /** 95th percentile of database time per call, ms. */
    p95QueryTimeMs: number
    /** Analyses kept and read here. */
    analyses: number
    /** Since when the metrics count, epoch ms (`undefined` without metrics). */
    since: number | undefined
  }
  /** Operations by 95th percentile database time, slowest first. */
  topSlowOperations: SlowOperation[]
  /** The latest slow calls, newest first. */
  recentSlowQueries: SlowQueryEntry[]
  /** Deduplicated; most severe first, then most frequent, then largest impact. */
  recommendations: RankedRecommendation[]
  /** The index statements of the missing-index recommendations, in the same order. */
  indexSuggestions: IndexSuggestion[]
}

const MODEL_KEYS_WITHOUT_MODEL = new Set(['$raw', '$other'])
/** Call sites named per slow operation. */
const MAX_CALL_SITES = 5

/** The distinct call sites of the slow calls of each `Model.operation`, latest first. */
function callSitesOf(slowQueries: readonly SlowQueryEntry[]): Map<string, string[]> {
  const sites = new Map<string, string[]>()
  for (let i = slowQueries.length - 1; i >= 0; i--) {
    const { model, operation, callSite } = slowQueries[i]!
    if (callSite === undefined) continue
    const key = `${model}.${operation}`
    const list = sites.get(key) ?? []
    if (list.length < MAX_CALL_SITES && !list.includes(callSite)) list.push(callSite)
    sites.set(key, list)
  }
  return sites
}

/** How much work following the advice would save, to order advice of one severity. */
function impactOf(recommendation: Recommendation): number {
  switch (recommendation.kind) {
    case 'missing-index':
      return recommendation.rowsScanned
    case 'n-plus-one':
      return recommendation.count
    case 'slow-operation':
      return recommendation.p95Ms * recommendation.queries
    case 'unbounded-find-many':
      return recommendation.rowsReturned
    case 'large-offset':
      return recommendation.skip
    case 'over-fetching':
      return recommendation.wideColumns.length
  }
}

function slowOperations(
  { operations, slowQueries }: QueryStats,
  slowQueryMs: number,
  analyzed: ReadonlySet<string>,
): { top: SlowOperation[]; advice: SlowOperationRecommendation[] } {
  const sites = callSitesOf(slowQueries)
  const top: SlowOperation[] = []
  const advice: SlowOperationRecommendation[] = []
  for (const [key, stats] of Object.entries(operations)) {
    if (stats.db.count === 0) continue
    top.push({
      model: stats.model,
      operation: stats.operation,
      queries: stats.queries,
      errors: stats.errors,
      p95Ms: stats.db.p95,
      meanMs: stats.db.mean,
      maxMs: stats.db.max,
    })
    const model = stats.model
    const modelKey = key.slice(0, key.indexOf('.'))
    if (model === undefined || MODEL_KEYS_WITHOUT_MODEL.has(modelKey)) continue
    if (stats.db.p95 <= slowQueryMs || analyzed.has(`${model}.${stats.operation}`)) continue
    const callSites = sites.get(`${model}.${stats.operation}`) ?? []
    const at = callSites.length === 0 ? '' : ` (called at ${callSites.join(', ')})`
    advice.push({
      kind: 'slow-operation',
      model,
      severity: 'medium',
      message: `${model}.${stats.operation} takes ${stats.db.p95.toFixed(1)} ms at the 95th percentile over ${stats.queries} calls${at}; analyze it (analyzer.analyze({ model: '${model}', operation: '${stats.operation}', args })) to see its plan`,
      operation: stats.operation,
      p95Ms: stats.db.p95,
      queries: stats.queries,
      callSites,
    })
  }
  top.sort((a, b) => b.p95Ms - a.p95Ms)
  return { top, advice }
}

function rank(
  sources: readonly { recommendations: readonly Recommendation[]; at: number }[],
): RankedRecommendation[] {
  const byKey = new Map<string, RankedRecommendation>()
  for (const { recommendations, at } of sources) {
    for (const recommendation of recommendations) {
      const key = recommendationKey(recommendation)
      const known = byKey.get(key)
      // The latest copy carries the latest numbers; the count says how often it came up.
      byKey.set(key, {
        ...recommendation,
        occurrences: (known?.occurrences ?? 0) + 1,
        lastSeen: at,
      })
    }
  }
  return [...byKey.values()].sort(
    (a, b) =>
      SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] ||
      b.occurrences - a.occurrences ||
      impactOf(b) - impactOf(a),
  )
}

/**
 * The latest analysis of each distinct query (model, operation and arguments): a later analysis
 * of the same query replaces the earlier one's advice (an index created since is no longer
 * advised).
 */
function latestPerQuery(analyses: readonly QueryAnalysis[]): QueryAnalysis[] {
  const latest = new Map<string, QueryAnalysis>()
  for (const analysis of analyses) {
    latest.set(`${analysis.model}.${analysis.operation}:${JSON.stringify(analysis.args)}`, analysis)
  }
  return [...latest.values()]
}

/**
 * The insights of the metrics' `stats` (optional) and `analyses` (oldest first): operations
 * whose p95 database time exceeds `slowQueryMs` and that no analysis covers are advised for
 * analysis; `limit` (default 10) bounds `topSlowOperations` and `recentSlowQueries`.
 *
 * @example
 * ```ts
 * optimizationInsights(metrics.stats(), 1000, analyzer.analyses()).summary.nPlusOnePatterns
 * ```
 */
export function optimizationInsights(
  stats: QueryStats | undefined,
  slowQueryMs: number,
  analyses: readonly QueryAnalysis[],
  options: { limit?: number } = {},
): OptimizationInsights {
  if (typeof options !== 'object' || options === null) throw invalid('options', 'must be an object')
  const limit = options.limit ?? 10
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw invalid('options.limit', `must be an integer from 1 to 1000, got ${String(limit)}`)
  }
  const analyzed = new Set(analyses.map((analysis) => `${analysis.model}.${analysis.operation}`))
  const slow =
    stats === undefined ? { top: [], advice: [] } : slowOperations(stats, slowQueryMs, analyzed)
  const now = Date.now()
  const recommendations = rank([
    ...latestPerQuery(analyses).map((analysis) => ({
      recommendations: analysis.recommendations.filter((r) => r.kind !== 'n-plus-one'),
      at: analysis.analyzedAt,
    })),
    // N+1 loops come from the metrics themselves (all models), not from old analyses' copies.
    { recommendations: nPlusOneAdvice(stats?.nPlusOne ?? []), at: now },
    { recommendations: slow.advice, at: now },
  ])
  const indexSuggestions = recommendations
    .filter(
      (r): r is MissingIndexRecommendation & RankedRecommendation => r.kind === 'missing-index',
    )
    .map((r) => ({
      schema: r.schema,
      table: r.table,
      columns: r.columns,
      indexName: r.indexName,
      statement: r.statement,
      prismaSchema: r.prismaSchema,
      severity: r.severity,
      occurrences: r.occurrences,
    }))
  const totals = stats?.totals
  return {
    summary: {
      totalQueries: totals?.queries ?? 0,
      slowQueries: stats?.slowQueryCount ?? 0,
      errors: totals?.errors ?? 0,
      nPlusOnePatterns: stats?.nPlusOne.length ?? 0,
      cacheHitRate: totals?.hitRate ?? 0,
      averageQueryTimeMs: totals?.latency.mean ?? 0,
      p95QueryTimeMs: totals?.latency.p95 ?? 0,
      analyses: analyses.length,
      since: stats?.since,
    },
    topSlowOperations: slow.top.slice(0, limit),
    recentSlowQueries: (stats?.slowQueries ?? []).slice(-limit).reverse(),
    recommendations,
    indexSuggestions,
  }
}

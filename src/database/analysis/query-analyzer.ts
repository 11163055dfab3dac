/**
 * Query analysis: runs a Prisma call in a transaction that is always rolled back, captures the
 * SQL it ran (through `captureSql`), explains each statement and turns the plans, the call's
 * arguments and the query metrics into recommendations: missing indexes (with the statement that
 * creates them), N+1 loops, over-fetching, deep offsets, unbounded `findMany`.
 */
import { invalid } from '../../errors.js'
import { summarizeArgs } from '../../prisma/metrics/args-summary.js'
import type { QueryStats } from '../../prisma/metrics/query-metrics.js'
import { RingBuffer } from '../../prisma/metrics/ring-buffer.js'
import { modelGraphOf } from '../../prisma/schema/dmmf.js'
import type { ModelGraph } from '../../prisma/schema/model-graph.js'
import { collectSql, SqlCollector, sqlCaptureInstalled } from '../../prisma/sql-capture.js'
import { WRITE_OPERATIONS } from '../../prisma/writes/write-plan.js'
import {
  type AnalyzeQuery,
  type ModelName,
  type ModelOperation,
  type ResolvedQuery,
  resolveQuery,
} from './analysis-input.js'
import { type QueryAnalysis, type StatementAnalysis, statementAnalysis } from './analysis-result.js'
import {
  type AnalyzerSettings,
  type QueryAnalyzerOptions,
  resolveAnalyzerOptions,
} from './analyzer-options.js'
import {
  type ExplainedStatement,
  explainStatement,
  isExplainable,
  type SkippedStatement,
} from './explain.js'
import { adviseIndexes } from './index-advisor.js'
import { type OptimizationInsights, optimizationInsights } from './insights.js'
import { rowsRead, walkPlan } from './plan-walker.js'
import { adviseQuery, nPlusOneAdvice } from './query-advisor.js'
import { type Recommendation, recommendationKey, SEVERITY_RANK } from './recommendations.js'
import { type RawQueryable, TableCatalog } from './table-catalog.js'

/** What the analyzer needs of a Prisma client: interactive transactions and raw SQL. */
interface TransactionClient extends RawQueryable {
  $transaction<R>(
    fn: (tx: RawQueryable & Record<string, unknown>) => Promise<R>,
    options?: { timeout?: number; maxWait?: number },
  ): Promise<R>
}

/** Thrown at the end of the analysis transaction so that Prisma rolls it back. */
class RollbackWith {
  constructor(readonly analysis: QueryAnalysis) {}
}

const NOT_CAPTURED =
  'its driver adapter must be wrapped with captureSql (new PrismaClient({ adapter: captureSql(new PrismaPg(...)) }))'

/**
 * Analyzes Prisma calls on PostgreSQL: the plans of the SQL they run and what would make them
 * cheaper. The client's adapter must be wrapped with `captureSql`; the analysis keeps each
 * statement's parameter values itself (`SqlCollector.keepArgs`), so that statements run again
 * with their own values under `EXPLAIN ANALYZE`. The client may be
 * extended with `withCache` or `withQueryMetrics`: inside the analysis transaction reads bypass
 * the cache, and the analyzed call is counted in those metrics like any other call.
 *
 * Analyzing runs the call for real, inside a transaction that is rolled back, and the time is that
 * of the call plus one `EXPLAIN ANALYZE` per statement. Reads only, unless `analyzeWrites: true`:
 * a write's rows are unchanged afterwards, but its locks, triggers and sequences are real.
 *
 * @example
 * ```ts
 * const metrics = new QueryMetrics()
 * const base = new PrismaClient({ adapter: captureSql(new PrismaPg({ connectionString }), { withParams: true }) })
 * const analyzer = new QueryAnalyzer(base, { metrics })
 * const analysis = await analyzer.analyze({
 *   model: 'Product', operation: 'findMany', args: { where: { viewCount: { gt: 100 } }, take: 20 },
 * })
 * for (const r of analysis.recommendations) console.log(r.severity, r.message)
 * // high A sequential scan of Product (30,000 rows) reads 30,000 rows to keep 20 ... CREATE INDEX CONCURRENTLY ...
 * ```
 */
export class QueryAnalyzer<C extends object> {
  readonly #client: TransactionClient
  readonly #graph: ModelGraph
  readonly #settings: AnalyzerSettings
  readonly #analyses: RingBuffer<QueryAnalysis>

  /** Throws a `ValidationError` naming `prisma` or the first bad `options.*` field. */
  constructor(prisma: C, options?: QueryAnalyzerOptions) {
    const client = prisma as Partial<TransactionClient> | null
    if (
      typeof client !== 'object' ||
      client === null ||
      typeof client.$transaction !== 'function' ||
      typeof client.$queryRawUnsafe !== 'function'
    ) {
      throw invalid('prisma', 'must be a Prisma client (new PrismaClient({ adapter }))')
    }
    this.#graph = modelGraphOf(prisma, undefined, 'prisma')
    this.#client = client as TransactionClient
    this.#settings = resolveAnalyzerOptions(options)
    this.#analyses = new RingBuffer(this.#settings.keepAnalyses)
  }

  /**
   * Runs `query` in a rolled-back transaction, explains the SQL it ran and recommends. Throws a
   * `ValidationError` naming `query.model`, `query.operation`, `query.args` or `prisma` (a client
   * without `captureSql`); the call's own error (a unique violation, a record not found) as is.
   *
   * @example
   * ```ts
   * const { statements, recommendations } = await analyzer.analyze({
   *   model: 'Order', operation: 'update', args: { where: { id: 1 }, data: { status: 'PAID' } },
   * }) // the order is unchanged afterwards
   * ```
   */
  async analyze<M extends ModelName<C>, O extends ModelOperation>(
    query: AnalyzeQuery<C, M, O>,
  ): Promise<QueryAnalysis> {
    const resolved = resolveQuery(query, this.#graph, this.#client)
    if (!this.#settings.analyzeWrites && WRITE_OPERATIONS.has(query.operation)) {
      throw invalid(
        'query.operation',
        `${query.operation} is a write: analyzing runs it (then rolls it back), which locks rows, ` +
          'fires triggers and advances sequences; allow it with new QueryAnalyzer(prisma, { analyzeWrites: true })',
      )
    }
    if (!sqlCaptureInstalled()) throw invalid('prisma', NOT_CAPTURED)
    // Our own statements (BEGIN, EXPLAIN, the catalog) go to collectors of ours, not to the
    // application's metrics as unattributed SQL.
    const own = new SqlCollector()
    try {
      await collectSql(own, () =>
        this.#client.$transaction(
          async (tx) => {
            throw new RollbackWith(await this.#inTransaction(tx, resolved))
          },
          { timeout: this.#settings.timeoutMs, maxWait: this.#settings.maxWaitMs },
        ),
      )
    } catch (error) {
      if (!(error instanceof RollbackWith)) throw error
      this.#analyses.push(error.analysis)
      return error.analysis
    }
    throw new Error('unreachable: the analysis transaction must end by rolling back')
  }

  async #inTransaction(
    tx: RawQueryable & Record<string, unknown>,
    query: ResolvedQuery,
  ): Promise<QueryAnalysis> {
    const probe = new SqlCollector()
    const rows = await collectSql(probe, () =>
      tx.$queryRawUnsafe<{ schema: string }[]>('SELECT current_schema() AS schema'),
    )
    if (probe.count === 0) throw invalid('prisma', NOT_CAPTURED)
    const currentSchema = rows[0]?.schema ?? 'public'
    const collector = new SqlCollector()
    // The values themselves, so each statement can run again under EXPLAIN ANALYZE.
    collector.keepArgs = true
    const delegate = tx[query.delegate] as Record<string, (args: unknown) => PromiseLike<unknown>>
    const started = performance.now()
    await collectSql(collector, () => delegate[query.operation]?.(query.args))
    const durationMs = performance.now() - started
    collector.close()

    const explained: ExplainedStatement[] = []
    const skipped: SkippedStatement[] = []
    for (const statement of collector.statements) {
      if (!isExplainable(statement.sql)) continue
      const result = await explainStatement(tx, statement)
      if ('output' in result) explained.push(result)
      else skipped.push(result)
    }
    const statements = explained.map(statementAnalysis)
    const recommendations = await this.#recommend(tx, query, explained, statements, currentSchema)
    return {
      model: query.model.name,
      operation: query.operation,
      args: summarizeArgs(query.args),
      statements,
      skipped,
      statementCount: collector.count,
      totalCost: statements.reduce((sum, s) => sum + s.totalCost, 0),
      executionTimeMs: statements.reduce((sum, s) => sum + (s.executionTimeMs ?? 0), 0),
      durationMs,
      recommendations,
      analyzedAt: Date.now(),
    }
  }

  async #recommend(
    tx: RawQueryable,
    query: ResolvedQuery,
    explained: readonly ExplainedStatement[],
    statements: readonly StatementAnalysis[],
    currentSchema: string,
  ): Promise<Recommendation[]> {
    const catalog = new TableCatalog(tx)
    const found: Recommendation[] = []
    for (const statement of explained) {
      found.push(
        ...(await adviseIndexes(
          statement.output.Plan,
          catalog,
          this.#graph,
          currentSchema,
          this.#settings,
        )),
      )
    }
    const { model } = query
    const schema = model.schema ?? currentSchema
    const table = await catalog.table(schema, model.table)
    let rowsSeen = 0
    for (const statement of explained) {
      for (const { node } of walkPlan(statement.output.Plan)) {
        if (node['Node Type'] === 'Seq Scan' && node['Relation Name'] === model.table) {
          rowsSeen = Math.max(rowsSeen, rowsRead(node) ?? 0)
        }
      }
    }
    const facts = { ...query, table, rowsReturned: statements[0]?.rows, rowsSeen }
    found.push(...adviseQuery(facts, this.#settings))
    found.push(...nPlusOneAdvice(this.#stats()?.nPlusOne ?? [], model.name))
    return unique(found).sort((a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity])
  }

  /** The metrics' stats; a throwing or malformed stats function counts as no metrics. */
  #stats(): QueryStats | undefined {
    try {
      const stats = this.#settings.stats()
      return typeof stats === 'object' && stats !== null ? stats : undefined
    } catch {
      return undefined
    }
  }

  /**
   * The latest analyses (at most `keepAnalyses`), oldest first.
   *
   * @example
   * ```ts
   * analyzer.analyses().at(-1)?.recommendations
   * ```
   */
  analyses(): QueryAnalysis[] {
    return this.#analyses.toArray()
  }

  /**
   * What the metrics saw and the analyses found, in one report: totals, the slowest operations,
   * the recommendations (deduplicated, most severe and most frequent first) and the index
   * statements to run. Throws a `ValidationError` naming `options.limit` if it is not an
   * integer from 1 to 1000.
   *
   * @example
   * ```ts
   * const insights = analyzer.getOptimizationInsights()
   * console.log(insights.summary.cacheHitRate, insights.indexSuggestions.map((s) => s.statement))
   * ```
   */
  getOptimizationInsights(options?: { limit?: number }): OptimizationInsights {
    return optimizationInsights(this.#stats(), this.#settings.slowQueryMs, this.analyses(), options)
  }
}

function unique(recommendations: readonly Recommendation[]): Recommendation[] {
  const seen = new Set<string>()
  return recommendations.filter((recommendation) => {
    const key = recommendationKey(recommendation)
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { explainStatement } from '../../src/database/analysis/explain.js'
import { QueryAnalyzer } from '../../src/database/analysis/query-analyzer.js'
import type { MissingIndexRecommendation } from '../../src/database/analysis/recommendations.js'
import {
  QueryMetrics,
  runWithQueryContext,
  withQueryMetrics,
} from '../../src/prisma/metrics/index.js'
import { type CaptureSqlOptions, collectSql, SqlCollector } from '../../src/prisma/sql-capture.js'
import { INDEX_TEST_TIMEOUT, ofKind, scans, useAnalysisDatabase } from '../support/analysis.js'

// How statements are analyzed (writes rolled back, plan-only and generic plans, skipped SQL),
// the recommendations besides index advice, and the insights; index advice is in
// analysis-indexes.test.ts.
const db = useAnalysisDatabase('analysis')
const { capturedClient, createIndex } = db

describe('QueryAnalyzer on PostgreSQL', () => {
  it('refuses writes unless told: analyzing one locks rows and fires triggers for real', async () => {
    const analyzer = new QueryAnalyzer(capturedClient())
    await expect(
      analyzer.analyze({
        model: 'Product',
        operation: 'update',
        args: { where: { id: 7 }, data: { name: 'x' } },
      }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', field: 'query.operation' })
    expect(() => new QueryAnalyzer(capturedClient(), { analyzeWrites: 'yes' as never })).toThrow(
      /options.analyzeWrites/,
    )
  })

  it('analyzes writes without changing anything: the update is rolled back', async () => {
    const analyzer = new QueryAnalyzer(capturedClient(), { analyzeWrites: true })
    const { rows: before } = await db.pool.query(
      'SELECT name, "viewCount" FROM "Product" WHERE id = 7',
    )
    const analysis = await analyzer.analyze({
      model: 'Product',
      operation: 'update',
      args: { where: { id: 7 }, data: { name: 'changed', viewCount: { increment: 5 } } },
    })
    const update = analysis.statements.find((s) => s.sql.startsWith('UPDATE'))
    expect(update?.mode).toBe('analyze')
    expect(update?.rows).toBe(1)
    expect(scans(analysis)).toContain('Index Scan Product_pkey')
    const { rows: after } = await db.pool.query(
      'SELECT name, "viewCount" FROM "Product" WHERE id = 7',
    )
    expect(after).toEqual(before)
  })

  it('plans an insert it cannot run twice (unique sku) with its values, and inserts nothing', async () => {
    const analyzer = new QueryAnalyzer(capturedClient(), { analyzeWrites: true })
    const analysis = await analyzer.analyze({
      model: 'Product',
      operation: 'create',
      args: { data: { sku: 'new-sku', name: 'New', price: 1 } },
    })
    const insert = analysis.statements.find((s) => s.sql.startsWith('INSERT'))
    expect(insert?.mode).toBe('plan')
    expect(insert?.note).toMatch(/running it again failed .*duplicate key/)
    const { rows } = await db.pool.query(
      `SELECT count(*)::int AS n FROM "Product" WHERE sku = 'new-sku'`,
    )
    expect(rows[0].n).toBe(0)
  })

  it("rethrows the call's own error and leaves the data as it was", async () => {
    const analyzer = new QueryAnalyzer(capturedClient(), { analyzeWrites: true })
    await expect(
      analyzer.analyze({
        model: 'Product',
        operation: 'update',
        args: { where: { id: 999_999 }, data: { name: 'x' } },
      }),
    ).rejects.toMatchObject({ code: 'P2025' })
    expect(analyzer.analyses()).toHaveLength(0)
  })

  it('flags reads of every column when some are wide, and not reads with select', async () => {
    const analyzer = new QueryAnalyzer(capturedClient())
    const wide = await analyzer.analyze({
      // The delegate's name works too (HTTP bodies spell models that way).
      model: 'product' as 'Product',
      operation: 'findUnique',
      args: { where: { id: 1 } },
    })
    const [advice] = ofKind(wide, 'over-fetching')
    expect(advice).toMatchObject({
      model: 'Product',
      operation: 'findUnique',
      wideColumns: ['description'],
    })
    expect(advice?.columns).toBe(11)
    expect(advice?.suggestedSelect).not.toHaveProperty('description')
    expect(advice?.suggestedSelect).toMatchObject({ id: true, sku: true, price: true })
    const narrow = await analyzer.analyze({
      model: 'Product',
      operation: 'findUnique',
      args: { where: { id: 1 }, select: { id: true, name: true } },
    })
    expect(ofKind(narrow, 'over-fetching')).toEqual([])
  })

  it('flags a deep skip and advises cursor pagination', async () => {
    const analyzer = new QueryAnalyzer(capturedClient(), { maxOffset: 500 })
    const analysis = await analyzer.analyze({
      model: 'Product',
      operation: 'findMany',
      args: { skip: 20_000, take: 10, orderBy: { id: 'asc' }, select: { id: true } },
    })
    expect(ofKind(analysis, 'large-offset')).toMatchObject([{ skip: 20_000, severity: 'medium' }])
    expect(ofKind(analysis, 'missing-index')).toEqual([])
    expect(analysis.statements[0]?.rows).toBe(10)
  })

  it(
    'reports the N+1 loops QueryMetrics saw for the model, and the insights rank everything',
    async () => {
      const metrics = new QueryMetrics({ nPlusOne: { threshold: 5 } })
      const app = capturedClient({ withParams: true, metrics }).$extends(withQueryMetrics(metrics))
      await runWithQueryContext(
        async () => {
          const products = await app.product.findMany({
            where: { id: { lte: 8 } },
            select: { id: true },
          })
          for (const product of products) {
            await app.review.findMany({ where: { productId: product.id } })
          }
        },
        { name: 'product page' },
      )
      expect(metrics.nPlusOne()).toHaveLength(1)

      const analyzer = new QueryAnalyzer(capturedClient(), { metrics })
      const reviews = await analyzer.analyze({
        model: 'Review',
        operation: 'findMany',
        args: { where: { productId: 3 } },
      })
      const [loop] = ofKind(reviews, 'n-plus-one')
      expect(loop).toMatchObject({
        model: 'Review',
        operation: 'findMany',
        severity: 'high',
        count: 8,
      })
      expect(loop?.suggestion).toMatch(/productId: \{ in:/)
      expect(loop?.callSite).toMatch(/database\/analysis\.test\.ts:\d+/)

      const query = {
        model: 'Product',
        operation: 'findMany',
        args: { where: { viewCount: 7 }, select: { id: true }, take: 10 },
      } as const
      await db.pool.query('DROP INDEX IF EXISTS "Product_viewCount_idx"')
      await analyzer.analyze(query)
      await analyzer.analyze(query)
      await analyzer.analyze({ model: 'Product', operation: 'findMany', args: { take: 2 } })
      const insights = analyzer.getOptimizationInsights()
      expect(insights.summary).toMatchObject({
        totalQueries: 9,
        nPlusOnePatterns: 1,
        analyses: 4,
        cacheHitRate: 0,
      })
      expect(insights.topSlowOperations.map((o) => `${o.model}.${o.operation}`)).toEqual(
        expect.arrayContaining(['Product.findMany', 'Review.findMany']),
      )
      const kinds = insights.recommendations.map((r) => r.kind)
      expect(kinds.filter((k) => k === 'missing-index')).toHaveLength(1)
      expect(kinds.filter((k) => k === 'n-plus-one')).toHaveLength(1)
      expect(kinds).toContain('over-fetching')
      const ranks = insights.recommendations.map(
        (r) => ({ high: 0, medium: 1, low: 2 })[r.severity],
      )
      expect(ranks).toEqual([...ranks].sort((a, b) => a - b))
      expect(insights.indexSuggestions).toMatchObject([
        { indexName: 'Product_viewCount_idx', columns: ['viewCount'], occurrences: 1 },
      ])

      // The index created, the same query analyzed again: its advice is gone from the insights.
      await createIndex(
        insights.recommendations.find(
          (r) => r.kind === 'missing-index',
        ) as MissingIndexRecommendation,
      )
      await analyzer.analyze(query)
      expect(analyzer.getOptimizationInsights().indexSuggestions).toEqual([])
    },
    INDEX_TEST_TIMEOUT,
  )

  it('reads the stats of a withCache client through a function, and advises analyzing slow operations', async () => {
    const metrics = new QueryMetrics({ slowQueryMs: 0 })
    const app = capturedClient({ withParams: true, metrics }).$extends(withQueryMetrics(metrics))
    await app.order.findMany({ where: { status: 'PAID' } }) // slow operation
    // Any database time counts as slow here, so that a real call crosses the threshold.
    const analyzer = new QueryAnalyzer(capturedClient(), {
      metrics: () => metrics.stats(),
      slowQueryMs: 0,
    })
    const slow = analyzer.getOptimizationInsights().recommendations
    expect(slow).toMatchObject([
      { kind: 'slow-operation', model: 'Order', operation: 'findMany', queries: 1, occurrences: 1 },
    ])
    // The advice names where its slow calls were made.
    const source = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n')
    const line = source.findIndex((text) => text.endsWith('// slow operation')) + 1
    expect(slow[0]).toMatchObject({ callSites: [`test/database/analysis.test.ts:${line}`] })
    await analyzer.analyze({
      model: 'Order',
      operation: 'findMany',
      args: { where: { status: 'PAID' } },
    })
    const after = analyzer.getOptimizationInsights()
    expect(after.recommendations.filter((r) => r.kind === 'slow-operation')).toEqual([])
    expect(after.summary).toMatchObject({ totalQueries: 1, analyses: 1 })
  })

  it('runs each statement again with its own values, even without withParams and for long values', async () => {
    const analyzer = new QueryAnalyzer(capturedClient({ withParams: false }))
    const analysis = await analyzer.analyze({
      model: 'Product',
      operation: 'findMany',
      args: { where: { name: { startsWith: 'Product 123' } }, select: { id: true }, take: 5 },
    })
    expect(analysis.statements[0]).toMatchObject({ mode: 'analyze', rows: 5 })
    expect(analysis.statements[0]?.executionTimeMs).toBeGreaterThan(0)
    expect(ofKind(analysis, 'missing-index')).toMatchObject([{ columns: ['name'] }])
    const long = await new QueryAnalyzer(capturedClient()).analyze({
      model: 'Product',
      operation: 'findFirst',
      args: { where: { name: 'n'.repeat(500) }, select: { id: true } },
    })
    expect(long.statements[0]).toMatchObject({ mode: 'analyze', rows: 0 })
  })

  /** A statement as the metrics keep it (values summarized, or not at all), explained. */
  async function explainAsLogged(options: CaptureSqlOptions, args: object) {
    const client = capturedClient(options)
    const collector = new SqlCollector() // no keepArgs: what a slow-query log holds
    await collectSql(collector, () => client.product.findFirst(args as never))
    const statement = collector.statements.find((s) => s.sql.includes('"Product"'))
    if (statement === undefined) throw new Error('no statement captured')
    return client.$transaction((tx) => explainStatement(tx, statement))
  }

  it('falls back to the generic plan when only a summary of the values was kept', async () => {
    const notCaptured = await explainAsLogged(
      { withParams: false },
      { where: { name: { startsWith: 'Product 123' } }, select: { id: true } },
    )
    expect(notCaptured).toMatchObject({ mode: 'generic', note: /withParams: true/ })
    expect(JSON.stringify((notCaptured as { output: unknown }).output)).toContain('$1')
    const cut = await explainAsLogged(
      { withParams: true },
      { where: { name: 'n'.repeat(500) }, select: { id: true } },
    )
    expect(cut).toMatchObject({ mode: 'generic', note: /was cut from the capture/ })
  })

  it('skips a statement whose SQL captureSql cut, saying why', async () => {
    const analyzer = new QueryAnalyzer(capturedClient({ withParams: true, maxSqlLength: 40 }))
    const analysis = await analyzer.analyze({ model: 'Product', operation: 'count' })
    expect(analysis.statements).toEqual([])
    expect(analysis.skipped).toMatchObject([{ reason: expect.stringMatching(/maxSqlLength/) }])
  })
})

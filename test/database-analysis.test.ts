import { PrismaPg } from '@prisma/adapter-pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PrismaClient } from '../prisma/generated/client.js'
import type { QueryAnalysis } from '../src/database/analysis/analysis-result.js'
import { QueryAnalyzer } from '../src/database/analysis/query-analyzer.js'
import type {
  MissingIndexRecommendation,
  Recommendation,
} from '../src/database/analysis/recommendations.js'
import { ValidationError } from '../src/errors.js'
import { QueryMetrics, runWithQueryContext, withQueryMetrics } from '../src/prisma/metrics/index.js'
import { type CaptureSqlOptions, captureSql } from '../src/prisma/sql-capture.js'
import { createTestDatabase, type TestDatabase } from './support/database.js'

const PRODUCTS = 30_000
const INDEX_TEST_TIMEOUT = 30_000

let db: TestDatabase
const clients: { $disconnect(): Promise<void> }[] = []

/** A client on the test schema whose adapter is wrapped with captureSql. */
function capturedClient(options: CaptureSqlOptions = { withParams: true }): PrismaClient {
  const adapter = new PrismaPg({ ...db.config, max: 4 }, { schema: db.schema })
  const client = new PrismaClient({ adapter: captureSql(adapter, options) })
  clients.push(client)
  return client
}

function ofKind<K extends Recommendation['kind']>(
  analysis: QueryAnalysis,
  kind: K,
): Extract<Recommendation, { kind: K }>[] {
  return analysis.recommendations.filter(
    (r): r is Extract<Recommendation, { kind: K }> => r.kind === kind,
  )
}

function scans(analysis: QueryAnalysis): string[] {
  return analysis.statements.flatMap((s) =>
    s.nodes.filter((n) => n.relation !== undefined).map((n) => `${n.nodeType} ${n.index ?? ''}`),
  )
}

async function _validationError(run: () => unknown): Promise<ValidationError> {
  try {
    await run()
  } catch (error) {
    if (error instanceof ValidationError) return error
    throw error
  }
  throw new Error('no ValidationError thrown')
}

/**
 * Creates the index as recommended, but without CONCURRENTLY: the same index, while a concurrent
 * build waits for every transaction open in the whole database, other test files' too (tests
 * assert the recommended text, CONCURRENTLY included, before calling this).
 */
async function createIndex(recommendation: MissingIndexRecommendation): Promise<void> {
  const statement = recommendation.statement
  expect(statement).toMatch(/^CREATE INDEX CONCURRENTLY IF NOT EXISTS /)
  await db.pool.query(statement.replace('CREATE INDEX CONCURRENTLY', 'CREATE INDEX'))
  await db.pool.query('ANALYZE "Product"')
}

beforeAll(async () => {
  db = await createTestDatabase('analysis')
  // 1% featured, one row per viewCount value below 30 000 - 20 000, wide descriptions.
  await db.pool.query(
    `INSERT INTO "Product" (sku, name, description, price, featured, "viewCount", "updatedAt")
     SELECT 'sku-' || i, 'Product ' || i, repeat('d', 400), (i % 500) + 0.99, i % 100 = 0,
            i % 20000, now()
     FROM generate_series(1, ${PRODUCTS}) i`,
  )
  await db.pool.query(`INSERT INTO "User" (email, name) VALUES ('reviewer@x', 'Reviewer')`)
  await db.pool.query(
    `INSERT INTO "Review" ("productId", "userId", rating, body)
     SELECT p, (SELECT id FROM "User"), 5, 'ok' FROM generate_series(1, 20) p`,
  )
  await db.pool.query('ANALYZE')
}, 60_000)

afterAll(async () => {
  for (const client of clients) await client.$disconnect()
  await db?.drop()
})

describe('QueryAnalyzer on PostgreSQL', () => {
  it(
    'finds the Seq Scan of an unindexed filter, recommends the index, and the plan uses it once created',
    async () => {
      const analyzer = new QueryAnalyzer(capturedClient())
      const query = {
        model: 'Product',
        operation: 'findMany',
        args: { where: { viewCount: 12345 }, select: { id: true, name: true }, take: 10 },
      } as const
      const before = await analyzer.analyze(query)
      expect(before.statements).toHaveLength(1)
      const [statement] = before.statements
      expect(statement?.mode).toBe('analyze')
      expect(statement?.rows).toBe(1)
      expect(statement?.executionTimeMs).toBeGreaterThan(0)
      expect(
        (statement?.buffers.sharedHit ?? 0) + (statement?.buffers.sharedRead ?? 0),
      ).toBeGreaterThan(0)
      expect(scans(before)).toEqual(['Seq Scan '])
      const [index, ...others] = ofKind(before, 'missing-index')
      expect(others).toEqual([])
      expect(index).toMatchObject({
        model: 'Product',
        severity: 'high',
        table: 'Product',
        schema: db.schema,
        columns: ['viewCount'],
        fields: ['viewCount'],
        reason: 'filter',
        indexName: 'Product_viewCount_idx',
        prismaSchema: '@@index([viewCount])',
        rowsScanned: PRODUCTS,
        rowsReturned: 1,
      })
      expect(index?.statement).toBe(
        `CREATE INDEX CONCURRENTLY IF NOT EXISTS "Product_viewCount_idx" ON "${db.schema}"."Product" ("viewCount")`,
      )

      await createIndex(index as MissingIndexRecommendation)
      const after = await analyzer.analyze(query)
      expect(scans(after)).toEqual(
        expect.arrayContaining([expect.stringMatching(/Index Scan Product_viewCount_idx/)]),
      )
      expect(scans(after)).not.toContain('Seq Scan ')
      expect(ofKind(after, 'missing-index')).toEqual([])
      expect(after.statements[0]?.rows).toBe(1)
    },
    INDEX_TEST_TIMEOUT,
  )

  it(
    'recommends one index for an equality filter followed by a sort, which then serves both',
    async () => {
      const analyzer = new QueryAnalyzer(capturedClient())
      const query = {
        model: 'Product',
        operation: 'findMany',
        args: {
          where: { featured: true },
          orderBy: { name: 'desc' },
          take: 5,
          select: { id: true, name: true },
        },
      } as const
      const before = await analyzer.analyze(query)
      const types = (analysis: QueryAnalysis) =>
        analysis.statements[0]?.nodes.map((n) => n.nodeType)
      expect(scans(before)).toEqual(['Seq Scan '])
      expect(types(before)).toContain('Sort')
      const [index] = ofKind(before, 'missing-index')
      expect(index).toMatchObject({
        columns: ['featured', 'name'],
        reason: 'filter-and-sort',
        prismaSchema: '@@index([featured, name(sort: Desc)])',
        statement: `CREATE INDEX CONCURRENTLY IF NOT EXISTS "Product_featured_name_idx" ON "${db.schema}"."Product" ("featured", "name" DESC)`,
      })
      await createIndex(index as MissingIndexRecommendation)
      const after = await analyzer.analyze(query)
      expect(types(after)).not.toContain('Sort')
      expect(scans(after)).toEqual(['Index Scan Product_featured_name_idx'])
      expect(ofKind(after, 'missing-index')).toEqual([])
      // Same rows either way.
      expect(after.statements[0]?.rows).toBe(5)
    },
    INDEX_TEST_TIMEOUT,
  )

  it('recommends an index on the sort key of a top-N sort over the whole table', async () => {
    const analyzer = new QueryAnalyzer(capturedClient())
    const analysis = await analyzer.analyze({
      model: 'Product',
      operation: 'findMany',
      args: { orderBy: { price: 'desc' }, take: 3, select: { id: true } },
    })
    expect(ofKind(analysis, 'missing-index')).toMatchObject([
      {
        columns: ['price'],
        reason: 'sort',
        rowsReturned: PRODUCTS,
        indexName: 'Product_price_idx',
      },
    ])
  })

  it('does not recommend an index for a filter that keeps most rows, but flags the missing take', async () => {
    const analyzer = new QueryAnalyzer(capturedClient())
    const analysis = await analyzer.analyze({
      model: 'Product',
      operation: 'findMany',
      args: { where: { isActive: true }, select: { id: true } },
    })
    expect(scans(analysis)).toEqual(['Seq Scan '])
    expect(ofKind(analysis, 'missing-index')).toEqual([])
    expect(ofKind(analysis, 'unbounded-find-many')).toMatchObject([
      { severity: 'high', tableRows: PRODUCTS, rowsReturned: PRODUCTS },
    ])
  })

  it('gives no index advice below largeTableRows', async () => {
    const analyzer = new QueryAnalyzer(capturedClient(), { largeTableRows: 100_000 })
    const analysis = await analyzer.analyze({
      model: 'Product',
      operation: 'findFirst',
      args: { where: { price: 3.99 }, select: { id: true } },
    })
    expect(scans(analysis)).toEqual(['Seq Scan '])
    expect(analysis.recommendations).toEqual([])
  })

  it('analyzes writes without changing anything: the update is rolled back', async () => {
    const analyzer = new QueryAnalyzer(capturedClient())
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
    const analyzer = new QueryAnalyzer(capturedClient())
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
    const analyzer = new QueryAnalyzer(capturedClient())
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
      expect(loop?.callSite).toMatch(/database-analysis\.test\.ts:\d+/)

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
    const metrics = new QueryMetrics()
    const app = capturedClient({ withParams: true, metrics }).$extends(withQueryMetrics(metrics))
    await app.order.findMany({ where: { status: 'PAID' } })
    // Any database time counts as slow here, so that a real call crosses the threshold.
    const analyzer = new QueryAnalyzer(capturedClient(), {
      metrics: () => metrics.stats(),
      slowQueryMs: 0,
    })
    const slow = analyzer.getOptimizationInsights().recommendations
    expect(slow).toMatchObject([
      { kind: 'slow-operation', model: 'Order', operation: 'findMany', queries: 1, occurrences: 1 },
    ])
    await analyzer.analyze({
      model: 'Order',
      operation: 'findMany',
      args: { where: { status: 'PAID' } },
    })
    const after = analyzer.getOptimizationInsights()
    expect(after.recommendations.filter((r) => r.kind === 'slow-operation')).toEqual([])
    expect(after.summary).toMatchObject({ totalQueries: 1, analyses: 1 })
  })

  it('falls back to the generic plan when the parameter values were not captured', async () => {
    const analyzer = new QueryAnalyzer(capturedClient({ withParams: false }))
    const analysis = await analyzer.analyze({
      model: 'Product',
      operation: 'findMany',
      args: { where: { name: { startsWith: 'Product 123' } }, select: { id: true }, take: 5 },
    })
    const [statement] = analysis.statements
    expect(statement?.mode).toBe('generic')
    expect(statement?.note).toMatch(/withParams: true/)
    expect(statement?.executionTimeMs).toBeUndefined()
    expect(JSON.stringify(statement?.plan)).toContain('$1')
    expect(ofKind(analysis, 'missing-index')).toMatchObject([{ columns: ['name'] }])
  })

  it('falls back to the generic plan when captureSql cut a parameter value', async () => {
    const analyzer = new QueryAnalyzer(capturedClient())
    const analysis = await analyzer.analyze({
      model: 'Product',
      operation: 'findFirst',
      args: { where: { name: 'n'.repeat(500) }, select: { id: true } },
    })
    expect(analysis.statements[0]).toMatchObject({
      mode: 'generic',
      note: /was cut from the capture/,
    })
  })

  it('skips a statement whose SQL captureSql cut, saying why', async () => {
    const analyzer = new QueryAnalyzer(capturedClient({ withParams: true, maxSqlLength: 40 }))
    const analysis = await analyzer.analyze({ model: 'Product', operation: 'count' })
    expect(analysis.statements).toEqual([])
    expect(analysis.skipped).toMatchObject([{ reason: expect.stringMatching(/maxSqlLength/) }])
  })
})

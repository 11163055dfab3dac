import { describe, expect, it } from 'vitest'
import type { QueryAnalysis } from '../../src/database/analysis/analysis-result.js'
import { QueryAnalyzer } from '../../src/database/analysis/query-analyzer.js'
import type { MissingIndexRecommendation } from '../../src/database/analysis/recommendations.js'
import {
  INDEX_TEST_TIMEOUT,
  ofKind,
  PRODUCTS,
  scans,
  useAnalysisDatabase,
} from '../support/analysis.js'

// Index advice: when a missing index is recommended (filter, filter and sort, sort) and when
// not; how statements are analyzed, the other recommendations and the insights are in
// analysis.test.ts.
const db = useAnalysisDatabase('analysis_indexes')
const { capturedClient, createIndex } = db

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
})

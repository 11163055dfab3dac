import { describe, expect, it } from 'vitest'
import { recoverParams } from '../../src/database/analysis/explain.js'
import { columnsIn, sortColumns } from '../../src/database/analysis/plan-walker.js'
import { QueryAnalyzer } from '../../src/database/analysis/query-analyzer.js'
import { ValidationError } from '../../src/errors.js'
import { CacheManager } from '../../src/index.js'
import { withCache } from '../../src/prisma/index.js'
import { QueryMetrics, withQueryMetrics } from '../../src/prisma/metrics/index.js'
import { useAnalysisDatabase } from '../support/analysis.js'

// QueryAnalyzer's input checks, the clients it accepts, and its plan-reading helpers; the analyses themselves are in
// analysis.test.ts, on a seeded table.

const db = useAnalysisDatabase('analysis_input', { seeded: false })
const { capturedClient } = db

async function validationError(run: () => unknown): Promise<ValidationError> {
  try {
    await run()
  } catch (error) {
    if (error instanceof ValidationError) return error
    throw error
  }
  throw new Error('no ValidationError thrown')
}

describe('QueryAnalyzer input validation', () => {
  it('names the field at fault', async () => {
    const analyzer = new QueryAnalyzer(capturedClient())
    const bad: [unknown, string, RegExp][] = [
      [null, 'query', /must be an object/],
      [{ model: 'Nope', operation: 'findMany' }, 'query.model', /"Nope" is not a model.*Product/],
      [{ model: 7, operation: 'findMany' }, 'query.model', /model name/],
      [{ model: 'Product', operation: 'explode' }, 'query.operation', /one of findUnique/],
      [{ model: 'Product', operation: 'findMany', args: 'x' }, 'query.args', /object/],
      [{ model: 'Product', operation: 'findMany', args: [] }, 'query.args', /array/],
    ]
    for (const [query, field, message] of bad) {
      const error = await validationError(() => analyzer.analyze(query as never))
      expect(error.field).toBe(field)
      expect(error.message).toMatch(message)
    }
  })

  it('rejects bad options and a non-client', () => {
    const prisma = capturedClient()
    const cases: [unknown, string][] = [
      [{ largeTableRows: -1 }, 'options.largeTableRows'],
      [{ indexSelectivity: 0 }, 'options.indexSelectivity'],
      [{ metrics: {} }, 'options.metrics'],
      [{ slowQueryMs: -1 }, 'options.slowQueryMs'],
      [{ keepAnalyses: 0 }, 'options.keepAnalyses'],
      [{ timeout: 'soon' }, 'options.timeout'],
      ['fast', 'options'],
    ]
    for (const [options, field] of cases) {
      expect(() => new QueryAnalyzer(prisma, options as never)).toThrow(
        expect.objectContaining({ field }),
      )
    }
    expect(() => new QueryAnalyzer({} as never)).toThrow(
      expect.objectContaining({ field: 'prisma' }),
    )
    expect(() => new QueryAnalyzer(prisma).getOptimizationInsights({ limit: 0 })).toThrow(
      expect.objectContaining({ field: 'options.limit' }),
    )
  })

  it('refuses a client without captureSql', async () => {
    const plain = db.client()
    const error = await validationError(() =>
      new QueryAnalyzer(plain).analyze({ model: 'Product', operation: 'count' }),
    )
    expect(error.field).toBe('prisma')
    expect(error.message).toMatch(/captureSql/)
  })

  it('analyzes through extensions that collect the SQL themselves (withQueryMetrics, withCache)', async () => {
    const metrics = new QueryMetrics()
    const cache = new CacheManager()
    const query = {
      model: 'Product',
      operation: 'findMany',
      args: { where: { viewCount: { gt: 5 } }, take: 3 },
    } as const
    try {
      const analyses = [
        await new QueryAnalyzer(capturedClient().$extends(withQueryMetrics(metrics))).analyze(
          query,
        ),
        await new QueryAnalyzer(
          capturedClient().$extends(withCache({ cache, env: false })),
        ).analyze(query),
      ]
      for (const analysis of analyses) {
        expect(analysis.statements.map((s) => s.sql).join('\n')).toMatch(/FROM "[^"]+"\."Product"/)
        expect(analysis.statements[0]?.plan).toBeDefined()
      }
      // The analyzed call went through withQueryMetrics like any call.
      expect(metrics.stats().operations['Product.findMany']?.queries).toBe(1)
    } finally {
      await cache.close()
    }
  })
})

describe('plan reading', () => {
  const columns = new Set(['viewCount', 'name', 'featured', 'text'])

  it('finds the columns a filter names, not those in literals, functions or type names', () => {
    expect(
      columnsIn(
        `(("Product"."viewCount" = 12345) AND (lower("Product".name) ~~ '%name = 1%'::text) AND "Product".featured)`,
        'Product',
        columns,
      ),
    ).toEqual([
      { column: 'viewCount', equality: true },
      { column: 'name', equality: false },
      { column: 'featured', equality: true },
    ])
    expect(columnsIn(`("Other"."viewCount" = 1)`, 'Product', columns)).toEqual([])
    expect(columnsIn(`((name)::text = 'a'::text)`, 'Product', columns)).toEqual([
      { column: 'name', equality: true },
    ])
  })

  it('reads sort keys as columns, or not at all when a key is an expression', () => {
    expect(
      sortColumns(['"Product".name DESC', '"Product"."viewCount" NULLS FIRST'], 'Product', columns),
    ).toEqual([
      { column: 'name', descending: true },
      { column: 'viewCount', descending: false },
    ])
    expect(sortColumns(['lower("Product".name)'], 'Product', columns)).toBeUndefined()
  })

  it('recovers parameter values from the capture, and says when they were cut', () => {
    expect(recoverParams([1, 'a', null, true, '10', [1, 2]])).toEqual({
      ok: true,
      values: [1, 'a', null, true, '10', [1, 2]],
    })
    expect(recoverParams([`${'x'.repeat(10)}…(+300 chars)`])).toMatchObject({ ok: false })
    expect(recoverParams([1, 2, '…(+40 items)'])).toMatchObject({ ok: false })
    expect(recoverParams(['<Uint8Array 16 bytes>'])).toMatchObject({ ok: false })
    expect(recoverParams(undefined)).toMatchObject({ ok: false, reason: /withParams/ })
  })
})

import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { PrismaPg } from '@prisma/adapter-pg'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { PrismaClient } from '../../prisma/generated/client.js'
import { ValidationError } from '../../src/errors.js'
import type { QueryEvent } from '../../src/prisma/metrics/database-call.js'
import {
  describeShape,
  LatencyHistogram,
  type NPlusOneReport,
  QueryMetrics,
  type QueryMetricsOptions,
  RELATIVE_ERROR,
  runWithQueryContext,
  type SlowQueryEntry,
  shapeHash,
  suggestFix,
  summarizeArgs,
  withQueryMetrics,
} from '../../src/prisma/metrics/index.js'
import {
  type CapturedStatement,
  captureSql,
  type SqlCollector,
} from '../../src/prisma/sql-capture.js'
import { createTestDatabase, type TestDatabase } from '../support/database.js'

/** The line of this file that holds `marker`, for call-site checks. */
function lineOf(marker: string): number {
  const lines = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n')
  const index = lines.findIndex((line) => line.includes(marker) && !line.includes('lineOf('))
  return index + 1
}

function event(overrides: Partial<QueryEvent> = {}): QueryEvent {
  return {
    model: 'Product',
    operation: 'findUnique',
    cacheStatus: 'hit',
    durationMs: 0.01,
    dbDurationMs: 0,
    args: { where: { id: 1 } },
    ...overrides,
  }
}

function exactPercentile(sorted: number[], p: number): number {
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1]!
}

function optionError(options: unknown): ValidationError {
  try {
    new QueryMetrics(options as QueryMetricsOptions)
  } catch (error) {
    if (error instanceof ValidationError) return error
    throw error
  }
  throw new Error('no error thrown')
}

describe('LatencyHistogram', () => {
  it('reports percentiles within its relative error of the exact ones (property)', () => {
    const latency = fc.double({ min: -5, max: 6, noNaN: true }).map((exponent) => 10 ** exponent)
    fc.assert(
      fc.property(fc.array(latency, { minLength: 1, maxLength: 3000 }), (values) => {
        const histogram = new LatencyHistogram()
        for (const value of values) histogram.record(value)
        const sorted = [...values].sort((a, b) => a - b)
        for (const p of [0, 1, 25, 50, 90, 95, 99, 99.9, 100]) {
          const exact = exactPercentile(sorted, p)
          const estimate = histogram.percentile(p)
          expect(Math.abs(estimate - exact)).toBeLessThanOrEqual(exact * RELATIVE_ERROR * 1.000001)
        }
        expect(histogram.count).toBe(values.length)
        expect(histogram.max).toBe(sorted.at(-1))
        expect(histogram.min).toBe(sorted[0])
        const sum = values.reduce((a, b) => a + b, 0)
        expect(histogram.mean).toBeCloseTo(sum / values.length, 6)
      }),
      { numRuns: 150 },
    )
  })

  it('merges to the same percentiles as recording everything in one', () => {
    const a = new LatencyHistogram()
    const b = new LatencyHistogram()
    const all = new LatencyHistogram()
    for (let i = 1; i <= 5000; i++) {
      const value = (i % 97) * 0.37 + i / 1000
      ;(i % 3 === 0 ? a : b).record(value)
      all.record(value)
    }
    a.merge(b)
    const { mean, ...merged } = a.summary()
    const { mean: allMean, ...expected } = all.summary()
    expect(merged).toEqual(expected)
    expect(mean).toBeCloseTo(allMean, 9)
  })

  it('counts zero, negative, NaN and sub-nanosecond samples as 0 and clamps huge ones', () => {
    const histogram = new LatencyHistogram()
    for (const value of [0, -3, Number.NaN, 1e-9]) histogram.record(value)
    expect(histogram.percentile(100)).toBe(1e-9)
    expect(histogram.percentile(70)).toBe(0)
    expect(histogram.summary()).toMatchObject({ count: 4, p50: 0, max: 1e-9 })
    histogram.record(1e12)
    expect(histogram.percentile(100)).toBe(1e12)
    expect(histogram.max).toBe(1e12)
    histogram.reset()
    expect(histogram.summary()).toEqual({ count: 0, p50: 0, p95: 0, p99: 0, mean: 0, max: 0 })
  })
})

describe('QueryMetrics: counting and options', () => {
  it('counts per model and operation by cache status, with hit rate, latency, db time and totals', () => {
    const metrics = new QueryMetrics({ nPlusOne: false })
    for (let i = 0; i < 6; i++) metrics.record(event({ durationMs: 0.02 }))
    metrics.record(event({ cacheStatus: 'swr', durationMs: 0.03 }))
    for (let i = 0; i < 3; i++) {
      metrics.record(event({ cacheStatus: 'miss', durationMs: 2, dbDurationMs: 1.5 }))
    }
    metrics.record(
      event({ operation: 'update', cacheStatus: 'none', durationMs: 4, dbDurationMs: 4 }),
    )
    metrics.record(
      event({
        model: undefined,
        operation: '$executeRaw',
        cacheStatus: 'none',
        durationMs: 8,
        dbDurationMs: 8,
        error: new Error('boom'),
      }),
    )
    const { operations, totals } = metrics.stats()
    expect(Object.keys(operations).sort()).toEqual([
      '$raw.$executeRaw',
      'Product.findUnique',
      'Product.update',
    ])
    const reads = operations['Product.findUnique']!
    expect(reads).toMatchObject({ model: 'Product', queries: 10, hits: 6, swr: 1, misses: 3 })
    expect(reads.hitRate).toBeCloseTo(70, 10)
    expect(reads.db.count).toBe(3)
    expect(reads.db.p50).toBeCloseTo(1.5, 1)
    expect(reads.latency.max).toBe(2)
    expect(operations['$raw.$executeRaw']).toMatchObject({
      model: undefined,
      errors: 1,
      uncached: 1,
    })
    expect(totals).toMatchObject({
      queries: 12,
      hits: 6,
      swr: 1,
      misses: 3,
      uncached: 2,
      errors: 1,
    })
    expect(totals.db.count).toBe(5)
    expect(totals.latency.max).toBe(8)
    metrics.reset()
    expect(metrics.stats().operations).toEqual({})
    expect(metrics.stats().totals.queries).toBe(0)
  })

  it('rejects bad options with a ValidationError naming the field', () => {
    const cases: [unknown, string][] = [
      ['fast', 'options'],
      [{ slowQueryMs: -1 }, 'slowQueryMs'],
      [{ slowQueryMs: '1s' }, 'slowQueryMs'],
      [{ maxSlowQueries: 1.5 }, 'maxSlowQueries'],
      [{ nPlusOne: 'yes' }, 'nPlusOne'],
      [{ nPlusOne: { threshold: 1 } }, 'nPlusOne.threshold'],
      [{ nPlusOne: { windowMs: Number.NaN } }, 'nPlusOne.windowMs'],
      [{ nPlusOne: { burst: 1 } }, 'nPlusOne.burst'],
      [{ nPlusOne: { ignoreFrames: [3] } }, 'nPlusOne.ignoreFrames[0]'],
      [{ nPlusOne: { relationHint: 'x' } }, 'nPlusOne.relationHint'],
      [{ onSlowQuery: true }, 'onSlowQuery'],
      [{ onNPlusOne: {} }, 'onNPlusOne'],
    ]
    for (const [options, field] of cases) {
      const error = optionError(options)
      expect(error.code).toBe('ERR_INVALID_OPTION')
      expect(error.field).toBe(field)
    }
    expect(new QueryMetrics().slowQueryMs).toBe(1000)
  })

  it('keeps the latest maxSlowQueries slow calls in a ring buffer, and survives a throwing callback', () => {
    let seen = 0
    const metrics = new QueryMetrics({
      slowQueryMs: 5,
      maxSlowQueries: 3,
      onSlowQuery: () => {
        seen++
        throw new Error('logger down')
      },
    })
    for (let i = 0; i < 10; i++) {
      const db = 10 + i
      metrics.record(event({ cacheStatus: 'miss', durationMs: db + 1, dbDurationMs: db }))
    }
    metrics.record(event({ cacheStatus: 'miss', durationMs: 4, dbDurationMs: 4 }))
    metrics.record(event({ cacheStatus: 'hit', durationMs: 50 }))
    const { slowQueries, slowQueryCount } = metrics.stats()
    expect(seen).toBe(10)
    expect(slowQueryCount).toBe(10)
    expect(slowQueries.map((entry) => entry.durationMs)).toEqual([17, 18, 19])
    expect(slowQueries[2]).toMatchObject({ model: 'Product', operation: 'findUnique', totalMs: 20 })
    expect(slowQueries[2]!.args).toEqual({ where: { id: 1 } })
  })

  it('captures the call sites of the first 100 slow queries of a second, none past them', () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      const sites: (string | undefined)[] = []
      const metrics = new QueryMetrics({
        slowQueryMs: 5,
        maxSlowQueries: 200,
        onSlowQuery: (entry) => sites.push(entry.callSite),
      })
      const slow = () =>
        metrics.record(event({ cacheStatus: 'miss', durationMs: 11, dbDurationMs: 10 }))
      for (let i = 0; i < 101; i++) slow()
      vi.setSystemTime(Date.now() + 1_000)
      slow()
      const here = /^test\/prisma\/metrics\.test\.ts:\d+$/
      expect(sites.slice(0, 100).every((site) => here.test(site ?? ''))).toBe(true)
      expect(sites[100]).toBeUndefined()
      expect(sites[101]).toMatch(here)
    } finally {
      vi.useRealTimers()
    }
  })

  it('summarizes arguments into bounded, JSON-safe values', () => {
    const circular: Record<string, unknown> = { name: 'loop' }
    circular.self = circular
    const args = {
      where: { id: 12n, at: new Date(0), price: { d: [1, 5], e: 0, s: 1, toFixed: () => '1.5' } },
      data: {
        bytes: new Uint8Array(16),
        text: 'x'.repeat(10_000),
        list: Array.from({ length: 500 }, (_, i) => i),
      },
      circular,
    }
    const summary = summarizeArgs(args) as Record<string, Record<string, unknown>>
    const json = JSON.stringify(summary)
    expect(json.length).toBeLessThan(2000)
    expect(summary.where).toMatchObject({ id: '12n', at: '1970-01-01T00:00:00.000Z' })
    expect(summary.data!.bytes).toBe('<Uint8Array 16 bytes>')
    expect(String(summary.data!.text)).toContain('…(+9800 chars)')
    expect((summary.data!.list as unknown[]).at(-1)).toBe('…(+490 items)')
    expect(summary.circular!.self).toBe('[Circular]')
  })
})

describe('query shapes and suggestions', () => {
  it('gives one shape per structure, whatever the values', () => {
    const seed = 17
    expect(shapeHash({ where: { id: 1 } }, seed)).toBe(shapeHash({ where: { id: 99 } }, seed))
    expect(shapeHash({ where: { id: 1 } }, seed)).not.toBe(
      shapeHash({ where: { email: 'a' } }, seed),
    )
    expect(shapeHash({ where: { id: { in: [1, 2] } } }, seed)).toBe(
      shapeHash({ where: { id: { in: [7] } } }, seed),
    )
    expect(shapeHash({ where: { at: new Date() } }, seed)).toBe(
      shapeHash({ where: { at: 3 } }, seed),
    )
    expect(describeShape({ where: { id: 5 }, include: { reviews: true } })).toBe(
      '{where:{id:?},include:{reviews:?}}',
    )
    const raw = { strings: ['SELECT * FROM x WHERE id = ', ''], values: [1] }
    Object.setPrototypeOf(raw, class Sql {}.prototype)
    expect(describeShape(raw)).toBe('SELECT * FROM x WHERE id = ?')
    expect(describeShape(['SELECT 1', 2])).toBe('SELECT 1')
  })

  it('suggests findMany with in, batchFindMany, include or groupBy', () => {
    expect(suggestFix('User', 'findUnique', { where: { id: 1 } })).toContain(
      'batchFindMany(prisma.user, ids)',
    )
    expect(suggestFix('User', 'findFirst', { where: { email: 'a' } })).toContain(
      "prisma.user.findMany({ where: { email: { in: [...] } } }) or batchFindMany(prisma.user, ids, { by: 'email' })",
    )
    const hint = (model: string, where: Record<string, unknown>) =>
      model === 'Review' && 'productId' in where ? 'Product.reviews' : undefined
    const advice = suggestFix('Review', 'findMany', { where: { productId: 3 } }, hint)
    expect(advice).toMatch(
      /^Load the relation with the parent query: prisma\.product\.findMany\(\{ include: \{ reviews: true \} \}\)/,
    )
    expect(suggestFix('Order', 'count', { where: { userId: 2 } })).toContain(
      "groupBy({ by: ['userId']",
    )
    expect(suggestFix('Order', 'create', { data: {} })).toContain('createMany')
  })
})

describe('with PostgreSQL through Prisma', () => {
  let db: TestDatabase
  const clients: { $disconnect(): Promise<void> }[] = []

  function client(
    metrics: QueryMetrics,
    onStatement?: (s: CapturedStatement, c?: SqlCollector) => void,
  ) {
    const adapter = new PrismaPg({ ...db.config, max: 8 }, { schema: db.schema })
    const base = new PrismaClient({ adapter: captureSql(adapter, { metrics, onStatement }) })
    clients.push(base)
    return { base, prisma: base.$extends(withQueryMetrics(metrics)) }
  }

  beforeAll(async () => {
    db = await createTestDatabase('prisma_metrics')
    await db.pool.query(
      `INSERT INTO "User" (email, name) SELECT 'u' || i || '@x', 'user ' || i FROM generate_series(1, 30) i`,
    )
    await db.pool.query(
      `INSERT INTO "Category" (name, slug) VALUES ('Books', 'books'), ('Games', 'games')`,
    )
    await db.pool.query(
      `INSERT INTO "Product" (sku, name, price, "updatedAt", "categoryId") SELECT 'sku-' || i, 'product ' || i, i, now(), 1 + i % 2 FROM generate_series(1, 20) i`,
    )
  })

  afterAll(async () => {
    for (const open of clients) await open.$disconnect()
    await db?.drop()
  })

  it('logs a slow raw query and a slow model query with their SQL; unattributed SQL as model undefined', async () => {
    const slow: SlowQueryEntry[] = []
    const metrics = new QueryMetrics({ slowQueryMs: 30, onSlowQuery: (entry) => slow.push(entry) })
    const { base, prisma } = client(metrics)
    await prisma.$queryRaw`SELECT 1 AS one FROM pg_sleep(0.05)`
    const raw = slow.filter((entry) => entry.operation === '$queryRaw')
    expect(raw).toHaveLength(1)
    expect(raw[0]).toMatchObject({ model: undefined, error: undefined })
    expect(raw[0]!.durationMs).toBeGreaterThanOrEqual(45)
    expect(raw[0]!.totalMs).toBeGreaterThanOrEqual(raw[0]!.durationMs)
    expect(raw[0]!.sql).toEqual(['SELECT 1 AS one FROM pg_sleep(0.05)'])

    // A model query over a low threshold (every query is slow at 0 ms).
    const strict = new QueryMetrics({ slowQueryMs: 0 })
    const second = client(strict)
    await second.prisma.product.findMany({ where: { sku: { in: ['sku-1', 'sku-2'] } }, take: 5 })
    const [entry] = strict.slowQueries()
    expect(entry).toMatchObject({ model: 'Product', operation: 'findMany' })
    expect(entry!.args).toEqual({ where: { sku: { in: ['sku-1', 'sku-2'] } }, take: 5 })
    expect(entry!.sql).toHaveLength(1)
    expect(entry!.sql![0]).toMatch(/^SELECT .*"Product"/)
    expect(entry!.sql![0]).not.toContain('sku-1')

    // SQL run outside any attributed call (the bare client has no metrics extension).
    await base.$executeRaw`SELECT pg_sleep(0.04)`
    expect(slow.at(-1)).toMatchObject({ model: undefined, operation: '$statement' })
    expect(slow.at(-1)!.sql).toEqual(['SELECT pg_sleep(0.04)'])
  })

  it('attributes each statement to its own call under concurrency', async () => {
    const metrics = new QueryMetrics({ slowQueryMs: 0, maxSlowQueries: 1000, nPlusOne: false })
    const { prisma } = client(metrics)
    const calls = Array.from({ length: 8 }, (_, i) => [
      prisma.user.findMany({ where: { id: { gt: i } }, take: 2 }),
      prisma.product.findMany({ where: { price: { gt: i } }, take: 2 }),
      prisma.category.count(),
      prisma.order.findFirst({ where: { userId: i + 1 } }),
      prisma.$queryRaw`SELECT ${i}::int AS n, pg_sleep(0.001)::text AS s`,
    ]).flat()
    await Promise.all(calls)
    const entries = metrics.slowQueries()
    expect(entries).toHaveLength(calls.length)
    const table: Record<string, string> = {
      User: '"User"',
      Product: '"Product"',
      Category: '"Category"',
      Order: '"Order"',
    }
    for (const entry of entries) {
      expect(entry.sql, `${entry.model}.${entry.operation}`).toHaveLength(1)
      const sql = entry.sql![0]!
      if (entry.model === undefined) expect(sql).toContain('pg_sleep(0.001)')
      else expect(sql).toContain(table[entry.model])
      for (const other of Object.keys(table).filter((model) => model !== entry.model)) {
        expect(sql).not.toContain(table[other])
      }
    }
  })

  it("documents Prisma batching: same-tick findUnique calls run in the first call's context", async () => {
    const metrics = new QueryMetrics({ slowQueryMs: 0, nPlusOne: false })
    const { prisma } = client(metrics)
    await Promise.all([
      prisma.user.findUnique({ where: { id: 1 } }),
      prisma.user.findUnique({ where: { id: 2 } }),
      prisma.category.findUnique({ where: { id: 1 } }),
    ])
    const entries = metrics.slowQueries()
    const calls = entries.filter((entry) => entry.operation === 'findUnique')
    expect(calls.map((entry) => entry.model).sort()).toEqual(['Category', 'User', 'User'])
    // Prisma merged both users into one statement and dispatched the category's batch in the same
    // tick, in the first call's context: it goes to that call, or is unattributed when it ends
    // after it. The other calls see no SQL.
    const first = calls.find((entry) => entry.sql !== undefined)!
    expect(first.model).toBe('User')
    expect(calls.filter((entry) => entry.sql !== undefined)).toHaveLength(1)
    const all = entries.flatMap((entry) => entry.sql ?? [])
    expect(all).toHaveLength(2)
    expect(all.filter((sql) => sql.includes('"User"'))).toHaveLength(1)
    expect(all.filter((sql) => sql.includes('"Category"'))).toHaveLength(1)
  })

  it('attributes statements inside an interactive transaction; BEGIN and COMMIT are unattributed', async () => {
    const metrics = new QueryMetrics({ slowQueryMs: 0, nPlusOne: false })
    const unattributed: CapturedStatement[] = []
    const { prisma } = client(metrics, (statement, collector) => {
      if (collector === undefined) unattributed.push(statement)
    })
    await prisma.$transaction(async (tx) => {
      await tx.user.findMany({ where: { id: 1 } })
      await tx.product.count()
      await tx.user.update({ where: { id: 1 }, data: { name: 'renamed' } })
    })
    const entries = metrics.slowQueries().filter((entry) => entry.model !== undefined)
    expect(entries.map((entry) => `${entry.model}.${entry.operation}`)).toEqual([
      'User.findMany',
      'Product.count',
      'User.update',
    ])
    expect(entries[0]!.sql![0]).toContain('"User"')
    expect(entries[1]!.sql![0]).toContain('"Product"')
    expect(entries[2]!.sql![0]).toMatch(/^UPDATE .*"User"/)
    expect(unattributed.map((statement) => statement.sql)).toEqual([
      '-- startTransaction()',
      'COMMIT',
    ])
    expect(unattributed[1]!.inTransaction).toBe(true)
  })

  it('is transparent: provider, adapterName, errors; parameters only with withParams', async () => {
    const adapter = new PrismaPg({ ...db.config, max: 2 }, { schema: db.schema })
    const statements: CapturedStatement[] = []
    const wrapped = captureSql(adapter, {
      withParams: true,
      onStatement: (s) => statements.push(s),
    })
    expect(wrapped.provider).toBe(adapter.provider)
    expect(wrapped.adapterName).toBe(adapter.adapterName)
    expect(typeof wrapped.connectToShadowDb).toBe('function')
    const prisma = new PrismaClient({ adapter: wrapped })
    clients.push(prisma)
    await prisma.user.findUnique({ where: { email: 'u3@x' } })
    expect(statements.at(-1)!.params).toContain('u3@x')
    const failure = await prisma.user
      .create({ data: { email: 'u3@x', name: 'duplicate' } })
      .catch((error: unknown) => error)
    expect(failure).toMatchObject({ code: 'P2002' })
    expect(statements.at(-1)!.error).toBeDefined()
    const plain: CapturedStatement[] = []
    const quiet = new PrismaClient({
      adapter: captureSql(new PrismaPg({ ...db.config, max: 2 }, { schema: db.schema }), {
        onStatement: (s) => plain.push(s),
      }),
    })
    clients.push(quiet)
    await quiet.user.findUnique({ where: { email: 'u3@x' } })
    expect(plain.at(-1)!.params).toBeUndefined()
    expect(() => captureSql({} as never)).toThrow(ValidationError)
  })

  it('reports a real N+1 loop once per context, with its call site and a suggestion', async () => {
    const reports: NPlusOneReport[] = []
    const metrics = new QueryMetrics({ onNPlusOne: (report) => reports.push(report) })
    const { prisma } = client(metrics)
    await runWithQueryContext(
      async () => {
        for (let id = 1; id <= 20; id++) {
          await prisma.user.findUnique({ where: { id } }) // n+1 loop
        }
      },
      { name: 'GET /users' },
    )
    expect(reports).toHaveLength(1)
    expect(reports[0]).toMatchObject({
      model: 'User',
      operation: 'findUnique',
      shape: '{where:{id:?}}',
      context: 'GET /users',
      detection: 'context',
      callSite: `test/prisma/metrics.test.ts:${lineOf('// n+1 loop')}`,
    })
    expect(reports[0]!.suggestion).toContain('batchFindMany(prisma.user, ids)')
    expect(metrics.nPlusOne()[0]!.count).toBe(20)

    await runWithQueryContext(async () => {
      for (let id = 1; id <= 5; id++) await prisma.user.findUnique({ where: { id } })
    })
    // A second context starts from zero and repeats the report.
    await runWithQueryContext(async () => {
      for (let id = 1; id <= 10; id++) await prisma.user.findUnique({ where: { id } })
    })
    expect(metrics.stats().nPlusOne.map((report) => report.count)).toEqual([20, 10])
  })

  it('detects bursts without a context: same shape and call site within the window', async () => {
    const reports: NPlusOneReport[] = []
    const metrics = new QueryMetrics({
      onNPlusOne: (report) => reports.push(report),
      nPlusOne: { windowMs: 2000 },
    })
    const { prisma } = client(metrics)
    for (let id = 1; id <= 12; id++) {
      await prisma.product.findFirst({ where: { sku: `sku-${id}` } }) // burst loop
    }
    expect(reports).toHaveLength(1)
    expect(reports[0]).toMatchObject({
      model: 'Product',
      operation: 'findFirst',
      detection: 'burst',
      context: undefined,
      callSite: `test/prisma/metrics.test.ts:${lineOf('// burst loop')}`,
    })
    expect(reports[0]!.suggestion).toContain("batchFindMany(prisma.product, ids, { by: 'sku' })")
  })

  it('counts cache hits unless told not to, and spreads bursts over windows', async () => {
    const hits = new QueryMetrics({ nPlusOne: { burst: false } })
    const noHits = new QueryMetrics({ nPlusOne: { burst: false, includeCacheHits: false } })
    runWithQueryContext(() => {
      for (let i = 0; i < 12; i++) {
        hits.record(event({ args: { where: { id: i } } }))
        noHits.record(event({ args: { where: { id: i } } }))
      }
    })
    expect(hits.nPlusOne()).toHaveLength(1)
    expect(noHits.nPlusOne()).toHaveLength(0)

    const spread = new QueryMetrics({ nPlusOne: { windowMs: 50 } })
    for (let i = 0; i < 9; i++) spread.record(event({ args: { where: { id: i } } }))
    await new Promise((resolve) => setTimeout(resolve, 250))
    for (let i = 0; i < 9; i++) spread.record(event({ args: { where: { id: i } } }))
    expect(spread.nPlusOne()).toHaveLength(0)
    for (let i = 0; i < 10; i++) spread.record(event({ args: { where: { id: i } } }))
    expect(spread.nPlusOne()).toHaveLength(1)
  })

  it('captures a stack for a shape crossing the threshold every window at most once a second', async () => {
    // Half the threshold per window: previous + current crosses it in every window.
    const metrics = new QueryMetrics({ nPlusOne: { windowMs: 5, threshold: 10 } })
    const capture = vi.spyOn(Error, 'captureStackTrace')
    try {
      const started = performance.now()
      for (let windows = 0; windows < 25; windows++) {
        for (let i = 0; i < 5; i++) metrics.record(event({ args: { where: { id: i } } }))
        const windowEnd = performance.now() + 7
        while (performance.now() < windowEnd) await new Promise((resolve) => setImmediate(resolve))
      }
      const seconds = Math.ceil((performance.now() - started) / 1000)
      expect(metrics.nPlusOne()).toHaveLength(1)
      // One the first time and at most one a second after it; without the quiet period, 25.
      expect(capture.mock.calls.length).toBeLessThanOrEqual(1 + seconds)
    } finally {
      capture.mockRestore()
    }
  })
})

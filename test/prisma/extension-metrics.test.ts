import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { PrismaPg } from '@prisma/adapter-pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PrismaClient } from '../../prisma/generated/client.js'
import { CacheManager, ValidationError } from '../../src/index.js'
import {
  captureSql,
  type NPlusOneReport,
  runWithQueryContext,
  type SlowQueryEntry,
  withCache,
} from '../../src/prisma/index.js'
import { createTestDatabase, type TestDatabase } from '../support/database.js'
import { seedShop } from '../support/shop-fixture.js'

/**
 * The query metrics as `withCache` feeds them: per model and operation counts by cache status,
 * the slow-query log with the SQL (through `captureSql`), and N+1 reports whose advice comes from
 * the schema's relations, pointing at the caller's line.
 */

let db: TestDatabase
let base: PrismaClient
let cache: CacheManager
const slow: SlowQueryEntry[] = []
const reports: NPlusOneReport[] = []
let prisma: ReturnType<typeof extend>

const extend = (client: PrismaClient) =>
  client.$extends(
    withCache({
      cache,
      env: { DATABASE_MAX_QUERY_EXECUTION_TIME: '40' },
      metrics: { onSlowQuery: (entry) => slow.push(entry), onNPlusOne: (r) => reports.push(r) },
    }),
  )

function lineOf(marker: string): number {
  const lines = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n')
  return lines.findIndex((line) => line.includes(marker) && !line.includes('lineOf(')) + 1
}

beforeAll(async () => {
  db = await createTestDatabase('ext_metrics')
  base = new PrismaClient({
    adapter: captureSql(new PrismaPg({ ...db.config, max: 4 }, { schema: db.schema })),
  })
  await seedShop(base)
  cache = new CacheManager()
  prisma = extend(base)
})

afterAll(async () => {
  await base?.$disconnect()
  await cache?.close()
  await db?.drop()
})

describe('metrics fed by withCache', () => {
  it('counts hits, misses and uncached calls per model and operation, with percentiles', async () => {
    for (let i = 0; i < 5; i++) await prisma.category.findUnique({ where: { id: 1 } })
    await prisma.category.findUnique({ where: { id: 1 }, cacheStrategy: false })
    await prisma.category.update({ where: { id: 1 }, data: { name: 'Sound' } })
    const { operations } = prisma.$cache.stats().queries!
    expect(operations['Category.findUnique']).toMatchObject({
      queries: 6,
      hits: 4,
      misses: 1,
      uncached: 1,
    })
    expect(operations['Category.findUnique']!.latency.p99).toBeGreaterThan(0)
    expect(operations['Category.update']).toMatchObject({ queries: 1, uncached: 1 })
    expect(operations['Category.update']!.db.count).toBe(1)
  })

  it('logs database calls slower than DATABASE_MAX_QUERY_EXECUTION_TIME with their SQL', async () => {
    slow.length = 0
    await prisma.product.findMany({
      where: { name: { contains: 'Product' } },
      cacheStrategy: false,
    })
    await prisma.$queryRaw`SELECT 1 AS one FROM pg_sleep(0.06)`
    const sleepy = slow.find((entry) => entry.sql?.some((sql) => sql.includes('pg_sleep')))
    expect(sleepy).toMatchObject({ operation: '$queryRaw' })
    expect(sleepy!.durationMs).toBeGreaterThanOrEqual(40)
    expect(slow.every((entry) => entry.durationMs >= 40)).toBe(true)
  })

  it("names the line of the application's code that made each slow call", async () => {
    const entries: SlowQueryEntry[] = []
    const strict = base.$extends(
      withCache({
        cache,
        env: false,
        metrics: { slowQueryMs: 0, nPlusOne: false, onSlowQuery: (e) => entries.push(e) },
      }),
    )
    async function productPage() {
      await strict.product.findMany({ where: { price: { gt: 7 } }, take: 3 }) // slow: cached read
      await strict.category.update({ where: { id: 2 }, data: { name: 'Garden' } }) // slow: write
      await strict.$queryRaw`SELECT 2 AS two` // slow: raw
    }
    await productPage()
    const at = (marker: string) => `test/prisma/extension-metrics.test.ts:${lineOf(marker)}`
    expect(entries.map((e) => [`${e.model ?? '$raw'}.${e.operation}`, e.callSite])).toEqual([
      ['Product.findMany', at('// slow: cached read')],
      ['Category.update', at('// slow: write')],
      ['$raw.$queryRaw', at('// slow: raw')],
    ])

    // nPlusOne.ignoreFrames applies: past this file, only vitest's frames (node_modules) are left.
    const ignoring: SlowQueryEntry[] = []
    const ignoreFrames = [/extension-metrics\.test\.ts$/]
    const quiet = base.$extends(
      withCache({
        cache,
        env: false,
        metrics: {
          slowQueryMs: 0,
          nPlusOne: { ignoreFrames },
          onSlowQuery: (e) => ignoring.push(e),
        },
      }),
    )
    await quiet.$queryRaw`SELECT 3 AS three`
    expect(ignoring).toHaveLength(1)
    expect(ignoring[0]!.callSite).toBeUndefined()
  })

  it('reports an N+1 within a request, at the caller, advising the include from the schema', async () => {
    reports.length = 0
    await runWithQueryContext(
      async () => {
        const products = await prisma.product.findMany({ orderBy: { id: 'asc' } })
        for (let round = 0; round < 2; round++) {
          for (const product of products) {
            await prisma.review.findMany({ where: { productId: product.id } }) // N+1 here
          }
        }
      },
      { name: 'GET /products' },
    )
    expect(reports).toHaveLength(1)
    const [report] = reports
    expect(report).toMatchObject({
      model: 'Review',
      operation: 'findMany',
      context: 'GET /products',
    })
    expect(report!.callSite).toContain(`extension-metrics.test.ts:${lineOf('// N+1 here')}`)
    expect(report!.suggestion).toContain('include: { reviews: true }')
  })

  it('five similar queries are not an N+1', async () => {
    reports.length = 0
    await runWithQueryContext(async () => {
      for (let id = 1; id <= 5; id++) await prisma.user.findUnique({ where: { id } })
    })
    expect(reports).toEqual([])
  })

  it('bad metrics options name the field when the extension is made', () => {
    expect(() =>
      withCache({ cache, env: false, metrics: { nPlusOne: { threshold: -1 } } }),
    ).toThrow(ValidationError)
    try {
      withCache({ cache, env: false, metrics: { slowQueryMs: Number.NaN } })
    } catch (error) {
      expect((error as ValidationError).field).toBe('options.metrics.slowQueryMs')
    }
  })
})

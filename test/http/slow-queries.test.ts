/**
 * Slow queries as the operations endpoints show them: each names the line of the application
 * that made it (`callSite`), in `/api/performance/queries` (withCache's metrics) and in the health
 * check's detailed answer and text report (a `QueryMetrics` given to it).
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { beforeAll, expect, it } from 'vitest'
import { DatabaseHealthCheck, type HealthCheckResult } from '../../src/database/index.js'
import { createOpsHandler, type OpsHandler } from '../../src/http/index.js'
import { QueryMetrics, type QueryStats, withQueryMetrics } from '../../src/prisma/index.js'
import { useOpsStack } from '../support/ops-fixture.js'

const TOKEN = 'slow-queries-admin-token-0123456789'
// Every database call above 40 ms is slow: the pg_sleep(0.06) below, never the shop's reads.
const stack = useOpsStack('http-slow-queries', { slowQueryMs: 40 })
const metrics = new QueryMetrics({ slowQueryMs: 40 })
let ops: OpsHandler

beforeAll(() => {
  const health = new DatabaseHealthCheck(stack.base, { metrics, env: false })
  ops = createOpsHandler({ cache: stack.cache, prisma: stack.prisma, health, adminToken: TOKEN })
})

const get = (path: string) =>
  ops.fetch(
    new Request(`http://ops.test${path}`, { headers: { authorization: `Bearer ${TOKEN}` } }),
  )

/** The application's code: one slow call, on a known line. */
async function monthlyReport(client: { $queryRaw: typeof stack.prisma.$queryRaw }) {
  await client.$queryRaw`SELECT 1 AS one FROM pg_sleep(0.06)` // the slow call
}

const source = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n')
const CALL_SITE = `test/http/slow-queries.test.ts:${source.findIndex((l) => l.endsWith('// the slow call')) + 1}`

it('/api/performance/queries lists a slow query with the line that made it', async () => {
  await monthlyReport(stack.prisma)
  const queries = (await (await get('/api/performance/queries')).json()) as QueryStats
  const sleepy = queries.slowQueries.filter((entry) =>
    entry.sql?.some((sql) => sql.includes('pg_sleep')),
  )
  expect(sleepy).toMatchObject([{ operation: '$queryRaw', callSite: CALL_SITE }])
})

it('/health/db/detailed and /health/db/report show the call site of the metrics’ slow queries', async () => {
  await monthlyReport(stack.base.$extends(withQueryMetrics(metrics)))
  const detailed = (await (await get('/health/db/detailed')).json()) as HealthCheckResult
  expect(detailed.details.slowQueries).toMatchObject([
    { source: 'metrics', operation: '$queryRaw', callSite: CALL_SITE },
  ])
  const report = await (await get('/health/db/report')).text()
  expect(report).toContain(`$queryRaw from ${CALL_SITE} SELECT 1 AS one FROM pg_sleep(0.06)`)
})

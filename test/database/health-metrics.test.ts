import { PrismaPg } from '@prisma/adapter-pg'
import { describe, expect, it } from 'vitest'
import { PrismaClient } from '../../prisma/generated/client.js'
import { DatabaseHealthCheck } from '../../src/database/health/health-check.js'
import { QueryTimings } from '../../src/database/health/recorded-activity.js'
import { ValidationError } from '../../src/errors.js'
import { QueryMetrics, withQueryMetrics } from '../../src/prisma/metrics/index.js'
import { captureSql } from '../../src/prisma/sql-capture.js'
import { useHealthDatabase } from '../support/health.js'
import { deferred } from '../support/wait.js'

/**
 * What a check makes of what it is told: recorded errors (real ones, by kind), query times and
 * slow queries (recorded and from QueryMetrics), the plain-text report; and its input checks.
 */
describe('DatabaseHealthCheck (PostgreSQL through Prisma)', () => {
  const live = useHealthDatabase('database_health_metrics')

  it('counts real errors by kind (constraint, deadlock, statement timeout, unreachable) and degrades past thresholds.recentErrors', async () => {
    const health = new DatabaseHealthCheck(live.prisma, {
      env: false,
      thresholds: { recentErrors: 3 },
    })
    const capture = async (work: () => Promise<unknown>) => {
      const error = await work().then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error).toBeDefined()
      health.recordError(error)
    }
    // A unique violation (P2002 / 23505).
    await live.prisma.user.create({ data: { email: 'dup@x', name: 'first' } })
    await capture(() => live.prisma.user.create({ data: { email: 'dup@x', name: 'second' } }))
    // A statement timeout (57014), through a raw query.
    await capture(() =>
      live.prisma.$transaction(async (tx) => {
        await tx.$executeRawUnsafe(`SET LOCAL statement_timeout = '20ms'`)
        await tx.$queryRawUnsafe('SELECT pg_sleep(1)')
      }),
    )
    // A real deadlock: two transactions lock the two accounts in opposite order.
    const first = deferred()
    const second = deferred()
    const transfer = (from: number, to: number, mine: typeof first, theirs: typeof first) =>
      live.prisma.$transaction(async (tx) => {
        await tx.$executeRawUnsafe(`SET LOCAL deadlock_timeout = '20ms'`)
        await tx.account.update({ where: { id: from }, data: { balance: { decrement: 1 } } })
        mine.resolve()
        await theirs.promise
        await tx.account.update({ where: { id: to }, data: { balance: { increment: 1 } } })
      })
    const outcomes = await Promise.allSettled([
      transfer(1, 2, first, second),
      transfer(2, 1, second, first),
    ])
    const failed = outcomes.filter((o) => o.status === 'rejected')
    expect(failed).toHaveLength(1)
    health.recordError((failed[0] as PromiseRejectedResult).reason)
    // A server that is not there (ECONNREFUSED, P1001).
    const nowhere = await live.unreachable()
    await capture(() => nowhere.user.findFirst())

    let result = await health.check()
    expect(result.details.errors.byKind).toEqual({
      constraint: 1,
      timeout: 1,
      conflict: 1,
      connection: 1,
      other: 0,
    })
    expect(result.details.errors.last).toMatchObject({ kind: 'connection', prismaCode: 'P1001' })
    expect(result.details.errors.recent).toBe(4)
    expect(result.details.errors.ratePerMinute).toBe(4)
    expect(result.status).toBe('degraded')
    expect(result.reasons).toEqual([
      expect.stringMatching(/^4 errors in the last 60000 ms \(threshold 3\); last: connection: /),
    ])

    health.recordError(new Error('something else'))
    result = await health.check()
    expect(result.details.errors).toMatchObject({ total: 5, byKind: { other: 1 } })
    expect(result.details.errors.last).toMatchObject({
      kind: 'other',
      message: 'something else',
      prismaCode: null,
      sqlState: null,
    })
  })

  it('is degraded when the p95 of recorded query times is over thresholds.p95QueryTime', async () => {
    const health = new DatabaseHealthCheck(live.prisma, {
      env: false,
      thresholds: { p95QueryTime: 100 },
    })
    for (let i = 1; i <= 100; i++) health.recordQueryMetric(i <= 90 ? 10 : 500)
    const result = await health.check()
    expect(result.details.performance).toEqual({
      averageQueryTime: 59,
      p95QueryTime: 500,
      p99QueryTime: 500,
      samples: 100,
      source: 'recorded',
    })
    expect(result.status).toBe('degraded')
    expect(result.reasons).toEqual(['p95 query time 500 ms over 100 queries (threshold 100 ms)'])
  })

  it('keeps only the latest sampleSize query times for the percentiles', async () => {
    const health = new DatabaseHealthCheck(live.prisma, { env: false, sampleSize: 10 })
    for (let i = 0; i < 10; i++) health.recordQueryMetric(5000)
    for (let i = 0; i < 10; i++) health.recordQueryMetric(1)
    const result = await health.check()
    expect(result.details.performance).toMatchObject({ samples: 10, p99QueryTime: 1 })
  })

  it('leaves query times older than sampleWindow out (QueryTimings, on an explicit clock)', () => {
    const timings = new QueryTimings(100, 150)
    timings.record(900, 0)
    timings.record(10, 100)
    timings.record(30, 120)
    expect(timings.summary(120)).toEqual({ count: 3, average: 940 / 3, p95: 900, p99: 900 })
    expect(timings.summary(200)).toEqual({ count: 2, average: 20, p95: 30, p99: 30 })
    expect(timings.summary(1000)).toEqual({ count: 0, average: null, p95: null, p99: null })
  })

  it('lists recorded slow queries (default threshold from DATABASE_MAX_QUERY_EXECUTION_TIME) and QueryMetrics slow queries', async () => {
    const metrics = new QueryMetrics({ slowQueryMs: 30, nPlusOne: false })
    const base = new PrismaClient({
      adapter: captureSql(new PrismaPg({ ...live.db.config, max: 2 }, { schema: live.db.schema }), {
        metrics,
      }),
    })
    live.closers.push(() => base.$disconnect())
    const measured = base.$extends(withQueryMetrics(metrics))
    await measured.$queryRaw`SELECT 1 AS one FROM pg_sleep(0.05)`

    const health = new DatabaseHealthCheck(live.prisma, {
      metrics,
      env: { DATABASE_MAX_QUERY_EXECUTION_TIME: '50' },
    })
    health.recordQueryMetric(40, { model: 'Order', operation: 'findMany' })
    health.recordQueryMetric(75, { model: 'Order', operation: 'findMany', sql: 'SELECT 1' })
    const { details } = await health.check()
    expect(details.slowQueries).toHaveLength(2)
    const recorded = details.slowQueries.find((q) => q.source === 'recorded')
    expect(recorded).toMatchObject({
      durationMs: 75,
      model: 'Order',
      operation: 'findMany',
      sql: ['SELECT 1'],
    })
    const fromMetrics = details.slowQueries.find((q) => q.source === 'metrics')
    expect(fromMetrics).toMatchObject({
      model: null,
      operation: '$queryRaw',
      sql: ['SELECT 1 AS one FROM pg_sleep(0.05)'],
    })
    expect(fromMetrics!.durationMs).toBeGreaterThanOrEqual(45)
    expect(fromMetrics!.timestamp).toBeInstanceOf(Date)
    // Recorded times win for the percentiles; without them, QueryMetrics' database times count.
    expect(details.performance.source).toBe('recorded')
    const fromDb = await new DatabaseHealthCheck(live.prisma, { metrics, env: false }).check()
    expect(fromDb.details.performance).toMatchObject({ source: 'metrics', samples: 1 })
    expect(fromDb.details.performance.p95QueryTime).toBeGreaterThanOrEqual(45)
  })

  it('generates a plain-text report of the latest check', async () => {
    const health = new DatabaseHealthCheck(live.prisma, {
      env: false,
      pool: live.db.pool,
      slowQueryThreshold: 100,
      thresholds: { recentErrors: 0 },
    })
    expect(health.generateReport()).toBe('Database health: no check has run yet.\n')
    health.recordQueryMetric(20)
    health.recordQueryMetric(250, {
      model: 'Product',
      operation: 'findMany',
      sql: 'SELECT "x"\n FROM  "Product"',
    })
    health.recordError(new Error('boom'))
    const result = await health.check()
    const report = health.generateReport()
    const lines = report.split('\n')
    expect(lines[0]).toBe(`Database health: DEGRADED (checked ${result.timestamp.toISOString()})`)
    expect(lines).toContain('Reasons:')
    expect(lines).toContain('  - 1 error in the last 60000 ms (threshold 0); last: other: boom')
    expect(report).toMatch(/^Connected: yes, response time [\d.]+ ms$/m)
    expect(report).toMatch(
      /^Connection pool \(pool\):\n {2}total \d+, idle \d+, active \d+, waiting 0, max 4, usage/m,
    )
    expect(report).toContain(
      'Performance (2 samples, recorded):\n  average 135 ms, p95 250 ms, p99 250 ms',
    )
    expect(report).toContain(`Database: PostgreSQL ${result.details.database!.version}`)
    expect(report).toMatch(/^ {2}size [\d.]+ MiB, buffer cache hit ratio [\d.]+%$/m)
    expect(report).toContain('  long-running queries: 0')
    expect(report).toContain('Slow queries: 1')
    expect(report).toMatch(/^ {2}250 ms at \S+ Product\.findMany SELECT "x" FROM "Product"$/m)
    expect(report).toContain('Errors: 1 in all (other 1), 1 recent (1/min)')
    expect(report).toMatch(/^ {2}last: other at \S+: boom$/m)
  })

  it('validates its arguments and options, naming the field', () => {
    const fieldOf = (fn: () => unknown) => {
      try {
        fn()
      } catch (error) {
        expect(error).toBeInstanceOf(ValidationError)
        return { field: (error as ValidationError).field, code: (error as ValidationError).code }
      }
      throw new Error('did not throw')
    }
    const make = (options: unknown) => () => new DatabaseHealthCheck(live.prisma, options as never)
    expect(fieldOf(() => new DatabaseHealthCheck({} as never))).toEqual({
      field: 'prisma',
      code: 'ERR_INVALID_OPTION',
    })
    expect(fieldOf(make(5))).toEqual({ field: 'options', code: 'ERR_INVALID_OPTION' })
    expect(fieldOf(make({ timeout: -1 }))).toEqual({
      field: 'options.timeout',
      code: 'ERR_INVALID_TTL',
    })
    expect(fieldOf(make({ timeout: 0 }))).toEqual({
      field: 'options.timeout',
      code: 'ERR_INVALID_OPTION',
    })
    expect(fieldOf(make({ timeout: 2 ** 31 })).field).toBe('options.timeout')
    expect(fieldOf(make({ timeout: 'soon' }))).toEqual({
      field: 'options.timeout',
      code: 'ERR_INVALID_TTL',
    })
    expect(fieldOf(make({ thresholds: { connectionUsage: 2 } })).field).toBe(
      'options.thresholds.connectionUsage',
    )
    expect(fieldOf(make({ thresholds: { recentErrors: 1.5 } })).field).toBe(
      'options.thresholds.recentErrors',
    )
    expect(fieldOf(make({ thresholds: { lockWait: '1 minute' } })).field).toBe(
      'options.thresholds.lockWait',
    )
    expect(fieldOf(make({ thresholds: { typo: 1 } })).field).toBe('options.thresholds.typo')
    expect(fieldOf(make({ pool: {} })).field).toBe('options.pool')
    expect(fieldOf(make({ metrics: {} })).field).toBe('options.metrics')
    expect(fieldOf(make({ onStatusChange: 'alert' })).field).toBe('options.onStatusChange')
    expect(fieldOf(make({ sampleSize: 0 })).field).toBe('options.sampleSize')
    expect(fieldOf(make({ timeOut: 5 })).field).toBe('options.timeOut')
    expect(fieldOf(make({ env: { DATABASE_MAX_QUERY_EXECUTION_TIME: 'fast' } }))).toEqual({
      field: 'DATABASE_MAX_QUERY_EXECUTION_TIME',
      code: 'ERR_INVALID_ENV',
    })

    const health = new DatabaseHealthCheck(live.prisma, { env: false })
    expect(fieldOf(() => health.startContinuousCheck(0))).toEqual({
      field: 'interval',
      code: 'ERR_INVALID_OPTION',
    })
    expect(fieldOf(() => health.startContinuousCheck('30d'))).toEqual({
      field: 'interval',
      code: 'ERR_INVALID_OPTION',
    })
    expect(fieldOf(() => health.startContinuousCheck('often'))).toEqual({
      field: 'interval',
      code: 'ERR_INVALID_TTL',
    })
    expect(fieldOf(() => health.recordQueryMetric(-1)).field).toBe('durationMs')
    expect(fieldOf(() => health.recordQueryMetric(Number.NaN)).field).toBe('durationMs')
    expect(fieldOf(() => health.recordQueryMetric('5' as never)).field).toBe('durationMs')
    expect(fieldOf(() => health.recordQueryMetric(5, 'Order' as never)).field).toBe('info')
    expect(fieldOf(() => health.recordError(undefined)).field).toBe('error')
    expect(fieldOf(() => health.on('change' as never, (() => {}) as never)).field).toBe('event')
    expect(fieldOf(() => health.on('statusChange', null as never)).field).toBe('listener')
    expect(health.getLastHealthCheck()).toBeUndefined()
  })
})

import { createServer, type Server, type Socket } from 'node:net'
import { PrismaPg } from '@prisma/adapter-pg'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PrismaClient } from '../prisma/generated/client.js'
import { DatabaseHealthCheck } from '../src/database/health/health-check.js'
import type { HealthCheckResult, HealthStatus } from '../src/database/health/health-result.js'
import { QueryTimings } from '../src/database/health/query-timings.js'
import { ValidationError } from '../src/errors.js'
import { QueryMetrics, withQueryMetrics } from '../src/prisma/metrics/index.js'
import { captureSql } from '../src/prisma/sql-capture.js'
import { createTestDatabase, type TestDatabase } from './support/database.js'
import { PostgresServer } from './support/postgres-server.js'
import { freePort } from './support/redis-server.js'
import { deferred, waitFor } from './support/wait.js'

describe('DatabaseHealthCheck (PostgreSQL through Prisma)', () => {
  let db: TestDatabase
  let prisma: PrismaClient
  const closers: (() => Promise<unknown>)[] = []

  beforeAll(async () => {
    db = await createTestDatabase('database_health')
    prisma = db.client()
    await db.pool.query(`INSERT INTO "Account" (owner, balance) VALUES ('a', 100), ('b', 100)`)
  })

  afterAll(async () => {
    for (const close of closers.reverse()) await close()
    await prisma?.$disconnect()
    await db?.drop()
  })

  /** A raw connection of its own (its own backend pid), closed after the file. */
  async function connection(): Promise<{ client: pg.Client; pid: number }> {
    const client = new pg.Client(db.config)
    await client.connect()
    closers.push(() => client.end())
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
    return { client, pid: rows[0]!.pid }
  }

  it('is healthy on the shared server, with PostgreSQL figures that match what it says itself', async () => {
    const health = new DatabaseHealthCheck(prisma, { pool: db.pool, env: false })
    const result = await health.check()
    expect(result.reasons).toEqual([])
    expect(result).toMatchObject({ status: 'healthy', connected: true })
    expect(result.responseTime).toBeGreaterThan(0)
    expect(result.responseTime).toBeLessThan(1000)
    expect(result.timestamp).toBeInstanceOf(Date)

    const { rows } = await db.pool.query<Record<string, string>>(
      `SELECT current_setting('server_version') AS version, current_setting('max_connections') AS max,
        pg_database_size(current_database())::text AS size`,
    )
    const database = result.details.database!
    expect(database.version).toBe(rows[0]!.version)
    expect(database.connections.max).toBe(Number(rows[0]!.max))
    // The size moves a little with other test files writing to the same database.
    expect(database.sizeBytes).toBeGreaterThan(Number(rows[0]!.size) * 0.5)
    expect(database.connections.database).toBeGreaterThanOrEqual(1)
    expect(database.connections.total).toBeGreaterThanOrEqual(database.connections.database!)
    expect(database.connections.usage).toBeCloseTo(
      database.connections.total! / database.connections.max!,
    )
    expect(database.cacheHitRatio).toBeGreaterThan(0)
    expect(database.cacheHitRatio).toBeLessThanOrEqual(1)
    expect(database.longRunningQueries).toEqual([])

    // The pool's own counts, and nothing made up where nothing was recorded.
    expect(result.details.connectionPool).toMatchObject({ source: 'pool', max: 4 })
    expect(result.details.connectionPool.total).toBe(db.pool.totalCount)
    expect(result.details.performance).toEqual({
      averageQueryTime: null,
      p95QueryTime: null,
      p99QueryTime: null,
      samples: 0,
      source: null,
    })
    expect(result.details.errors).toMatchObject({ total: 0, recent: 0, last: null })
    expect(result.details.slowQueries).toEqual([])
    expect(health.getLastHealthCheck()).toBe(result)
    // What an HTTP endpoint would send survives JSON.
    expect(JSON.parse(JSON.stringify(result)).details.database.version).toBe(database.version)
  })

  it('says null for the pool when it was given none', async () => {
    const result = await new DatabaseHealthCheck(prisma, { env: false }).check()
    expect(result.details.connectionPool).toEqual({
      source: null,
      total: null,
      idle: null,
      active: null,
      waiting: null,
      max: null,
      usage: null,
    })
  })

  it('is degraded, with a reason, when SELECT 1 is slower than thresholds.responseTime', async () => {
    const health = new DatabaseHealthCheck(prisma, { env: false, thresholds: { responseTime: 0 } })
    const result = await health.check()
    expect(result.status).toBe('degraded')
    expect(result.connected).toBe(true)
    expect(result.reasons).toEqual([
      expect.stringMatching(/^SELECT 1 took [\d.]+ ms \(threshold 0 ms\)$/),
    ])
  })

  it('counts real errors by kind (constraint, deadlock, statement timeout, unreachable) and degrades past thresholds.recentErrors', async () => {
    const health = new DatabaseHealthCheck(prisma, { env: false, thresholds: { recentErrors: 3 } })
    const capture = async (work: () => Promise<unknown>) => {
      const error = await work().then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error).toBeDefined()
      health.recordError(error)
    }
    // A unique violation (P2002 / 23505).
    await prisma.user.create({ data: { email: 'dup@x', name: 'first' } })
    await capture(() => prisma.user.create({ data: { email: 'dup@x', name: 'second' } }))
    // A statement timeout (57014), through a raw query.
    await capture(() =>
      prisma.$transaction(async (tx) => {
        await tx.$executeRawUnsafe(`SET LOCAL statement_timeout = '20ms'`)
        await tx.$queryRawUnsafe('SELECT pg_sleep(1)')
      }),
    )
    // A real deadlock: two transactions lock the two accounts in opposite order.
    const first = deferred()
    const second = deferred()
    const transfer = (from: number, to: number, mine: typeof first, theirs: typeof first) =>
      prisma.$transaction(async (tx) => {
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
    const nowhere = new PrismaClient({
      adapter: new PrismaPg({
        connectionString: `postgresql://postgres@127.0.0.1:${await freePort()}/x`,
      }),
    })
    closers.push(() => nowhere.$disconnect())
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
    const health = new DatabaseHealthCheck(prisma, {
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
    const health = new DatabaseHealthCheck(prisma, { env: false, sampleSize: 10 })
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
      adapter: captureSql(new PrismaPg({ ...db.config, max: 2 }, { schema: db.schema }), {
        metrics,
      }),
    })
    closers.push(() => base.$disconnect())
    const measured = base.$extends(withQueryMetrics(metrics))
    await measured.$queryRaw`SELECT 1 AS one FROM pg_sleep(0.05)`

    const health = new DatabaseHealthCheck(prisma, {
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
    const fromDb = await new DatabaseHealthCheck(prisma, { metrics, env: false }).check()
    expect(fromDb.details.performance).toMatchObject({ source: 'metrics', samples: 1 })
    expect(fromDb.details.performance.p95QueryTime).toBeGreaterThanOrEqual(45)
  })

  it('lists a real long-running query with its pid and text, and is degraded by it', async () => {
    const { client, pid } = await connection()
    const sleeping = client.query(`SELECT pg_sleep(10) /* health-long-running */`).catch((e) => e)
    try {
      const health = new DatabaseHealthCheck(prisma, {
        env: false,
        thresholds: { longRunningQuery: 100 },
        maxQueryLength: 30,
      })
      const found = await waitFor(
        async () => {
          const r = await health.check()
          return r.details.database?.longRunningQueries.some((q) => q.pid === pid) ? r : undefined
        },
        { what: 'the sleeping query to be listed' },
      )
      const result = found!
      const listed = result.details.database!.longRunningQueries.find((q) => q.pid === pid)!
      expect(listed.durationMs).toBeGreaterThan(100)
      expect(listed.query).toBe('SELECT pg_sleep(10) /* health-')
      expect(listed.user).toBe('postgres')
      expect(result.status).toBe('degraded')
      expect(result.reasons).toContainEqual(
        expect.stringMatching(/^\d+ quer(y|ies) running longer than 100 ms \(oldest: pid \d+, /),
      )
      // At 0 ms every active statement is listed, but never the health check's own queries.
      const everything = await new DatabaseHealthCheck(prisma, {
        env: false,
        thresholds: { longRunningQuery: 0 },
      }).check()
      const listedNow = everything.details.database!.longRunningQueries
      expect(listedNow.some((q) => q.pid === pid)).toBe(true)
      expect(listedNow.filter((q) => q.query?.startsWith('/* stratacache:health */'))).toEqual([])
    } finally {
      await db.pool.query('SELECT pg_cancel_backend($1)', [pid])
      expect(await sleeping).toMatchObject({ code: '57014' })
    }
  })

  it('lists a real lock wait with the backend holding the lock, and is degraded past thresholds.lockWait', async () => {
    const holder = await connection()
    const waiter = await connection()
    await holder.client.query('BEGIN')
    await holder.client.query('SELECT * FROM "Account" WHERE id = 1 FOR UPDATE')
    const update = waiter.client.query('UPDATE "Account" SET balance = balance + 1 WHERE id = 1')
    update.catch(() => {}) // awaited in finally; a failed assertion must not leave it unhandled
    try {
      const health = new DatabaseHealthCheck(prisma, { env: false, thresholds: { lockWait: 50 } })
      const found = await waitFor(
        async () => {
          const r = await health.check()
          const wait = r.details.database?.lockWaits.find((w) => w.pid === waiter.pid)
          return wait !== undefined && wait.waitingMs! > 50 ? r : undefined
        },
        { what: 'the blocked update to wait past 50 ms' },
      )
      const result = found!
      const wait = result.details.database!.lockWaits.find((w) => w.pid === waiter.pid)!
      expect(wait.blockedBy).toEqual([holder.pid])
      expect(wait).toMatchObject({ lockType: 'transactionid', mode: 'ShareLock' })
      expect(wait.query).toMatch(/^UPDATE "Account"/)
      expect(result.status).toBe('degraded')
      // Other test files share the database and may wait for locks too: the reason counts them all.
      expect(result.reasons).toContainEqual(
        expect.stringMatching(
          /^\d+ backends? waiting for a lock longer than 50 ms \(pid \d+ behind pid \d+/,
        ),
      )
      await holder.client.query('ROLLBACK')
      await update
      const after = await health.check()
      expect(after.details.database!.lockWaits.some((w) => w.pid === waiter.pid)).toBe(false)
    } finally {
      await holder.client.query('ROLLBACK')
      await update
    }
  })

  it('is degraded while requests wait for a pool connection (a real pg.Pool of one)', async () => {
    const pool = new pg.Pool({ ...db.config, max: 1 })
    closers.push(() => pool.end())
    const held = await pool.connect()
    const queued = pool.query('SELECT 1')
    const health = new DatabaseHealthCheck(prisma, { env: false, pool })
    const result = await health.check()
    expect(result.details.connectionPool).toMatchObject({
      source: 'pool',
      total: 1,
      idle: 0,
      active: 1,
      waiting: 1,
      max: 1,
      usage: 1,
    })
    expect(result.status).toBe('degraded')
    expect(result.reasons).toEqual([
      '1 request waiting for a pool connection (threshold 0)',
      'pool: 1 of 1 connections busy (100%, threshold 80%)',
    ])
    held.release()
    await queued
  })

  it('takes figures from connectionStatus(), and reports it when that function fails', async () => {
    const good = new DatabaseHealthCheck(prisma, {
      env: false,
      connectionStatus: async () => ({ total: 5, idle: 3, active: 2, max: 10 }),
    })
    expect((await good.check()).details.connectionPool).toEqual({
      source: 'connectionStatus',
      total: 5,
      idle: 3,
      active: 2,
      waiting: null,
      max: 10,
      usage: 0.2,
    })
    const bad = new DatabaseHealthCheck(prisma, {
      env: false,
      connectionStatus: () => {
        throw new Error('status endpoint down')
      },
    })
    const result = await bad.check()
    expect(result.status).toBe('degraded')
    expect(result.reasons).toEqual(['could not read connectionStatus(): status endpoint down'])
  })

  it('shares one check between concurrent callers', async () => {
    const health = new DatabaseHealthCheck(prisma, { env: false })
    const [a, b] = await Promise.all([health.check(), health.check()])
    expect(a).toBe(b)
    expect(await health.check()).not.toBe(a)
  })

  it('generates a plain-text report of the latest check', async () => {
    const health = new DatabaseHealthCheck(prisma, {
      env: false,
      pool: db.pool,
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

  it('goes unhealthy when its own PostgreSQL stops and healthy when it is back; the alert hook hears each change once', async () => {
    const server = await PostgresServer.start()
    closers.push(() => server.destroy())
    const own = new PrismaClient({ adapter: new PrismaPg({ connectionString: server.url() }) })
    closers.push(() => own.$disconnect())
    const changes: [HealthStatus | undefined, HealthStatus][] = []
    const heard: HealthStatus[] = []
    const health = new DatabaseHealthCheck(own, {
      env: false,
      timeout: 1000,
      onStatusChange: (current, previous) => {
        changes.push([previous?.status, current.status])
      },
    })
    health.on('statusChange', (current) => {
      heard.push(current.status)
    })
    const lastIs = (status: HealthStatus) => () => health.getLastHealthCheck()?.status === status
    health.startContinuousCheck(20)
    try {
      await waitFor(lastIs('healthy'), { what: 'healthy' })
      await server.stop()
      await waitFor(lastIs('unhealthy'), { what: 'unhealthy' })
      const down = health.getLastHealthCheck()!
      expect(down.connected).toBe(false)
      expect(down.details.database).toBeNull()
      expect(down.reasons).toHaveLength(1)
      expect(down.reasons[0]).toMatch(/^cannot reach the database: /)
      await server.start()
      await waitFor(lastIs('healthy'), { timeoutMs: 10_000, what: 'healthy again' })
    } finally {
      health.stopContinuousCheck()
    }
    expect(changes).toEqual([
      [undefined, 'healthy'],
      ['healthy', 'unhealthy'],
      ['unhealthy', 'healthy'],
    ])
    expect(heard).toEqual(['healthy', 'unhealthy', 'healthy'])
  })

  it('is unhealthy when the connection is lost right after a good ping (fault injected: statistics sent to a server that is not there)', async () => {
    const nowhere = new PrismaClient({
      adapter: new PrismaPg({
        connectionString: `postgresql://postgres@127.0.0.1:${await freePort()}/x`,
      }),
    })
    closers.push(() => nowhere.$disconnect())
    const split = {
      $queryRawUnsafe: <T>(sql: string, ...values: unknown[]) =>
        sql === 'SELECT 1'
          ? prisma.$queryRawUnsafe<T>(sql, ...values)
          : nowhere.$queryRawUnsafe<T>(sql, ...values),
    }
    const result = await new DatabaseHealthCheck(split, { env: false }).check()
    expect(result).toMatchObject({ status: 'unhealthy', connected: false })
    expect(result.details.database).toBeNull()
    expect(result.reasons).toEqual([expect.stringMatching(/^cannot reach the database: /)])
  })

  it('runs continuous checks one at a time, each starting the interval after the last one ended', async () => {
    // A checker around the real client: when each ping started and ended.
    const pings: { start: number; end: number }[] = []
    const watched = {
      $queryRawUnsafe: async <T>(sql: string, ...values: unknown[]): Promise<T> => {
        const ping = sql === 'SELECT 1' ? { start: performance.now(), end: Number.NaN } : undefined
        if (ping !== undefined) pings.push(ping)
        try {
          return await prisma.$queryRawUnsafe<T>(sql, ...values)
        } finally {
          if (ping !== undefined) ping.end = performance.now()
        }
      },
    }
    const health = new DatabaseHealthCheck(watched, { env: false })
    health.startContinuousCheck(40)
    health.startContinuousCheck('50ms') // restarts: one loop, the new interval
    try {
      await waitFor(() => pings.filter((p) => !Number.isNaN(p.end)).length >= 5, {
        what: 'five pings',
      })
    } finally {
      health.stopContinuousCheck()
    }
    const done = pings.filter((p) => !Number.isNaN(p.end))
    for (let i = 1; i < done.length; i++) {
      // The next ping follows the previous check's end (statistics included) by the interval.
      expect(done[i]!.start - done[i - 1]!.end).toBeGreaterThanOrEqual(49)
    }
  })

  it('keeps checking when a status listener throws or rejects, and warns about it', async () => {
    const warnings: string[] = []
    const onWarning = (warning: Error) => warnings.push(warning.message)
    process.on('warning', onWarning)
    try {
      const seen: HealthStatus[] = []
      const health = new DatabaseHealthCheck(prisma, {
        env: false,
        thresholds: { recentErrors: 0 },
        onStatusChange: () => {
          throw new Error('pager down')
        },
      })
      health.on('statusChange', async () => {
        throw new Error('webhook down')
      })
      health.on('statusChange', (current) => {
        seen.push(current.status)
      })
      expect((await health.check()).status).toBe('healthy')
      health.recordError(new Error('x'))
      expect((await health.check()).status).toBe('degraded')
      expect(seen).toEqual(['healthy', 'degraded'])
      await waitFor(() => warnings.length === 4, { what: 'four warnings' })
      expect(warnings.filter((w) => w.endsWith('pager down'))).toHaveLength(2)
      expect(warnings.filter((w) => w.endsWith('webhook down'))).toHaveLength(2)
    } finally {
      process.off('warning', onWarning)
    }
  })

  describe('a server that accepts connections and never answers', () => {
    let blackHole: Server
    const sockets: Socket[] = []

    beforeAll(async () => {
      blackHole = createServer((socket) => sockets.push(socket))
      await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve))
    })

    afterAll(async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => blackHole.close(resolve))
    })

    it('is unhealthy within the timeout, and holds one stuck ping however many checks run', async () => {
      const port = (blackHole.address() as { port: number }).port
      const hung = new PrismaClient({
        adapter: new PrismaPg({ connectionString: `postgresql://postgres@127.0.0.1:${port}/x` }),
      })
      closers.unshift(() => hung.$disconnect())
      // Prisma's engine start (about 1 s when it is the process's first client) touches no server.
      await hung.$connect()
      expect(sockets).toHaveLength(0)
      const health = new DatabaseHealthCheck(hung, { env: false, timeout: 300 })
      const started = performance.now()
      const result: HealthCheckResult = await health.check()
      const took = performance.now() - started
      expect(took).toBeGreaterThanOrEqual(295)
      expect(took).toBeLessThan(600)
      expect(result).toMatchObject({
        status: 'unhealthy',
        connected: false,
        responseTime: expect.any(Number),
      })
      expect(result.reasons).toEqual([
        'cannot reach the database: SELECT 1 did not answer within 300 ms',
      ])
      expect(sockets).toHaveLength(1)
      for (let i = 0; i < 3; i++) {
        const again = await health.check()
        expect(again.reasons).toEqual([
          'cannot reach the database: SELECT 1 did not answer within 300 ms (an earlier ping is still unanswered)',
        ])
      }
      expect(sockets).toHaveLength(1)
    })
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
    const make = (options: unknown) => () => new DatabaseHealthCheck(prisma, options as never)
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

    const health = new DatabaseHealthCheck(prisma, { env: false })
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

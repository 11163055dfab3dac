import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { DatabaseHealthCheck } from '../../src/database/health/health-check.js'
import { useHealthDatabase } from '../support/health.js'
import { waitFor } from '../support/wait.js'

/**
 * What a check reports about a live database: PostgreSQL's own figures, long-running queries and
 * lock waits seen for real, and the connection pool. Errors, query times and the report are in
 * health-metrics.test.ts; outages and continuous checks in
 * health-availability.test.ts.
 */
describe('DatabaseHealthCheck (PostgreSQL through Prisma)', () => {
  const live = useHealthDatabase('database_health')

  it('is healthy on the shared server, with PostgreSQL figures that match what it says itself', async () => {
    const health = new DatabaseHealthCheck(live.prisma, { pool: live.db.pool, env: false })
    const result = await health.check()
    expect(result.reasons).toEqual([])
    expect(result).toMatchObject({ status: 'healthy', connected: true })
    expect(result.responseTime).toBeGreaterThan(0)
    expect(result.responseTime).toBeLessThan(1000)
    expect(result.timestamp).toBeInstanceOf(Date)

    const { rows } = await live.db.pool.query<Record<string, string>>(
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
    expect(result.details.connectionPool.total).toBe(live.db.pool.totalCount)
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
    const result = await new DatabaseHealthCheck(live.prisma, { env: false }).check()
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
    const health = new DatabaseHealthCheck(live.prisma, {
      env: false,
      thresholds: { responseTime: 0 },
    })
    const result = await health.check()
    expect(result.status).toBe('degraded')
    expect(result.connected).toBe(true)
    expect(result.reasons).toEqual([
      expect.stringMatching(/^SELECT 1 took [\d.]+ ms \(threshold 0 ms\)$/),
    ])
  })

  it('lists a real long-running query with its pid and text, and is degraded by it', async () => {
    const { client, pid } = await live.connection()
    const sleeping = client.query(`SELECT pg_sleep(10) /* health-long-running */`).catch((e) => e)
    try {
      const health = new DatabaseHealthCheck(live.prisma, {
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
      const everything = await new DatabaseHealthCheck(live.prisma, {
        env: false,
        thresholds: { longRunningQuery: 0 },
      }).check()
      const listedNow = everything.details.database!.longRunningQueries
      expect(listedNow.some((q) => q.pid === pid)).toBe(true)
      expect(listedNow.filter((q) => q.query?.startsWith('/* stratacache:health */'))).toEqual([])
    } finally {
      await live.db.pool.query('SELECT pg_cancel_backend($1)', [pid])
      expect(await sleeping).toMatchObject({ code: '57014' })
    }
  })

  it('lists a real lock wait with the backend holding the lock, and is degraded past thresholds.lockWait', async () => {
    const holder = await live.connection()
    const waiter = await live.connection()
    await holder.client.query('BEGIN')
    await holder.client.query('SELECT * FROM "Account" WHERE id = 1 FOR UPDATE')
    const update = waiter.client.query('UPDATE "Account" SET balance = balance + 1 WHERE id = 1')
    update.catch(() => {}) // awaited in finally; a failed assertion must not leave it unhandled
    try {
      const health = new DatabaseHealthCheck(live.prisma, {
        env: false,
        thresholds: { lockWait: 50 },
      })
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
    const pool = new pg.Pool({ ...live.db.config, max: 1 })
    live.closers.push(() => pool.end())
    const held = await pool.connect()
    const queued = pool.query('SELECT 1')
    const health = new DatabaseHealthCheck(live.prisma, { env: false, pool })
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
    const good = new DatabaseHealthCheck(live.prisma, {
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
    const bad = new DatabaseHealthCheck(live.prisma, {
      env: false,
      connectionStatus: () => {
        throw new Error('status endpoint down')
      },
    })
    const result = await bad.check()
    expect(result.status).toBe('degraded')
    expect(result.reasons).toEqual(['could not read connectionStatus(): status endpoint down'])
  })
})

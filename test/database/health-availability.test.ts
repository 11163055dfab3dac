import { createServer, type Server, type Socket } from 'node:net'
import { PrismaPg } from '@prisma/adapter-pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PrismaClient } from '../../prisma/generated/client.js'
import { DatabaseHealthCheck } from '../../src/database/health/health-check.js'
import type { HealthCheckResult, HealthStatus } from '../../src/database/health/health-result.js'
import { useHealthDatabase } from '../support/health.js'
import { PostgresServer } from '../support/postgres-server.js'
import { waitFor } from '../support/wait.js'

/**
 * How checks run and what they say when the database is out of reach: a PostgreSQL of its own
 * stopped and started again, a connection lost after the ping, a server that never answers;
 * concurrent and continuous checks, and status listeners that fail.
 */
describe('DatabaseHealthCheck (PostgreSQL through Prisma)', () => {
  const live = useHealthDatabase('database_health_availability')

  it('shares one check between concurrent callers', async () => {
    const health = new DatabaseHealthCheck(live.prisma, { env: false })
    const [a, b] = await Promise.all([health.check(), health.check()])
    expect(a).toBe(b)
    expect(await health.check()).not.toBe(a)
  })

  it('goes unhealthy when its own PostgreSQL stops and healthy when it is back; the alert hook hears each change once', async () => {
    const server = await PostgresServer.start()
    live.closers.push(() => server.destroy())
    const own = new PrismaClient({ adapter: new PrismaPg({ connectionString: server.url() }) })
    live.closers.push(() => own.$disconnect())
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
    const nowhere = await live.unreachable()
    const split = {
      $queryRawUnsafe: <T>(sql: string, ...values: unknown[]) =>
        sql === 'SELECT 1'
          ? live.prisma.$queryRawUnsafe<T>(sql, ...values)
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
          return await live.prisma.$queryRawUnsafe<T>(sql, ...values)
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
      const health = new DatabaseHealthCheck(live.prisma, {
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
      live.closers.unshift(() => hung.$disconnect())
      // Prisma's engine start (about 1 s when it is the process's first client) touches no server.
      await hung.$connect()
      expect(sockets).toHaveLength(0)
      const timeout = 300
      const health = new DatabaseHealthCheck(hung, { env: false, timeout })
      const started = performance.now()
      const checking = health.check()
      // Within the timeout, told apart from a hang by timer order rather than by wall-clock time:
      // timers fire in deadline order, so on a busy machine both come late, the check's first.
      const hang = new Promise<'hang'>((resolve) => setTimeout(resolve, 2 * timeout, 'hang'))
      expect(await Promise.race([checking, hang])).not.toBe('hang')
      const result: HealthCheckResult = await checking
      // Never before the timeout: a load only makes timers later.
      expect(performance.now() - started).toBeGreaterThanOrEqual(timeout - 5)
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
})

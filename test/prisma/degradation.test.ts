import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PrismaClient } from '../../prisma/generated/client.js'
import { CacheManager } from '../../src/index.js'
import { withCache } from '../../src/prisma/index.js'
import { createTestDatabase, type TestDatabase } from '../support/database.js'
import { RedisServer } from '../support/redis-server.js'
import { seedShop } from '../support/shop-fixture.js'
import { waitFor } from '../support/wait.js'

/**
 * Guarantee 5 through Prisma, on a Redis server this test owns and kills: with Redis gone, reads
 * are answered (from L1 or PostgreSQL) within the command timeout, writes succeed and still
 * invalidate this process's L1, nothing fails because of the cache; when Redis is back, the
 * cache recovers by itself and reads are correct.
 */

const COMMAND_TIMEOUT_MS = 100
/** A call may wait one command timeout; the rest is the query and a loaded 2-core machine. */
const BOUND_MS = 1_500

let db: TestDatabase
let base: PrismaClient
let server: RedisServer
let cache: CacheManager
let prisma: ReturnType<typeof extend>

const extend = (client: PrismaClient, c: CacheManager) =>
  client.$extends(withCache({ cache: c, env: false, defaultStrategy: { ttl: 3600 } }))

beforeAll(async () => {
  db = await createTestDatabase('prisma_degradation')
  base = db.client()
  await seedShop(base)
  server = await RedisServer.start()
  cache = new CacheManager({
    redis: server.url,
    commandTimeout: COMMAND_TIMEOUT_MS,
    circuitBreaker: { failureThreshold: 2, openDuration: 200 },
  })
  cache.on('error', () => {}) // counted in the metrics; the test reads those
  prisma = extend(base, cache)
})

afterAll(async () => {
  await cache?.close()
  await server?.stop()
  await base?.$disconnect()
  await db?.drop()
})

async function timed<T>(run: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now()
  const value = await run()
  return { value, ms: performance.now() - started }
}

const product = (id: number) =>
  prisma.product.findUnique({ where: { id }, select: { name: true } }).withCacheInfo()

describe('Redis killed under a Prisma client', () => {
  it('reads and writes go on, writes still invalidate locally, and it recovers by itself', async () => {
    await product(1)
    // In L1 once Redis stored it.
    await waitFor(async () => (await product(1)).info.tier === 'l1', { what: 'product 1 in L1' })

    await server.kill()

    // A cached read: L1 still answers.
    const cached = await timed(() => product(1))
    expect(cached.value.data?.name).toBe('Product 1')
    expect(cached.ms).toBeLessThan(BOUND_MS)
    // A read never cached: the database answers, bounded.
    const cold = await timed(() => product(2))
    expect(cold.value.data?.name).toBe('Product 2')
    expect(cold.ms).toBeLessThan(BOUND_MS)
    // A write succeeds and invalidates this process's L1 (read-your-writes holds).
    const write = await timed(() =>
      prisma.product.update({ where: { id: 1 }, data: { name: 'written while Redis was down' } }),
    )
    expect(write.ms).toBeLessThan(BOUND_MS)
    expect((await product(1)).data?.name).toBe('written while Redis was down')
    expect(cache.getMetrics().degraded).toBe(true)

    await server.restart()
    await waitFor(() => !cache.getMetrics().degraded, { timeoutMs: 10_000, what: 'recovery' })
    // Back (empty: it keeps nothing on disk), it serves another instance the committed row.
    const other = new CacheManager({ redis: server.url, local: false })
    try {
      const fresh = extend(base, other)
      const read = await fresh.product.findUnique({ where: { id: 1 }, select: { name: true } })
      expect(read?.name).toBe('written while Redis was down')
    } finally {
      await other.close()
    }
    expect((await product(1)).data?.name).toBe('written while Redis was down')
  })
})

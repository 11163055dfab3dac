/**
 * A transaction whose COMMIT reached PostgreSQL but whose answer never came back (the connection
 * was lost during COMMIT) may have committed: its writes must invalidate as if it had.
 */
import { PrismaPg } from '@prisma/adapter-pg'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { PrismaClient } from '../../prisma/generated/client.js'
import { CacheManager } from '../../src/index.js'
import { withCache } from '../../src/prisma/index.js'
import { createTestDatabase, DATABASE_URL, type TestDatabase } from '../support/database.js'
import { seedShop } from '../support/shop-fixture.js'
import { TcpProxy } from '../support/tcp-proxy.js'

let db: TestDatabase
let proxy: TcpProxy
let base: PrismaClient
const cache = new CacheManager()

beforeAll(async () => {
  db = await createTestDatabase('commit_unknown')
  const direct = db.client()
  await seedShop(direct)
  await direct.$disconnect()
  proxy = await TcpProxy.to(DATABASE_URL)
  const url = new URL(DATABASE_URL)
  url.hostname = '127.0.0.1'
  url.port = String(proxy.port)
  base = new PrismaClient({
    adapter: new PrismaPg(
      { ...db.config, connectionString: url.toString() },
      { schema: db.schema },
    ),
  })
})

afterAll(async () => {
  await base?.$disconnect()
  await proxy?.close()
  await cache.close()
  await db?.drop()
})

it('a connection lost during COMMIT invalidates what the transaction wrote', async () => {
  const prisma = base.$extends(withCache({ cache, env: false }))
  const read = () => prisma.product.findUnique({ where: { id: 1 } }).withCacheInfo()
  await read()
  expect((await read()).info.cacheStatus).toBe('hit')

  proxy.cutAfter = (chunk) => chunk.includes('COMMIT')
  await expect(
    prisma.$transaction(async (tx) =>
      tx.product.update({ where: { id: 1 }, data: { name: 'committed' } }),
    ),
  ).rejects.toThrow()
  expect(proxy.cutAfter).toBeUndefined() // the COMMIT was sent, and the connection cut
  const { rows } = await db.pool.query('SELECT name FROM "Product" WHERE id = 1')
  expect(rows[0].name).toBe('committed')
  expect((await read()).data?.name).toBe('committed')
})

/**
 * Code written for Prisma Accelerate, as its documentation shows it, runs unchanged on a client
 * extended with withCache: `cacheStrategy` with `ttl`, `swr` and `tags`, `withAccelerateInfo()`
 * with Accelerate's statuses (`ttl` for a fresh hit), `$accelerate.invalidate({ tags })` with
 * Accelerate's tag rules, and `$accelerate.invalidateAll()`.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { PrismaClient } from '../../prisma/generated/client.js'
import { CacheManager, ValidationError } from '../../src/index.js'
import { withCache } from '../../src/prisma/index.js'
import { createTestDatabase, type TestDatabase } from '../support/database.js'
import { seedShop } from '../support/shop-fixture.js'

let db: TestDatabase
let base: PrismaClient
let cache: CacheManager
let prisma: ReturnType<typeof extend>
const extend = (client: PrismaClient) =>
  client.$extends(withCache({ cache, env: false, automatic: false }))

beforeAll(async () => {
  db = await createTestDatabase('accelerate')
  base = db.client()
  await seedShop(base)
  cache = new CacheManager()
  prisma = extend(base)
})

afterAll(async () => {
  await cache?.close()
  await base?.$disconnect()
  await db?.drop()
})

/** As Accelerate's documentation writes it (its `user` / `email` example, on our products). */
const query = () =>
  prisma.product.findMany({
    where: { name: { contains: 'a' } },
    cacheStrategy: { swr: 60, ttl: 60, tags: ['products_with_a'] },
  })

it('withAccelerateInfo(): miss, then ttl; none without a cacheStrategy', async () => {
  const first = await query().withAccelerateInfo()
  expect(first.info).toMatchObject({ cacheStatus: 'miss', region: 'database', signature: '' })
  expect(first.info.lastModified).toBeInstanceOf(Date)
  expect(first.info.requestId).toMatch(/^[0-9a-f-]{36}$/)
  const second = await query().withAccelerateInfo()
  expect(second.info).toMatchObject({ cacheStatus: 'ttl', region: 'l1' })
  expect(second.data).toEqual(first.data)
  const plain = await prisma.product.findMany({ take: 1 }).withAccelerateInfo()
  expect(plain.info.cacheStatus).toBe('none') // automatic: false is Accelerate's way
})

it('$accelerate.invalidate({ tags }) drops what carries them; invalidateAll() everything', async () => {
  await query()
  expect((await query().withAccelerateInfo()).info.cacheStatus).toBe('ttl')
  await prisma.$accelerate.invalidate({ tags: ['products_with_a'] })
  expect((await query().withAccelerateInfo()).info.cacheStatus).toBe('miss')
  expect((await query().withAccelerateInfo()).info.cacheStatus).toBe('ttl')
  await prisma.$accelerate.invalidateAll()
  expect((await query().withAccelerateInfo()).info.cacheStatus).toBe('miss')
})

it("$accelerate.invalidate applies Accelerate's tag rules, which $cache.invalidate does not", async () => {
  await expect(prisma.$accelerate.invalidate({ tags: ['product:1'] })).rejects.toThrow(
    /input\.tags\[0\]: must be 1 to 64 letters, digits or underscores/,
  )
  await expect(
    prisma.$accelerate.invalidate({ tags: ['a', 'b', 'c', 'd', 'e', 'f'] }),
  ).rejects.toThrow(ValidationError)
  await expect(prisma.$accelerate.invalidate({ tags: ['x'.repeat(65)] })).rejects.toThrow(
    ValidationError,
  )
  await prisma.$cache.invalidate({ tags: ['product:1'] }) // ours are looser
})

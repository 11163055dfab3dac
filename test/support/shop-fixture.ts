import { afterAll, beforeAll, beforeEach } from 'vitest'
import type { PrismaClient } from '../../prisma/generated/client.js'
import { CacheManager } from '../../src/index.js'
import { withCache } from '../../src/prisma/index.js'
import { createTestDatabase, type TestDatabase } from './database.js'
import { REDIS_URL, uniquePrefix } from './redis.js'

/** The visits of the shop (uuid keys): the second in upper case, as some clients send them. */
export const VISITS = [
  ['0b6f8a52-1c3d-4e5f-8a9b-0c1d2e3f4a5b', '/'],
  ['7E2D1C4B-5A69-4788-9A0B-1C2D3E4F5A6B', '/products'],
] as const

/**
 * A small shop in the test schema, the same every time: a category tree, products with tags,
 * inventory and reviews, users with orders. Ids are those PostgreSQL assigns in a fresh schema.
 */
export async function seedShop(prisma: PrismaClient): Promise<void> {
  await prisma.category.create({ data: { name: 'Audio', slug: 'audio' } })
  await prisma.category.create({ data: { name: 'Cables', slug: 'cables', parentId: 1 } })
  await prisma.category.create({ data: { name: 'Video', slug: 'video' } })
  for (const name of ['new', 'sale', 'gold']) await prisma.tag.create({ data: { name } })
  for (let i = 1; i <= 6; i++) {
    await prisma.product.create({
      data: {
        sku: `SKU-${i}`,
        name: `Product ${i}`,
        price: `${i * 10}.50`,
        featured: i % 2 === 0,
        category: { connect: { id: ((i - 1) % 3) + 1 } },
        inventory: { create: { stock: i * 5 } },
        tags: { connect: [{ id: (i % 3) + 1 }] },
      },
    })
  }
  for (let i = 1; i <= 3; i++) {
    await prisma.user.create({ data: { email: `user${i}@shop.test`, name: `User ${i}` } })
  }
  for (let i = 1; i <= 4; i++) {
    await prisma.review.create({
      data: { productId: i, userId: (i % 3) + 1, rating: (i % 5) + 1, body: `Review ${i}` },
    })
  }
  for (const [id, path] of VISITS) await prisma.visit.create({ data: { id, path } })
  await prisma.order.create({
    data: {
      userId: 1,
      totalCents: 3100,
      items: {
        create: [
          { productId: 1, quantity: 1, priceCents: 1050 },
          { productId: 2, quantity: 1, priceCents: 2050 },
        ],
      },
    },
  })
}

/** Values as a test compares them: Decimals as their text, everything else as is. */
export function comparable(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? `${v}n` : v)))
}

/** Every table of the test schema but `Sample`, emptied and its ids restarted. */
const SHOP_TABLES =
  '"OrderItem", "Order", "Review", "Inventory", "_ProductToTag", "Product", "Tag", "Category", "User", "Visit"'

/** Empties the shop's tables, seeds them again and clears the cache: a fresh start per case. */
export async function resetShop(
  db: TestDatabase,
  client: PrismaClient,
  cache: CacheManager,
): Promise<void> {
  await db.pool.query(`TRUNCATE ${SHOP_TABLES} RESTART IDENTITY CASCADE`)
  await seedShop(client)
  await cache.clear()
}

/** `withCache` with hour-long TTLs: only invalidation can keep reads fresh. */
export function extendLongLived(client: PrismaClient, cache: CacheManager) {
  return client.$extends(
    withCache({
      cache,
      env: false,
      defaultStrategy: { ttl: 3600 },
      strategies: { aggregation: { ttl: 3600 } },
    }),
  )
}

export type LongLivedClient = ReturnType<typeof extendLongLived>

/**
 * A test file's shop: a PostgreSQL schema of its own, a plain client, a cache (memory only, or
 * L1 + Redis under a prefix of its own with `redis`) and a client extended over them with
 * {@link extendLongLived}; created in `beforeAll`, reset before each test (unless `reset: false`),
 * dropped in `afterAll`. Read the fields inside tests and hooks.
 */
export function useCachedShop(name: string, { reset = true, redis = false } = {}) {
  const shop = {} as {
    db: TestDatabase
    base: PrismaClient
    cache: CacheManager
    prisma: LongLivedClient
  }
  beforeAll(async () => {
    shop.db = await createTestDatabase(name)
    shop.base = shop.db.client()
    shop.cache = new CacheManager(
      redis ? { redis: REDIS_URL, prefix: uniquePrefix(`shop_${name}`) } : undefined,
    )
    shop.prisma = extendLongLived(shop.base, shop.cache)
    if (!reset) await seedShop(shop.base)
  })
  afterAll(async () => {
    await shop.base?.$disconnect()
    if (redis) await shop.cache?.clear()
    await shop.cache?.close()
    await shop.db?.drop()
  })
  if (reset) beforeEach(() => resetShop(shop.db, shop.base, shop.cache))
  return shop
}

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PrismaClient } from '../../prisma/generated/client.js'
import { CacheManager, ValidationError } from '../../src/index.js'
import { type WithCacheOptions, withCache } from '../../src/prisma/index.js'
import { createTestDatabase, type TestDatabase } from '../support/database.js'
import { seedShop } from '../support/shop-fixture.js'

/**
 * Strategies (the TTL classes, per model, per query, from the environment) and the options'
 * validation: every bad option or variable names itself.
 */

let db: TestDatabase
let base: PrismaClient
let cache: CacheManager

beforeAll(async () => {
  db = await createTestDatabase('options')
  base = db.client()
  await seedShop(base)
  cache = new CacheManager()
})

afterAll(async () => {
  await base?.$disconnect()
  await cache?.close()
  await db?.drop()
})

const client = (options: Omit<WithCacheOptions, 'cache'>) =>
  base.$extends(
    withCache({ cache, namespace: `o${Math.random().toString(36).slice(2)}`, ...options }),
  )

function errorOf(make: () => unknown): ValidationError {
  try {
    make()
  } catch (error) {
    if (error instanceof ValidationError) return error
    throw error
  }
  throw new Error('nothing thrown')
}

describe('strategies', () => {
  it('the TTL classes: reference 5 min, hot 10 s, aggregations 60 s; unlisted models are hot', async () => {
    const prisma = client({ env: false, models: { Category: 'reference', Inventory: 'hot' } })
    const ttl = async (q: { withCacheInfo(): Promise<{ info: { ttl?: number } }> }) =>
      (await q.withCacheInfo()).info.ttl
    expect(await ttl(prisma.category.findUnique({ where: { id: 1 } }))).toBe(300)
    expect(await ttl(prisma.inventory.findUnique({ where: { productId: 1 } }))).toBe(10)
    expect(await ttl(prisma.product.findMany({ take: 2 }))).toBe(10)
    expect(await ttl(prisma.category.count())).toBe(60)
    expect(await ttl(prisma.product.aggregate({ _max: { price: true } }))).toBe(60)
  })

  it('CACHE_TTL_L1/L2/L3 and DATABASE_QUERY_CACHE_TTL set the classes, in seconds', async () => {
    const prisma = client({
      env: {
        CACHE_TTL_L1: '7',
        CACHE_TTL_L2: '70',
        CACHE_TTL_L3: '700',
        DATABASE_QUERY_CACHE_TTL: '33',
      },
      models: { Category: 'reference', Inventory: 'hot' },
    })
    const info = async (q: { withCacheInfo(): Promise<{ info: { ttl?: number } }> }) =>
      (await q.withCacheInfo()).info.ttl
    expect(await info(prisma.category.findUnique({ where: { id: 1 } }))).toBe(700)
    expect(await info(prisma.inventory.findUnique({ where: { productId: 1 } }))).toBe(7)
    expect(await info(prisma.product.count())).toBe(70)
    expect(await info(prisma.product.findMany({ take: 1 }))).toBe(33)
  })

  it('a per-query cacheStrategy wins over the model; false bypasses; a model set to false is not cached', async () => {
    const prisma = client({ env: false, models: { User: false } })
    const status = async (q: {
      withCacheInfo(): Promise<{ info: { cacheStatus: string; ttl?: number } }>
    }) => (await q.withCacheInfo()).info
    await prisma.user.findUnique({ where: { id: 1 } })
    expect((await status(prisma.user.findUnique({ where: { id: 1 } }))).cacheStatus).toBe('none')
    const explicit = prisma.user.findUnique({ where: { id: 2 }, cacheStrategy: { ttl: 42 } })
    expect(await status(explicit)).toMatchObject({ cacheStatus: 'miss', ttl: 42 })
    await prisma.product.findUnique({ where: { id: 1 } })
    expect(
      (await status(prisma.product.findUnique({ where: { id: 1 }, cacheStrategy: false })))
        .cacheStatus,
    ).toBe('none')
  })

  it('ENABLE_QUERY_CACHE=false turns reads off; automatic: false caches only reads that ask', async () => {
    const off = client({ env: { ENABLE_QUERY_CACHE: 'false' } })
    await off.product.findUnique({ where: { id: 1 } })
    expect(
      (await off.product.findUnique({ where: { id: 1 } }).withCacheInfo()).info.cacheStatus,
    ).toBe('none')

    const asked = client({ env: false, automatic: false })
    await asked.product.findUnique({ where: { id: 1 } })
    expect(
      (await asked.product.findUnique({ where: { id: 1 } }).withCacheInfo()).info.cacheStatus,
    ).toBe('none')
    await asked.product.findUnique({ where: { id: 1 }, cacheStrategy: { ttl: 60 } })
    const hit = await asked.product
      .findUnique({ where: { id: 1 }, cacheStrategy: { ttl: 60 } })
      .withCacheInfo()
    expect(hit.info.cacheStatus).toBe('hit')
  })

  it('tags given in cacheStrategy are invalidated by $cache.invalidate', async () => {
    const prisma = client({ env: false })
    const featured = () =>
      prisma.product.findMany({ where: { featured: true }, cacheStrategy: { tags: ['featured'] } })
    await featured()
    expect((await featured().withCacheInfo()).info.cacheStatus).toBe('hit')
    await prisma.$cache.invalidate({ tags: ['featured'] })
    expect((await featured().withCacheInfo()).info.cacheStatus).toBe('miss')
    await prisma.$cache.invalidateAll()
    expect((await featured().withCacheInfo()).info.cacheStatus).toBe('miss')
  })
})

describe('bad options name the field', () => {
  it.each([
    [{ cache: {} }, 'options.cache'],
    [{ cache: 'x', env: false }, 'options.cache'],
    [{ models: { Product: 'warm' } }, 'options.models.Product'],
    [{ models: { Product: { ttl: 0 } } }, 'options.models.Product.ttl'],
    [{ strategies: { hot: { ttl: 10, swr: -1 } } }, 'options.strategies.hot.swr'],
    [{ namespace: 'has space' }, 'options.namespace'],
    [{ automatic: 'yes' }, 'options.automatic'],
    [{ surprise: true }, 'options.surprise'],
  ])('%j', (options, field) => {
    const error = errorOf(() => withCache({ cache, env: false, ...options } as WithCacheOptions))
    expect(error.field).toBe(field)
  })

  it('not an object at all', () => {
    expect(errorOf(() => withCache(undefined as unknown as WithCacheOptions)).field).toBe('options')
  })

  it('a model the schema does not have (a typo) fails at $extends, listing the models', () => {
    const error = errorOf(() =>
      base.$extends(withCache({ cache, env: false, models: { Prodcut: 'hot' } })),
    )
    expect(error.field).toBe('options.models.Prodcut')
    expect(error.message).toContain('Product')
  })

  it.each([
    [{ CACHE_TTL_L1: 'ten' }, 'CACHE_TTL_L1'],
    [{ CACHE_TTL_L3: '0' }, 'CACHE_TTL_L3'],
    [{ ENABLE_QUERY_CACHE: 'maybe' }, 'ENABLE_QUERY_CACHE'],
    [
      { ENABLE_QUERY_CACHE: 'true', DATABASE_ENABLE_QUERY_CACHE: 'false' },
      'DATABASE_ENABLE_QUERY_CACHE',
    ],
    [{ DATABASE_MAX_QUERY_EXECUTION_TIME: '-5' }, 'DATABASE_MAX_QUERY_EXECUTION_TIME'],
  ])('environment %j', (env, field) => {
    const error = errorOf(() => withCache({ cache, env }))
    expect(error.code).toBe('ERR_INVALID_ENV')
    expect(error.field).toBe(field)
  })
})

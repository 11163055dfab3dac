import { Decimal } from '@prisma/client/runtime/client'
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest'
import type { PrismaClient, Product } from '../../prisma/generated/client.js'
import { CacheManager, ValidationError } from '../../src/index.js'
import { type CacheInfo, withCache } from '../../src/prisma/index.js'
import { createTestDatabase, type TestDatabase } from '../support/database.js'

/**
 * The types the extension gives a client (checked by `npm run typecheck`, which compiles this
 * file), and the runtime answers to what the types reject when a caller slips past them.
 */

let db: TestDatabase
let base: PrismaClient
let cache: CacheManager
let prisma: ReturnType<typeof extend>
const extend = (client: PrismaClient) => client.$extends(withCache({ cache, env: false }))

beforeAll(async () => {
  db = await createTestDatabase('types')
  base = db.client()
  cache = new CacheManager()
  prisma = extend(base)
  await base.category.create({ data: { name: 'A', slug: 'a' } })
  await base.product.create({ data: { sku: 'S', name: 'N', price: '1.5', categoryId: 1 } })
})

afterAll(async () => {
  await base?.$disconnect()
  await cache?.close()
  await db?.drop()
})

describe('types flow to the caller', () => {
  it('reads take cacheStrategy and keep their result types', async () => {
    const one = await prisma.product.findUnique({
      where: { id: 1 },
      cacheStrategy: { ttl: 60, swr: 30, tags: ['featured'] },
    })
    expectTypeOf(one).toEqualTypeOf<Product | null>()
    expect(Decimal.isDecimal(one?.price)).toBe(true)

    const selected = await prisma.product.findMany({
      select: { name: true, category: { select: { slug: true } } },
      cacheStrategy: false,
    })
    expectTypeOf(selected).toEqualTypeOf<{ name: string; category: { slug: string } | null }[]>()

    const { data, info } = await prisma.product
      .findFirst({ where: { name: 'N' }, include: { category: true } })
      .withCacheInfo()
    expectTypeOf(info).toEqualTypeOf<CacheInfo>()
    expectTypeOf(data).toEqualTypeOf<
      | (Product & {
          category: { id: number; name: string; slug: string; parentId: number | null } | null
        })
      | null
    >()
    expect(data?.category?.slug).toBe('a')

    const count = await prisma.product.count({ cacheStrategy: { ttl: 5 } })
    expectTypeOf(count).toEqualTypeOf<number>()
    const stats = await prisma.product.aggregate({ _max: { price: true } })
    expectTypeOf(stats._max.price).toEqualTypeOf<Decimal | null>()
  })

  it('writes reject cacheStrategy, at compile time and at run time', async () => {
    await expect(
      prisma.product.update({
        where: { id: 1 },
        data: { name: 'X' },
        // @ts-expect-error cacheStrategy is for reads only
        cacheStrategy: { ttl: 60 },
      }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', field: 'args.cacheStrategy' })
  })

  it('a malformed cacheStrategy names the field and the reason', async () => {
    const bad = [
      [{ ttl: -1 }, 'args.cacheStrategy.ttl'],
      [{ swr: 'soon' }, 'args.cacheStrategy.swr'],
      [{ tags: [''] }, 'args.cacheStrategy.tags[0]'],
      [{ ttl: 10, extra: 1 }, 'args.cacheStrategy.extra'],
      ['60s', 'args.cacheStrategy'],
    ] as const
    for (const [strategy, field] of bad) {
      const error = await prisma.product
        // @ts-expect-error deliberately wrong
        .findMany({ cacheStrategy: strategy })
        .then(
          () => undefined,
          (e: unknown) => e,
        )
      expect(error, JSON.stringify(strategy)).toBeInstanceOf(ValidationError)
      expect((error as ValidationError).field).toBe(field)
    }
  })

  it('$cache is typed', async () => {
    expectTypeOf(prisma.$cache.invalidate).parameter(0).toEqualTypeOf<{ tags: readonly string[] }>()
    await prisma.$cache.invalidate({ tags: ['featured'] })
    await expect(
      // @ts-expect-error tags are required
      prisma.$cache.invalidate({}),
    ).rejects.toMatchObject({ field: 'input.tags' })
    await expect(prisma.$cache.invalidate({ tags: ['featured', ''] })).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
      field: 'input.tags[1]',
    })
  })
})

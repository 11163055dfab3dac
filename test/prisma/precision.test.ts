import { describe, expect, it } from 'vitest'
import { type CachedRead, invalidatedBy as invalidatedByWrite } from '../support/precision.js'
import { type LongLivedClient, useCachedShop } from '../support/shop-fixture.js'

/**
 * Record-level precision: a write invalidates the reads it may change and keeps the others. Each
 * case caches a set of reads, runs one write, and checks which reads are still hits. (That the
 * invalidated ones then return fresh data is the consistency checker's job.) Lists, fields and
 * counts: `precision-lists.test.ts`.
 */

const shop = useCachedShop('precision')

type P = LongLivedClient
const READS = {
  product1: (p: P) => p.product.findUnique({ where: { id: 1 } }),
  product2: (p: P) => p.product.findUnique({ where: { id: 2 } }),
  product1BySku: (p: P) => p.product.findUnique({ where: { sku: 'SKU-1' } }),
  product1WithReviews: (p: P) =>
    p.product.findUnique({ where: { id: 1 }, include: { reviews: true } }),
  productList: (p: P) => p.product.findMany({ orderBy: { id: 'asc' } }),
  productCount: (p: P) => p.product.count(),
  category1: (p: P) => p.category.findUnique({ where: { id: 1 } }),
  category1WithProducts: (p: P) =>
    p.category.findUnique({ where: { id: 1 }, include: { products: true } }),
  categoryList: (p: P) => p.category.findMany({ orderBy: { id: 'asc' } }),
  user1: (p: P) => p.user.findUnique({ where: { id: 1 } }),
  user1ByEmail: (p: P) => p.user.findUnique({ where: { email: 'user1@shop.test' } }),
  inventory1: (p: P) => p.inventory.findUnique({ where: { productId: 1 } }),
  product1WithStock: (p: P) =>
    p.product.findUnique({ where: { id: 1 }, include: { inventory: true } }),
  inventory2: (p: P) => p.inventory.findUnique({ where: { productId: 2 } }),
  review11: (p: P) => p.review.findUnique({ where: { id: 1 } }),
  tagsWithProducts: (p: P) => p.tag.findMany({ include: { products: true } }),
  tag1: (p: P) => p.tag.findUnique({ where: { id: 1 } }),
} satisfies Record<string, CachedRead>

type ReadName = keyof typeof READS

/** Caches every read, runs `write`, and returns the reads that are no longer hits. */
const invalidatedBy = (write: (p: P) => Promise<unknown>): Promise<ReadName[]> =>
  invalidatedByWrite(shop.prisma, READS, write)

describe('a write invalidates what it may change and nothing else', () => {
  it('update by id: that product under both its keys, and the lists and relations that hold it', async () => {
    expect(
      await invalidatedBy((p) => p.product.update({ where: { id: 1 }, data: { name: 'X' } })),
    ).toEqual(
      [
        'category1WithProducts',
        'product1',
        'product1BySku',
        'product1WithReviews',
        'product1WithStock',
        'productList',
        'tagsWithProducts',
      ].sort(),
    )
  })

  it('update by sku finds the id through the returned record', async () => {
    const missed = await invalidatedBy((p) =>
      p.product.update({ where: { sku: 'SKU-1' }, data: { name: 'X' }, select: { name: true } }),
    )
    expect(missed).toContain('product1')
    expect(missed).not.toContain('product2')
  })

  it('the caller gets the select it asked for, not the fields added to identify the record', async () => {
    const result = await shop.prisma.product.update({
      where: { sku: 'SKU-2' },
      data: { name: 'Y' },
      select: { name: true },
    })
    expect(result).toEqual({ name: 'Y' })
  })

  it('changing a unique key other than the one addressed reaches all record reads of the model', async () => {
    const missed = await invalidatedBy((p) =>
      p.product.update({ where: { id: 1 }, data: { sku: 'SKU-100' } }),
    )
    expect(missed).toEqual(expect.arrayContaining(['product1', 'product2', 'product1BySku']))
    expect(missed).not.toContain('category1')
  })

  it('updateMany by a filter reaches every record of the model, not other models', async () => {
    const missed = await invalidatedBy((p) =>
      p.product.updateMany({ where: { featured: true }, data: { viewCount: 9 } }),
    )
    expect(missed).toEqual(expect.arrayContaining(['product1', 'product2', 'productList']))
    expect(missed).not.toContain('category1')
    expect(missed).not.toContain('user1')
  })

  it('updateMany pinned by the only key of its model reaches that row, not the others', async () => {
    const missed = await invalidatedBy((p) =>
      p.inventory.updateMany({ where: { productId: 1 }, data: { stock: 0 } }),
    )
    expect(missed).toEqual(['inventory1', 'product1WithStock'])
  })

  it("createMany, like create, reaches no record read and no other parent's children", async () => {
    const missed = await invalidatedBy((p) =>
      p.review.createMany({ data: [{ productId: 2, userId: 1, rating: 3, body: 'new' }] }),
    )
    expect(missed).toEqual([])
  })

  it('a nested update of one inventory row keeps the other inventory rows', async () => {
    const missed = await invalidatedBy((p) =>
      p.product.update({
        where: { id: 1 },
        data: { inventory: { update: { stock: { decrement: 1 } } } },
      }),
    )
    expect(missed).toContain('inventory1')
    expect(missed).toContain('product1')
    expect(missed).not.toContain('category1')
  })

  it("another product's stock keeps a product read that includes its own one-to-one inventory", async () => {
    const missed = await invalidatedBy((p) =>
      p.inventory.update({ where: { productId: 2 }, data: { stock: 0 } }),
    )
    expect(missed).toEqual(['inventory2'])
  })

  it("creating a product's missing inventory reaches the product read that saw it missing", async () => {
    await shop.base.inventory.delete({ where: { productId: 1 } })
    const status = async (read: ReadName) =>
      ((await READS[read](shop.prisma).withCacheInfo()) as { info: { cacheStatus: string } }).info
        .cacheStatus
    for (const read of ['product1WithStock', 'inventory2'] as const) await READS[read](shop.prisma)
    expect(await status('product1WithStock')).toBe('hit') // cached with no inventory
    await shop.prisma.inventory.create({ data: { productId: 1, stock: 3 } })
    const { data, info } = await shop.prisma.product
      .findUnique({ where: { id: 1 }, include: { inventory: true } })
      .withCacheInfo()
    expect(info.cacheStatus).toBe('miss')
    expect(data?.inventory?.stock).toBe(3)
    expect(await status('inventory2')).toBe('hit')
  })

  it.each([
    ['create', (p: P) => p.inventory.create({ data: { productId: 1, stock: 3 } })],
    ['createMany', (p: P) => p.inventory.createMany({ data: [{ productId: 1, stock: 3 }] })],
    [
      'createManyAndReturn',
      (p: P) => p.inventory.createManyAndReturn({ data: [{ productId: 1, stock: 3 }] }),
    ],
    [
      'a nested create',
      (p: P) =>
        p.product.update({ where: { id: 1 }, data: { inventory: { create: { stock: 3 } } } }),
    ],
    [
      'a nested upsert',
      (p: P) =>
        p.product.update({
          where: { id: 1 },
          data: { inventory: { upsert: { create: { stock: 3 }, update: { stock: 4 } } } },
        }),
    ],
    [
      "a connect of another product's inventory",
      async (p: P) => {
        await shop.base.inventory.delete({ where: { productId: 2 } })
        await shop.base.inventory.create({ data: { productId: 2, stock: 3 } })
        return p.product.update({
          where: { id: 1 },
          data: { inventory: { connect: { productId: 2 } } },
        })
      },
    ],
  ] as const)(
    'the one-to-one child a parent read saw missing, made by %s, is seen at once',
    async (_how, make) => {
      await shop.base.inventory.delete({ where: { productId: 1 } })
      const read = () =>
        shop.prisma.product.findUnique({ where: { id: 1 }, include: { inventory: true } })
      await read()
      expect((await read().withCacheInfo()).info.cacheStatus).toBe('hit')
      await make(shop.prisma)
      const { data, info } = await read().withCacheInfo()
      expect(info.cacheStatus).toBe('miss')
      expect(data?.inventory?.stock).toBe(3)
    },
  )

  it("a create reaches no record read, and no other parent's children", async () => {
    const missed = await invalidatedBy((p) =>
      p.review.create({ data: { productId: 2, userId: 1, rating: 3, body: 'new' } }),
    )
    expect(missed).toEqual([])
  })

  it('deleting a category follows SetNull to its products and children', async () => {
    const missed = await invalidatedBy((p) => p.category.delete({ where: { id: 3 } }))
    expect(missed).toEqual(
      expect.arrayContaining([
        'category1WithProducts',
        'categoryList',
        'product1',
        'product2',
        'productList',
      ]),
    )
    expect(missed).not.toContain('user1')
    expect(missed).not.toContain('inventory1')
  })

  it('deleting a user cascades to its orders, items and reviews', async () => {
    // Review 1 is user 2's: the cascade reaches every review (which ones is not known).
    const missed = await invalidatedBy((p) => p.user.delete({ where: { id: 2 } }))
    expect(missed).toEqual(['product1WithReviews', 'review11'])
    expect(missed).not.toContain('user1')
    expect(missed).not.toContain('product1')
    expect(missed).not.toContain('category1')
  })

  it('connecting tags changes the join table: reads across it, not the tags themselves', async () => {
    const missed = await invalidatedBy((p) =>
      p.product.update({ where: { id: 2 }, data: { tags: { connect: { id: 1 } } } }),
    )
    expect(missed).toContain('tagsWithProducts')
    expect(missed).toContain('product2')
    expect(missed).not.toContain('tag1')
    expect(missed).not.toContain('product1')
  })

  it('a raw UPDATE of a named table reaches that model only', async () => {
    const missed = await invalidatedBy(
      (p) => p.$executeRaw`UPDATE "User" SET name = 'raw' WHERE id = 1`,
    )
    expect(missed).toEqual(['user1', 'user1ByEmail'])
  })

  it('raw SQL the extension cannot read reaches everything', async () => {
    const missed = await invalidatedBy((p) => p.$executeRawUnsafe('SELECT pg_sleep(0)'))
    expect(missed.length).toBe(Object.keys(READS).length)
  })

  it('a read-only raw query invalidates nothing and is never cached', async () => {
    expect(await invalidatedBy((p) => p.$queryRaw`SELECT count(*) FROM "Product"`)).toEqual([])
  })
})

import { describe, expect, it } from 'vitest'
import { type CachedRead, cacheStatus, invalidatedBy } from '../support/precision.js'
import { type LongLivedClient, useCachedShop } from '../support/shop-fixture.js'

/**
 * Precision of lists, fields and counts: a write invalidates the reads whose result it can
 * change, by the fields they return or filter, sort and count by, the rows they returned, and the
 * values their filters pin; and keeps the others cached. On both a memory cache and L1 + Redis
 * (the tags must mean the same in both tiers). The shop: products 1-6 in categories 1, 2, 3, 1,
 * 2, 3; products 2, 4 and 6 featured; reviews of products 1-4 by users 2, 3, 1, 2.
 */

type P = LongLivedClient
const name = { name: true } as const
// Lists are sorted: without an order, rows come back in their physical order, which any update
// of one of them changes (such a list depends on every field of its rows).
const byId = { orderBy: { id: 'asc' } } as const

const READS = {
  card1: (p: P) => p.product.findUnique({ where: { id: 1 }, select: { name: true, price: true } }),
  full1: (p: P) => p.product.findUnique({ where: { id: 1 } }),
  changed1: (p: P) => p.product.findUnique({ where: { id: 1 }, select: { updatedAt: true } }),
  namesIn1: (p: P) => p.product.findMany({ where: { categoryId: 1 }, select: name, ...byId }),
  namesIn3: (p: P) => p.product.findMany({ where: { categoryId: 3 }, select: name, ...byId }),
  allNames: (p: P) => p.product.findMany({ select: name, orderBy: { id: 'asc' } }),
  fullIn1: (p: P) => p.product.findMany({ where: { categoryId: 1 }, orderBy: { id: 'asc' } }),
  featured: (p: P) => p.product.findMany({ where: { featured: true }, select: name, ...byId }),
  notFeatured: (p: P) =>
    p.product.findMany({ where: { featured: { not: true } }, select: name, ...byId }),
  byIds: (p: P) => p.product.findMany({ where: { id: { in: [1, 2] } }, select: name, ...byId }),
  pricey: (p: P) => p.product.findMany({ where: { price: { gt: 5 } }, select: name, ...byId }),
  cheapestTwo: (p: P) => p.product.findMany({ orderBy: { price: 'asc' }, take: 2, select: name }),
  firstTwo: (p: P) => p.product.findMany({ orderBy: { id: 'asc' }, take: 2, select: name }),
  secondTwo: (p: P) =>
    p.product.findMany({ orderBy: { id: 'asc' }, skip: 2, take: 2, select: name }),
  countIn1: (p: P) => p.product.count({ where: { categoryId: 1 } }),
  countFeatured: (p: P) => p.product.count({ where: { featured: true } }),
  views: (p: P) => p.product.aggregate({ _sum: { viewCount: true } }),
  reviewsOf1: (p: P) => p.product.findUnique({ where: { id: 1 }, include: { reviews: true } }),
  reviewsOf2: (p: P) => p.product.findUnique({ where: { id: 2 }, include: { reviews: true } }),
  reviewCountOf1: (p: P) =>
    p.product.findUnique({ where: { id: 1 }, select: { _count: { select: { reviews: true } } } }),
  reviewCountOf2: (p: P) =>
    p.product.findUnique({ where: { id: 2 }, select: { _count: { select: { reviews: true } } } }),
  reviewedBy3: (p: P) =>
    p.product.findMany({ where: { reviews: { some: { userId: 3 } } }, select: name, ...byId }),
  admins: (p: P) => p.user.findMany({ where: { role: 'ADMIN' }, select: { email: true }, ...byId }),
} satisfies Record<string, CachedRead>

type ReadName = keyof typeof READS

describe.each([
  ['memory only', false],
  ['L1 + Redis', true],
])('a write invalidates exactly the reads it can change (%s)', (_mode, redis) => {
  const shop = useCachedShop(`precision_lists_${redis ? 'redis' : 'memory'}`, { redis })
  const changed = (write: (p: P) => Promise<unknown>): Promise<ReadName[]> =>
    invalidatedBy(shop.prisma, READS, write)

  it('a counter increment reaches the reads that return or sum it (and @updatedAt), no other', async () => {
    const missed = await changed((p) =>
      p.product.update({ where: { id: 1 }, data: { viewCount: { increment: 1 } } }),
    )
    expect(missed).toEqual(['changed1', 'full1', 'fullIn1', 'reviewsOf1', 'views'])
  })

  it('an unsorted list depends on every field of its rows (their order may change)', async () => {
    const unsorted = {
      names: (p: P) => p.product.findMany({ where: { categoryId: 1 }, select: name }),
      sorted: READS.namesIn1,
    }
    expect(
      await invalidatedBy(shop.prisma, unsorted, (p) =>
        p.product.update({ where: { id: 1 }, data: { viewCount: { increment: 1 } } }),
      ),
    ).toEqual(['names'])
  })

  it('a shown field reaches the lists holding the row, not the others', async () => {
    const missed = await changed((p) => p.product.update({ where: { id: 1 }, data: { name: 'X' } }))
    // Product 1: in category 1, not featured, among the two first and the two cheapest.
    expect(missed).toEqual(
      ['allNames', 'byIds', 'card1', 'changed1', 'cheapestTwo', 'firstTwo', 'full1', 'fullIn1']
        .concat(['namesIn1', 'notFeatured', 'pricey', 'reviewsOf1'])
        .sort(),
    )
  })

  it('a filter field reaches the reads filtering by it: rows enter and leave', async () => {
    const missed = await changed((p) =>
      p.product.update({ where: { id: 1 }, data: { featured: true } }),
    )
    expect(missed).toEqual(
      ['changed1', 'countFeatured', 'featured', 'full1', 'fullIn1', 'notFeatured']
        .concat(['reviewsOf1'])
        .sort(),
    )
  })

  it('a sort field reaches the windows sorted by it, whatever row changed', async () => {
    const missed = await changed((p) =>
      p.product.update({ where: { id: 6 }, data: { price: '1.00' } }),
    )
    expect(missed).toContain('cheapestTwo')
    expect(missed).toContain('pricey')
    expect(missed).not.toContain('namesIn3') // 6 is there, but not its price
    expect(missed).not.toContain('firstTwo')
    expect(missed).not.toContain('namesIn1')
    expect(missed).not.toContain('countIn1')
  })

  it('a created row reaches the reads whose filter it may match, and no other', async () => {
    const missed = await changed((p) =>
      p.product.create({ data: { sku: 'NEW-1', name: 'New', price: '3.00', categoryId: 3 } }),
    )
    // New rows may enter unfiltered lists, ranges (`pricey`) and relation filters; the filters
    // pinning a category, an id or `featured: true` exclude it.
    expect(missed).toEqual(
      ['allNames', 'cheapestTwo', 'firstTwo', 'namesIn3', 'notFeatured', 'pricey', 'reviewedBy3']
        .concat(['secondTwo', 'views'])
        .sort(),
    )
  })

  it('a created row of a value a filter excludes does not reach it', async () => {
    const missed = await changed((p) =>
      p.product.create({ data: { sku: 'NEW-2', name: 'New', price: '3.00', featured: true } }),
    )
    expect(missed).toContain('featured')
    expect(missed).toContain('countFeatured')
    expect(missed).not.toContain('notFeatured')
    expect(missed).not.toContain('namesIn1')
    expect(
      await changed((p) => p.user.create({ data: { email: 'c@shop.test', name: 'C' } })),
    ).toEqual([])
  })

  it('a delete reaches the reads that held the row, and counts and offsets', async () => {
    const missed = await changed((p) => p.product.delete({ where: { id: 6 } }))
    for (const read of ['allNames', 'featured', 'namesIn3', 'pricey'] as const) {
      expect(missed).toContain(read) // held product 6
    }
    expect(missed).toContain('secondTwo') // an offset window: rows before it may be gone
    expect(missed).toContain('countFeatured')
    expect(missed).toContain('views')
    for (const read of [
      'notFeatured',
      'namesIn1',
      'cheapestTwo',
      'firstTwo',
      'countIn1',
    ] as const) {
      expect(missed).not.toContain(read)
    }
    // Its reviews went too (a cascade): not product 1's count of them.
    expect(missed).not.toContain('reviewCountOf1')
  })

  it("a child created under one parent reaches that parent's reads of its children only", async () => {
    const missed = await changed((p) =>
      p.review.create({ data: { productId: 1, userId: 3, rating: 5, body: 'new' } }),
    )
    expect(missed).toEqual(['reviewCountOf1', 'reviewedBy3', 'reviewsOf1'])
  })

  it("a child moved to another parent reaches both parents' lists of children", async () => {
    const missed = await changed((p) =>
      p.review.update({ where: { id: 1 }, data: { productId: 2 } }),
    )
    expect(missed).toContain('reviewsOf1')
    expect(missed).toContain('reviewsOf2')
    expect(missed).toContain('reviewCountOf1')
    expect(missed).toContain('reviewCountOf2')
    expect(missed).not.toContain('full1')
  })
})

describe('custom tags', () => {
  const shop = useCachedShop('precision_custom_tags', { redis: true })

  it('a read declaring tags is reached by them even if the same query was cached without', async () => {
    const plain = (p: P) => p.product.findMany({ where: { featured: true }, select: name, ...byId })
    const tagged = (p: P) =>
      p.product.findMany({
        where: { featured: true },
        select: name,
        cacheStrategy: { ttl: 60, tags: ['featured'] },
      })
    await plain(shop.prisma)
    await tagged(shop.prisma)
    expect(await cacheStatus(shop.prisma, tagged)).toBe('hit')
    await shop.prisma.$cache.invalidate({ tags: ['featured'] })
    expect(await cacheStatus(shop.prisma, tagged)).toBe('miss')
    expect(await cacheStatus(shop.prisma, plain)).toBe('hit')
  })
})

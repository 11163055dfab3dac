import { describe, expect, it } from 'vitest'
import { type CachedRead, cacheStatus } from '../support/precision.js'
import { comparable, type LongLivedClient, useCachedShop } from '../support/shop-fixture.js'

/**
 * Models with more than one unique key (`User`: `id` and `email`; `Product`: `id` and `sku`;
 * `Review`: `id` and `@@unique([productId, userId])`). Reads name a row by the key they were
 * asked with, or by the first key for the rows of a list; a write may name the same row by
 * another key only. Every form of write by a non-primary key must still leave each cached read
 * equal to the database.
 */

const shop = useCachedShop('unique_keys')

type P = LongLivedClient
const EMAIL = 'user1@shop.test'
const PAIR = { productId: 1, userId: 2 } // review 1
const READS = {
  userById: (p: P) => p.user.findUnique({ where: { id: 1 } }),
  userByEmail: (p: P) => p.user.findUnique({ where: { email: EMAIL } }),
  nameByEmail: (p: P) => p.user.findUnique({ where: { email: EMAIL }, select: { name: true } }),
  nameById: (p: P) => p.user.findUnique({ where: { id: 1 }, select: { name: true, role: true } }),
  usersByEmail: (p: P) => p.user.findMany({ where: { email: EMAIL } }),
  namesByEmails: (p: P) =>
    p.user.findMany({
      where: { email: { in: [EMAIL, 'user2@shop.test'] } },
      select: { name: true },
      orderBy: { id: 'asc' },
    }),
  userNames: (p: P) =>
    p.user.findMany({ select: { id: true, name: true }, orderBy: { id: 'asc' } }),
  usersWithReviews: (p: P) =>
    p.user.findMany({ include: { reviews: { orderBy: { id: 'asc' } } }, orderBy: { id: 'asc' } }),
  productBySku: (p: P) => p.product.findUnique({ where: { sku: 'SKU-1' }, select: { name: true } }),
  productById: (p: P) => p.product.findUnique({ where: { id: 1 } }),
  productsBySku: (p: P) =>
    p.product.findMany({ where: { sku: 'SKU-1' }, select: { id: true, name: true } }),
  reviewByPair: (p: P) => p.review.findUnique({ where: { productId_userId: PAIR } }),
  reviewById: (p: P) => p.review.findUnique({ where: { id: 1 }, select: { body: true } }),
  reviewsOfProduct: (p: P) =>
    p.product.findUnique({
      where: { id: 1 },
      select: { reviews: { select: { body: true, rating: true } } },
    }),
} satisfies Record<string, CachedRead>

/** Caches every read, runs `write`, and checks each read through the cache equals the database. */
async function expectFresh(write: (p: P) => Promise<unknown>): Promise<void> {
  const reads = Object.entries(READS) as [string, CachedRead][]
  for (const [, read] of reads) await read(shop.prisma)
  for (const [name, read] of reads) {
    expect(await cacheStatus(shop.prisma, read), `${name} before the write`).toBe('hit')
  }
  await write(shop.prisma)
  for (const [name, read] of reads) {
    const run = read as unknown as (p: P) => Promise<unknown>
    const truth = comparable(await run(shop.base as unknown as P))
    expect(comparable(await run(shop.prisma)), name).toEqual(truth)
  }
}

const renamed = { name: 'Renamed' }
const WRITES: [string, (p: P) => Promise<unknown>][] = [
  ['updateMany by email', (p) => p.user.updateMany({ where: { email: EMAIL }, data: renamed })],
  [
    'updateMany by email { equals }',
    (p) => p.user.updateMany({ where: { email: { equals: EMAIL } }, data: renamed }),
  ],
  [
    'updateMany by email { in }',
    (p) => p.user.updateMany({ where: { email: { in: [EMAIL] } }, data: renamed }),
  ],
  [
    'updateMany by id',
    (p) => p.user.updateMany({ where: { id: 1 }, data: { role: 'ADMIN', ...renamed } }),
  ],
  [
    'updateManyAndReturn by email',
    (p) =>
      p.user.updateManyAndReturn({
        where: { email: EMAIL },
        data: renamed,
        select: { name: true },
      }),
  ],
  ['update by email', (p) => p.user.update({ where: { email: EMAIL }, data: renamed })],
  [
    'update by email with a narrow select',
    (p) => p.user.update({ where: { email: EMAIL }, data: renamed, select: { role: true } }),
  ],
  [
    'update of the email by email',
    (p) => p.user.update({ where: { email: EMAIL }, data: { email: 'new@shop.test' } }),
  ],
  [
    'updateMany of the email by id',
    (p) => p.user.updateMany({ where: { id: 1 }, data: { email: 'new@shop.test' } }),
  ],
  [
    'upsert by email',
    (p) =>
      p.user.upsert({
        where: { email: EMAIL },
        update: renamed,
        create: { email: EMAIL, name: 'Created' },
      }),
  ],
  ['delete by email', (p) => p.user.delete({ where: { email: EMAIL } })],
  ['deleteMany by email', (p) => p.user.deleteMany({ where: { email: EMAIL } })],
  ['updateMany by sku', (p) => p.product.updateMany({ where: { sku: 'SKU-1' }, data: renamed })],
  [
    'update by sku',
    (p) => p.product.update({ where: { sku: 'SKU-1' }, data: renamed, select: { id: true } }),
  ],
  [
    'deleteMany by sku',
    async (p) => {
      await shop.base.orderItem.deleteMany({ where: { productId: 1 } }) // no read sees them
      return p.product.deleteMany({ where: { sku: 'SKU-1' } })
    },
  ],
  [
    'updateMany by the fields of a compound key',
    (p) => p.review.updateMany({ where: PAIR, data: { body: 'changed' } }),
  ],
  [
    'update by a compound key',
    (p) => p.review.update({ where: { productId_userId: PAIR }, data: { body: 'changed' } }),
  ],
  ['delete by a compound key', (p) => p.review.delete({ where: { productId_userId: PAIR } })],
  ['deleteMany by the fields of a compound key', (p) => p.review.deleteMany({ where: PAIR })],
  [
    'a nested update by a compound key under a user found by email',
    (p) =>
      p.user.update({
        where: { email: 'user2@shop.test' },
        data: { reviews: { update: { where: { productId_userId: PAIR }, data: { rating: 1 } } } },
      }),
  ],
  [
    'a nested delete by a compound key',
    (p) =>
      p.product.update({
        where: { sku: 'SKU-1' },
        data: { reviews: { delete: { productId_userId: PAIR } } },
      }),
  ],
  [
    'a nested updateMany by user',
    (p) =>
      p.product.update({
        where: { id: 1 },
        data: { reviews: { updateMany: { where: { userId: 2 }, data: { body: 'x' } } } },
      }),
  ],
]

describe('writes by a unique key other than the primary key', () => {
  it.each(WRITES)('%s leaves every cached read equal to the database', async (_name, write) => {
    await expectFresh(write)
  })

  it('updateMany pinned by the key, computing a value its filter names, reaches the new value', async () => {
    const read = (p: P) => p.inventory.findMany({ where: { stock: 6 } })
    expect(await read(shop.prisma)).toEqual([])
    await shop.prisma.inventory.updateMany({
      where: { productId: 1, stock: 5 },
      data: { stock: { increment: 1 } },
    })
    expect(await read(shop.prisma)).toMatchObject([{ productId: 1, stock: 6 }])
  })

  it('a write returning the row keeps the reads of other rows cached', async () => {
    const other = (p: P) => p.user.findUnique({ where: { email: 'user2@shop.test' } })
    const otherById = (p: P) => p.user.findUnique({ where: { id: 2 } })
    await other(shop.prisma)
    await otherById(shop.prisma)
    await shop.prisma.user.update({ where: { email: EMAIL }, data: renamed })
    expect(await cacheStatus(shop.prisma, other)).toBe('hit')
    expect(await cacheStatus(shop.prisma, otherById)).toBe('hit')
  })
})

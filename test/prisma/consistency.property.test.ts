import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PrismaClient } from '../../prisma/generated/client.js'
import {
  comparable,
  type LongLivedClient,
  resetShop,
  useCachedShop,
} from '../support/shop-fixture.js'
import { WriteTally } from '../support/write-tally.js'

/**
 * The checker of guarantee 1 through Prisma: random sequences of reads and writes (nested writes,
 * cascades, unique-key changes, relation changes, raw SQL, transactions that commit or roll back)
 * run through the cached client; after every write, every read through the cache must equal the
 * same read on an uncached client, i.e. the database. TTLs are an hour, so only invalidation can
 * keep the cache right. The run must see the cache answer (hits), and a control run whose writes
 * bypass the extension must make the same checker fail.
 */

const shop = useCachedShop('consistency', { reset: false })
let truth: PrismaClient

beforeAll(() => {
  truth = shop.db.client()
})

afterAll(async () => {
  await truth?.$disconnect()
})

const reset = () => resetShop(shop.db, truth, shop.cache)
type Cached = LongLivedClient

// Few ids: operations meet on the same records often, which is where invalidation is tested.
const id = fc.integer({ min: 1, max: 4 })
const small = fc.integer({ min: 1, max: 3 })

/** A read, run the same way on both clients (the uncached one typed as the cached one). */
type Read = (p: Cached) => Promise<unknown>

const reads: fc.Arbitrary<{ name: string; run: Read }>[] = [
  id.map((n) => ({ name: `product ${n}`, run: (p) => p.product.findUnique({ where: { id: n } }) })),
  id.map((n) => ({
    name: `product SKU-${n}`,
    run: (p) => p.product.findUnique({ where: { sku: `SKU-${n}` } }),
  })),
  id.map((n) => ({
    name: `product ${n} with relations`,
    run: (p) =>
      p.product.findUnique({
        where: { id: n },
        include: {
          category: true,
          tags: { orderBy: { id: 'asc' } },
          inventory: true,
          reviews: { orderBy: { id: 'asc' } },
          _count: { select: { orderItems: true } },
        },
      }),
  })),
  fc.constantFrom('audio', 'cables', 'video').map((slug) => ({
    name: `products in ${slug}`,
    run: (p) =>
      p.product.findMany({ where: { category: { is: { slug } } }, orderBy: { id: 'asc' } }),
  })),
  fc.constant({
    name: 'products tagged sale',
    run: (p: Cached) =>
      p.product.findMany({
        where: { tags: { some: { name: 'sale' } } },
        orderBy: { id: 'asc' },
        select: { id: true, name: true },
      }),
  }),
  fc.constant({
    name: 'products by category name',
    run: (p: Cached) =>
      p.product.findMany({
        orderBy: [{ category: { name: 'asc' } }, { id: 'asc' }],
        select: { id: true, categoryId: true },
      }),
  }),
  small.map((n) => ({
    name: `category ${n} tree`,
    run: (p) =>
      p.category.findUnique({
        where: { id: n },
        include: {
          products: { orderBy: { id: 'asc' } },
          children: { orderBy: { id: 'asc' } },
          _count: true,
        },
      }),
  })),
  fc.constantFrom('audio', 'cables', 'video').map((slug) => ({
    name: `category ${slug}`,
    run: (p) => p.category.findUnique({ where: { slug } }),
  })),
  fc.constant({
    name: 'featured count and price stats',
    run: async (p: Cached) => [
      await p.product.count({ where: { featured: true } }),
      await p.product.aggregate({ _sum: { viewCount: true }, _max: { price: true } }),
    ],
  }),
  fc.constant({
    name: 'reviews per product',
    run: (p: Cached) =>
      p.review.groupBy({ by: ['productId'], _count: true, orderBy: { productId: 'asc' } }),
  }),
  small.map((n) => ({
    name: `user${n} with orders`,
    run: (p) =>
      p.user.findUnique({
        where: { email: `user${n}@shop.test` },
        include: {
          orders: {
            orderBy: { id: 'asc' },
            include: {
              items: {
                orderBy: { productId: 'asc' },
                include: { product: { select: { name: true } } },
              },
            },
          },
        },
      }),
  })),
  fc.tuple(id, small).map(([productId, userId]) => ({
    name: `review ${productId}/${userId}`,
    run: (p) => p.review.findUnique({ where: { productId_userId: { productId, userId } } }),
  })),
  id.map((n) => ({
    name: `inventory ${n}`,
    run: (p) => p.inventory.findUnique({ where: { productId: n } }),
  })),
  id.map((n) => ({
    name: `product SKU-${n} with its stock`,
    run: (p) =>
      p.product.findUnique({
        where: { sku: `SKU-${n}` },
        select: { name: true, inventory: { select: { stock: true } } },
      }),
  })),
  fc.constant({
    name: 'tags with products',
    run: (p: Cached) =>
      p.tag.findMany({
        orderBy: { id: 'asc' },
        include: { products: { orderBy: { id: 'asc' }, select: { id: true } } },
      }),
  }),
  fc.constant({
    name: 'orders of featured products',
    run: (p: Cached) =>
      p.order.findMany({
        orderBy: { id: 'asc' },
        where: { items: { some: { product: { is: { featured: true } } } } },
      }),
  }),
  fc.constant({
    name: 'first user without reviews',
    run: (p: Cached) =>
      p.user.findFirst({ where: { reviews: { none: {} } }, orderBy: { id: 'asc' } }),
  }),
  small.map((n) => ({
    name: `category ${n} products (fluent)`,
    // The fluent API works at run time; its relation methods are not in the extension's types.
    run: (p) =>
      (
        p.category.findUnique({ where: { id: n } }) as unknown as {
          products(args: object): Promise<unknown>
        }
      ).products({ orderBy: { id: 'asc' } }),
  })),
  id.map((n) => ({
    name: `product ${n} or throw`,
    run: (p) => p.product.findUniqueOrThrow({ where: { id: n }, select: { name: true } }),
  })),
]

type Write = (p: Cached) => Promise<unknown>
/** What a transaction throws to roll itself back. */
const ROLL_BACK = 'roll back'
let serial = 0
const unique = () => `${Date.now().toString(36)}-${++serial}`

const writes: fc.Arbitrary<{ name: string; run: Write }>[] = [
  fc.tuple(id, fc.integer({ min: 1, max: 99 })).map(([n, x]) => ({
    name: `price of ${n}`,
    run: (p) => p.product.update({ where: { id: n }, data: { price: `${x}.25`, name: `P${x}` } }),
  })),
  id.map((n) => ({
    name: `sku of SKU-${n}`,
    run: (p) => p.product.update({ where: { sku: `SKU-${n}` }, data: { sku: `SKU-${n + 10}` } }),
  })),
  fc.tuple(id, fc.option(small, { nil: undefined })).map(([n, c]) => ({
    name: `category of ${n} -> ${c}`,
    run: (p) =>
      p.product.update({
        where: { id: n },
        data: { category: c === undefined ? { disconnect: true } : { connect: { id: c } } },
      }),
  })),
  fc.tuple(id, small, fc.constantFrom('set', 'connect', 'disconnect')).map(([n, t, op]) => ({
    name: `tags of ${n}: ${op} ${t}`,
    run: (p) => p.product.update({ where: { id: n }, data: { tags: { [op]: [{ id: t }] } } }),
  })),
  fc.tuple(small, fc.boolean()).map(([c, b]) => ({
    name: `featured=${b} in category ${c}`,
    run: (p) => p.product.updateMany({ where: { categoryId: c }, data: { featured: b } }),
  })),
  small.map((c) => ({
    name: `new product in ${c}`,
    run: (p) =>
      p.product.create({
        data: {
          sku: `NEW-${unique()}`,
          name: 'New',
          price: '1.00',
          category: { connect: { id: c } },
          inventory: { create: { stock: 3 } },
          tags: { connectOrCreate: { where: { name: 'sale' }, create: { name: 'sale' } } },
        },
      }),
  })),
  id.map((n) => ({
    name: `delete product ${n}`,
    run: (p) => p.product.delete({ where: { id: n } }),
  })),
  small.map((n) => ({
    name: `delete category ${n}`,
    run: (p) => p.category.delete({ where: { id: n } }),
  })),
  small.map((n) => ({
    name: `views of category ${n}'s products`,
    run: (p) =>
      p.category.update({
        where: { id: n },
        data: { products: { updateMany: { where: {}, data: { viewCount: { increment: 1 } } } } },
      }),
  })),
  small.map((n) => ({
    name: `email of user ${n}`,
    run: (p) => p.user.update({ where: { id: n }, data: { email: `user${n + 3}@shop.test` } }),
  })),
  small.map((n) => ({ name: `delete user ${n}`, run: (p) => p.user.delete({ where: { id: n } }) })),
  fc.tuple(small, id).map(([u, n]) => ({
    name: `order by ${u} of ${n}`,
    run: (p) =>
      p.order.create({
        data: {
          user: { connect: { id: u } },
          totalCents: 100,
          items: { create: [{ productId: n, quantity: 2, priceCents: 50 }] },
        },
      }),
  })),
  fc.tuple(id, small, fc.integer({ min: 1, max: 5 })).map(([productId, userId, rating]) => ({
    name: `review ${productId}/${userId} = ${rating}`,
    run: (p) =>
      p.review.upsert({
        where: { productId_userId: { productId, userId } },
        create: { productId, userId, rating, body: 'upserted' },
        update: { rating },
      }),
  })),
  fc.constant({
    name: 'delete low reviews',
    run: (p: Cached) => p.review.deleteMany({ where: { rating: { lt: 3 } } }),
  }),
  id.map((n) => ({
    name: `stock of ${n} - 1`,
    run: (p) =>
      p.product.update({
        where: { id: n },
        data: { inventory: { update: { stock: { decrement: 1 } } } },
      }),
  })),
  id.map((n) => ({
    name: `delete inventory ${n}`,
    run: (p) => p.inventory.delete({ where: { productId: n } }),
  })),
  id.map((n) => ({
    name: `create inventory ${n}`,
    run: (p) => p.inventory.create({ data: { productId: n, stock: 7 } }),
  })),
  id.map((n) => ({
    name: `createMany inventory ${n}`,
    run: (p) =>
      p.inventory.createMany({ data: [{ productId: n, stock: 8 }], skipDuplicates: true }),
  })),
  id.map((n) => ({
    name: `upsert the inventory of product ${n}`,
    run: (p) =>
      p.product.update({
        where: { id: n },
        data: { inventory: { upsert: { create: { stock: 9 }, update: { stock: 10 } } } },
      }),
  })),
  id.map((n) => ({
    name: `nested create of the inventory of product ${n}`,
    run: (p) =>
      p.product.update({ where: { id: n }, data: { inventory: { create: { stock: 11 } } } }),
  })),
  fc.tuple(small, fc.constantFrom('new', 'sale', 'gold', 'blue')).map(([t, name]) => ({
    name: `tag ${t} named ${name}`,
    run: (p) => p.tag.update({ where: { id: t }, data: { name } }),
  })),
  small.map((t) => ({ name: `delete tag ${t}`, run: (p) => p.tag.delete({ where: { id: t } }) })),
  id.map((n) => ({
    name: `raw: views of ${n}`,
    run: (p) =>
      p.$executeRaw`UPDATE "Product" SET "viewCount" = "viewCount" + 1, "price" = "price" + 1 WHERE id = ${n}`,
  })),
  id.map((n) => ({
    name: `raw: delete reviews of ${n}`,
    run: (p) => p.$executeRawUnsafe('DELETE FROM "Review" WHERE "productId" = $1', n),
  })),
  fc.tuple(id, small).map(([n, u]) => ({
    name: `transaction: price, stock, review of ${n}`,
    run: (p) =>
      p.$transaction(async (tx) => {
        await tx.product.update({ where: { id: n }, data: { price: '5.55' } })
        await tx.inventory.updateMany({ where: { productId: n }, data: { stock: 0 } })
        await tx.review.create({ data: { productId: n, userId: u, rating: 5, body: 'tx' } })
      }),
  })),
  fc.tuple(id, small).map(([n, c]) => ({
    name: `batch: product ${n}, category ${c}`,
    run: (p) =>
      p.$transaction([
        p.product.update({ where: { id: n }, data: { name: 'batched' } }),
        p.category.update({ where: { id: c }, data: { name: 'Batched' } }),
      ]),
  })),
  id.map((n) => ({
    name: `rolled back transaction on ${n}`,
    run: (p) =>
      p.$transaction(async (tx) => {
        await tx.product.update({ where: { id: n }, data: { name: 'never' } })
        throw new Error(ROLL_BACK)
      }),
  })),
  fc.tuple(id, small).map(([n, u]) => ({
    name: `reviews of ${n}: create by ${u}, delete others`,
    run: (p) =>
      p.product.update({
        where: { id: n },
        data: {
          reviews: {
            deleteMany: { userId: { not: u } },
            create: { userId: u, rating: 4, body: 'nested' },
          },
        },
      }),
  })),
  fc.tuple(small, small).map(([c, parent]) => ({
    name: `category ${c} under ${parent}`,
    run: (p) =>
      p.category.update({ where: { id: c }, data: { parent: { connect: { id: parent } } } }),
  })),
  id.map((n) => ({
    name: `order 1 drops item ${n}`,
    run: (p) =>
      p.order.update({
        where: { id: 1 },
        data: { items: { delete: { orderId_productId: { orderId: 1, productId: n } } } },
      }),
  })),
  small.map((u) => ({
    name: `bodies of user ${u}'s reviews`,
    run: (p) =>
      p.user.update({
        where: { id: u },
        data: { reviews: { updateMany: { where: {}, data: { body: 'edited' } } } },
      }),
  })),
]

type Command =
  | { kind: 'read'; name: string; run: Read }
  | { kind: 'write'; name: string; run: Write }

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 3, arbitrary: fc.oneof(...reads).map((r) => ({ kind: 'read' as const, ...r })) },
  { weight: 1, arbitrary: fc.oneof(...writes).map((w) => ({ kind: 'write' as const, ...w })) },
)

/** A read's outcome, errors included (both clients must fail alike). */
async function outcome(run: () => Promise<unknown>): Promise<unknown> {
  try {
    return { ok: comparable(await run()) }
  } catch (error) {
    return { error: (error as { code?: string }).code ?? (error as Error).message }
  }
}

describe('Prisma reads stay equal to the database through any writes (model-based)', () => {
  it('every cached read equals the uncached read after each write', async () => {
    let checkedReads = 0
    const tally = new WriteTally([ROLL_BACK])
    const hitsBefore = shop.cache.getMetrics().hits
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 10, maxLength: 40 }), async (commands) => {
        await reset()
        const log: string[] = []
        for (const c of commands) {
          log.push(`${c.kind} ${c.name}`)
          if (c.kind === 'write') {
            // The database may refuse it (constraints); any other failure fails the run.
            await tally.run(() => c.run(shop.prisma))
            continue
          }
          // The read is asked twice through the cache (the second may be a hit), then of the truth.
          const first = await outcome(() => c.run(shop.prisma))
          const second = await outcome(() => c.run(shop.prisma))
          const expected = await outcome(() => c.run(truth as unknown as Cached))
          checkedReads++
          expect(first, log.join('\n')).toEqual(expected)
          expect(second, log.join('\n')).toEqual(expected)
        }
      }),
      { numRuns: 25, endOnFailure: true },
    )
    expect(checkedReads).toBeGreaterThan(200)
    // Not vacuous: the cache answered a good share of the reads, and the database changed under
    // it (writes it refused leave nothing to invalidate).
    expect(shop.cache.getMetrics().hits - hitsBefore).toBeGreaterThan(checkedReads / 2)
    console.info(`consistency: ${checkedReads} reads checked; ${tally}`)
    expect(tally.applied, String(tally)).toBeGreaterThan(tally.total / 2)
  }, 180_000)

  it('control: the same checker fails when writes bypass the extension', async () => {
    // Writes through the uncached client are invisible to the cache: stale reads must be found.
    const result = await fc.check(
      fc.asyncProperty(fc.array(command, { minLength: 10, maxLength: 40 }), async (commands) => {
        await reset()
        for (const c of commands) {
          if (c.kind === 'write') {
            await c.run(shop.base as unknown as Cached).catch(() => undefined)
            continue
          }
          await c.run(shop.prisma).catch(() => undefined)
          expect(await outcome(() => c.run(shop.prisma))).toEqual(
            await outcome(() => c.run(truth as unknown as Cached)),
          )
        }
      }),
      { numRuns: 25 },
    )
    expect(result.failed).toBe(true)
  }, 180_000)
})

import fc from 'fast-check'
import type { LongLivedClient } from './shop-fixture.js'

/**
 * Commands of the precision checker (`precision.property.test.ts`) on models with more
 * than one unique key (`Product`: `id` and `sku`, `User`: `id` and `email`, `Review`: `id` and
 * `productId_userId`) and on a model with one (`Inventory`): reads by one key, writes pinned by
 * another, by a compound key, or by the fields of one in a filter. Few rows, and reads by id
 * weighted up, so that a read and a write of the same row by another key meet in most runs.
 */

type Op = (p: LongLivedClient) => Promise<unknown>
type Command = fc.MaybeWeightedArbitrary<{ name: string; run: Op }>

const product = fc.integer({ min: 1, max: 2 })
const user = fc.integer({ min: 1, max: 2 })
const sku = (n: number) => `SKU-${n}`
const email = (u: number) => `user${u}@shop.test`

export const uniqueKeyReads: Command[] = [
  {
    weight: 3,
    arbitrary: product.map((n) => ({
      name: `product ${n}`,
      run: (p: LongLivedClient) =>
        p.product.findUnique({ where: { id: n }, select: { viewCount: true, featured: true } }),
    })),
  },
  {
    weight: 3,
    arbitrary: user.map((u) => ({
      name: `user ${u}`,
      run: (p: LongLivedClient) => p.user.findUnique({ where: { id: u }, select: { name: true } }),
    })),
  },
  product.map((n) => ({
    name: `product ${sku(n)}`,
    run: (p) =>
      p.product.findUnique({ where: { sku: sku(n) }, select: { name: true, viewCount: true } }),
  })),
  user.map((u) => ({
    name: `user ${email(u)}`,
    run: (p) => p.user.findUnique({ where: { email: email(u) } }),
  })),
  fc.constant({
    name: 'names of SKU-1, SKU-2',
    run: (p: LongLivedClient) =>
      p.product.findMany({
        where: { sku: { in: [sku(1), sku(2)] } },
        select: { name: true },
        orderBy: { id: 'asc' },
      }),
  }),
  fc.tuple(product, user).map(([n, u]) => ({
    name: `review of ${n} by ${u}`,
    run: (p) =>
      p.review.findUnique({
        where: { productId_userId: { productId: n, userId: u } },
        select: { rating: true },
      }),
  })),
  fc.integer({ min: 5, max: 7 }).map((stock) => ({
    name: `stock ${stock}`,
    run: (p) => p.inventory.findMany({ where: { stock }, orderBy: { productId: 'asc' } }),
  })),
]

export const uniqueKeyWrites: Command[] = [
  {
    weight: 2,
    arbitrary: product.map((n) => ({
      name: `views of ${sku(n)} + 1 (updateMany)`,
      run: (p: LongLivedClient) =>
        p.product.updateMany({ where: { sku: sku(n) }, data: { viewCount: { increment: 1 } } }),
    })),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(user, fc.constantFrom('A', 'B')).map(([u, name]) => ({
      name: `name of ${email(u)} = ${name} (updateMany)`,
      run: (p: LongLivedClient) =>
        p.user.updateMany({ where: { email: email(u) }, data: { name } }),
    })),
  },
  user.map((u) => ({
    name: `delete ${email(u)} (deleteMany)`,
    run: (p) => p.user.deleteMany({ where: { email: email(u) } }),
  })),
  fc.tuple(product, fc.boolean()).map(([n, b]) => ({
    name: `featured of ${sku(n)} = ${b}`,
    run: (p) => p.product.update({ where: { sku: sku(n) }, data: { featured: b } }),
  })),
  fc.tuple(product, user, fc.integer({ min: 1, max: 5 })).map(([n, u, rating]) => ({
    name: `rating of review of ${n} by ${u} = ${rating} (updateMany)`,
    run: (p) => p.review.updateMany({ where: { productId: n, userId: u }, data: { rating } }),
  })),
  fc.tuple(product, user).map(([n, u]) => ({
    name: `delete review of ${n} by ${u}`,
    run: (p) => p.review.delete({ where: { productId_userId: { productId: n, userId: u } } }),
  })),
  // A filter naming the value the write computes a new one from.
  fc.tuple(product, fc.integer({ min: 5, max: 6 })).map(([n, stock]) => ({
    name: `stock of ${n} + 1 if ${stock} (updateMany)`,
    run: (p) =>
      p.inventory.updateMany({ where: { productId: n, stock }, data: { stock: { increment: 1 } } }),
  })),
]

/**
 * Placing an order: one interactive transaction checks the user and the products, takes the
 * stock, and writes the order with its items. If anything is missing or short it throws, the
 * transaction rolls back and nothing has changed; the extension applies the invalidations of the
 * writes only once the transaction has committed. The transaction runs under stratacache's
 * `TransactionManager`: a deadlock or serialization failure between concurrent orders is run
 * again (a missing product or short stock is not).
 */
import { z } from 'zod'
import { Prisma } from '../../../prisma/generated/client.js'
import type { TransactionManager } from '../../../src/database/index.js'
import type { ShopPrisma, ShopTransaction } from '../cached-client.js'
import { HttpError, type Router } from '../http.js'
import { parseInput } from '../validation.js'
import { idField, wholeNumber } from './schemas.js'

const orderRequest = z.strictObject({
  userId: idField,
  items: z
    .array(
      z.strictObject({
        productId: idField,
        quantity: wholeNumber(1, 100),
      }),
    )
    .min(1, 'must list at least one item')
    .max(50, 'must list at most 50 items')
    .superRefine((items, ctx) => {
      const seen = new Set<number>()
      for (const [index, { productId }] of items.entries()) {
        if (seen.has(productId)) {
          ctx.addIssue({
            code: 'custom',
            path: [index, 'productId'],
            message: `product ${productId} is listed twice; give its total quantity once`,
          })
        }
        seen.add(productId)
      }
    }),
})

type OrderRequest = z.output<typeof orderRequest>

interface Shortage {
  readonly productId: number
  readonly requested: number
  readonly available: number
}

export function registerOrderRoutes(
  router: Router,
  transactions: TransactionManager<ShopPrisma>,
): void {
  router.post('/orders', async (request) => {
    const order = parseInput(orderRequest, await request.json(), 'body')
    const result = await transactions.execute((tx) => placeOrder(tx, order), { name: 'placeOrder' })
    if (!result.success) throw result.error
    return { status: 201, body: result.data }
  })
}

async function placeOrder(tx: ShopTransaction, { userId, items }: OrderRequest) {
  const user = await tx.user.findUnique({ where: { id: userId }, select: { id: true } })
  if (!user) {
    throw new HttpError(404, 'not_found', `user ${userId} does not exist`, {
      details: { field: 'body.userId' },
    })
  }
  const lines = await priceLines(tx, items)
  const short = await takeStock(tx, items)
  // Thrown inside the transaction: the stock taken for the other items is given back.
  if (short.length > 0) throw await insufficientStock(tx, short)
  return tx.order.create({
    data: {
      userId,
      totalCents: lines.reduce((sum, line) => sum + line.priceCents * line.quantity, 0),
      items: { create: lines },
    },
    include: { items: { orderBy: { productId: 'asc' } } },
  })
}

/** The order's lines at today's prices; a 404 naming the item if a product is not for sale. */
async function priceLines(tx: ShopTransaction, items: OrderRequest['items']) {
  const products = await tx.product.findMany({
    where: { id: { in: items.map((item) => item.productId) } },
    select: { id: true, price: true, isActive: true },
  })
  const productById = new Map(products.map((product) => [product.id, product]))
  return items.map(({ productId, quantity }, index) => {
    const product = productById.get(productId)
    if (!product?.isActive) {
      throw new HttpError(
        404,
        'not_found',
        `product ${productId} does not exist or is not for sale`,
        {
          details: { field: `body.items[${index}].productId` },
        },
      )
    }
    // Prices have two decimals: in cents they are exact integers.
    return { productId, quantity, priceCents: product.price.mul(100).toNumber() }
  })
}

/**
 * Takes each item's quantity from the stock; returns the items there was not enough of.
 *
 * `stock >= quantity` is checked by the UPDATE itself, under the row's lock, so two orders racing
 * for the last unit cannot both get it (a read, then a write, would let them). Rows are taken in
 * product id order: two orders sharing products lock them in the same order and cannot deadlock.
 * An `update` by the unique `productId` (with the stock condition beside it), not an `updateMany`
 * by a filter: the cache then knows which inventory row changed and invalidates the reads of
 * that product only, where a filter would reach every read of any product's stock.
 */
async function takeStock(tx: ShopTransaction, items: OrderRequest['items']) {
  const short: OrderRequest['items'] = []
  for (const item of [...items].sort((a, b) => a.productId - b.productId)) {
    try {
      await tx.inventory.update({
        where: { productId: item.productId, stock: { gte: item.quantity } },
        data: { stock: { decrement: item.quantity } },
        select: { productId: true },
      })
    } catch (error) {
      // No row matched: the product has no inventory, or not enough of it.
      if (!(error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2025'))
        throw error
      short.push(item)
    }
  }
  return short
}

/** The 409 for items short of stock, with what is left of each. */
async function insufficientStock(tx: ShopTransaction, short: OrderRequest['items']) {
  const stock = await tx.inventory.findMany({
    where: { productId: { in: short.map((item) => item.productId) } },
    select: { productId: true, stock: true },
  })
  const left = new Map(stock.map((row) => [row.productId, row.stock]))
  const shortages: Shortage[] = short.map(({ productId, quantity }) => ({
    productId,
    requested: quantity,
    available: left.get(productId) ?? 0,
  }))
  const summary = shortages
    .map((s) => `product ${s.productId}: ${s.requested} requested, ${s.available} left`)
    .join('; ')
  return new HttpError(409, 'insufficient_stock', `not enough stock (${summary})`, {
    details: { shortages },
  })
}

/**
 * The shop the Prisma scenarios read and write: 50 categories, 200 users, 10 000 products, each
 * with its inventory row and 2 reviews, inserted with `createMany` in chunks.
 *
 * Product i belongs to category i mod 50, so the first page of every category (20 products by
 * id) holds 1000 distinct products: these are the "hot" products that the scenarios read by id,
 * so that reads by id and page reads meet on the same rows (what a write must invalidate).
 */
import type { PrismaClient } from '../../prisma/generated/client.js'

export const CATEGORIES = 50
export const USERS = 200
export const PRODUCTS = 10_000
export const REVIEWS_PER_PRODUCT = 2
/** Rows per page read (`take`). */
export const PAGE_SIZE = 20
/** The stock every inventory row starts with. */
export const INITIAL_STOCK = 100

const CHUNK = 2_500
const WORDS = ['Ergonomic', 'Rustic', 'Sleek', 'Handmade', 'Refined', 'Practical', 'Compact']
const NOUNS = ['Chair', 'Lamp', 'Desk', 'Kettle', 'Backpack', 'Keyboard', 'Bottle', 'Jacket']

export interface ShopSeed {
  categoryIds: number[]
  userIds: number[]
  /** Every product id, ascending. */
  productIds: number[]
  /** The first page of each category, by category id: ids ascending. */
  pages: Map<number, number[]>
  /** The products of every first page (1000), in category then id order. */
  hotProductIds: number[]
  counts: Record<string, number>
  seedMs: number
}

export async function seedShop(prisma: PrismaClient): Promise<ShopSeed> {
  const started = performance.now()
  await prisma.category.createMany({
    data: Array.from({ length: CATEGORIES }, (_, i) => ({
      name: `Category ${i}`,
      slug: `category-${i}`,
    })),
  })
  const categoryIds = (
    await prisma.category.findMany({ select: { id: true }, orderBy: { id: 'asc' } })
  ).map((c) => c.id)

  await prisma.user.createMany({
    data: Array.from({ length: USERS }, (_, i) => ({
      email: `user${i}@example.com`,
      name: `User ${i}`,
    })),
  })
  const userIds = (
    await prisma.user.findMany({ select: { id: true }, orderBy: { id: 'asc' } })
  ).map((u) => u.id)

  await inChunks(PRODUCTS, (from, to) =>
    prisma.product.createMany({
      data: range(from, to).map((i) => ({
        sku: `SKU-${String(i).padStart(6, '0')}`,
        name: `${WORDS[i % WORDS.length]} ${NOUNS[i % NOUNS.length]} ${i}`,
        description: `${WORDS[(i * 3) % WORDS.length]} and durable; ships in 2-3 days. Item ${i} of the catalogue.`,
        price: `${5 + ((i * 37) % 500)}.99`,
        featured: i % 25 === 0,
        categoryId: categoryIds[i % CATEGORIES]!,
      })),
    }),
  )
  const productIds = (
    await prisma.product.findMany({ select: { id: true }, orderBy: { id: 'asc' } })
  ).map((p) => p.id)

  await inChunks(productIds.length, (from, to) =>
    prisma.inventory.createMany({
      data: range(from, to).map((i) => ({
        productId: productIds[i]!,
        stock: INITIAL_STOCK,
        reserved: i % 5,
      })),
    }),
  )
  // Two different users per product ((i*7 + k*13) mod 200 differ for k = 0, 1): the pair is unique.
  await inChunks(productIds.length, (from, to) =>
    prisma.review.createMany({
      data: range(from, to).flatMap((i) =>
        range(0, REVIEWS_PER_PRODUCT).map((k) => ({
          productId: productIds[i]!,
          userId: userIds[(i * 7 + k * 13) % USERS]!,
          rating: 1 + ((i + k) % 5),
          body: `Review ${k} of product ${i}: solid, as described.`,
        })),
      ),
    }),
  )

  const pages = new Map<number, number[]>()
  for (const categoryId of categoryIds) {
    const page = await prisma.product.findMany({
      where: { categoryId, isActive: true },
      take: PAGE_SIZE,
      orderBy: { id: 'asc' },
      select: { id: true },
    })
    pages.set(
      categoryId,
      page.map((p) => p.id),
    )
  }
  return {
    categoryIds,
    userIds,
    productIds,
    pages,
    hotProductIds: [...pages.values()].flat(),
    counts: {
      categories: categoryIds.length,
      users: userIds.length,
      products: productIds.length,
      inventory: productIds.length,
      reviews: productIds.length * REVIEWS_PER_PRODUCT,
    },
    seedMs: Math.round(performance.now() - started),
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i)
}

async function inChunks(
  count: number,
  insert: (from: number, to: number) => PromiseLike<unknown>,
): Promise<void> {
  for (let from = 0; from < count; from += CHUNK) await insert(from, Math.min(count, from + CHUNK))
}

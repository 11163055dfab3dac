/**
 * Products: the list with filters, search, the detail page, and price or stock updates.
 *
 * The reads carry no caching code: the `withCache` extension caches them by their arguments, and
 * the update below invalidates them, so a GET after a PATCH shows the new price at once.
 */
import { z } from 'zod'
import { Prisma } from '../../../prisma/generated/client.js'
import { combineCacheStatus, readWithCacheStatus } from '../cache-info.js'
import type { ShopPrisma } from '../cached-client.js'
import { HttpError, type Router } from '../http.js'
import { parseInput, queryObject } from '../validation.js'
import { pageQuery, pageWindow, paginated } from './pagination.js'
import { pathWithId, priceField, textNumber, wholeNumber } from './schemas.js'

/** The orders `sort=` offers. Each ends on the id, so rows that tie keep one order across pages. */
const SORTS = {
  newest: [{ createdAt: 'desc' }, { id: 'desc' }],
  price_asc: [{ price: 'asc' }, { id: 'asc' }],
  price_desc: [{ price: 'desc' }, { id: 'asc' }],
  name: [{ name: 'asc' }, { id: 'asc' }],
  popular: [{ viewCount: 'desc' }, { id: 'asc' }],
} satisfies Record<string, Prisma.ProductOrderByWithRelationInput[]>

const listQuery = z
  .strictObject({
    ...pageQuery,
    category: z
      .string()
      .regex(/^[a-z0-9-]+$/, 'must be a category slug, e.g. audio')
      .optional(),
    minPrice: textNumber().nonnegative('must not be negative').optional(),
    maxPrice: textNumber().nonnegative('must not be negative').optional(),
    featured: z.enum(['true', 'false']).optional(),
    sort: z.enum(Object.keys(SORTS) as [keyof typeof SORTS]).default('newest'),
  })
  .refine((q) => q.minPrice === undefined || q.maxPrice === undefined || q.minPrice <= q.maxPrice, {
    path: ['maxPrice'],
    message: 'must not be below minPrice',
  })

const searchQuery = z.strictObject({
  ...pageQuery,
  q: z.string().trim().min(2, 'must have at least 2 characters').max(100),
})

const productUpdate = z
  .strictObject({
    price: priceField.optional(),
    stock: wholeNumber(0, 1_000_000).optional(),
  })
  .refine((body) => body.price !== undefined || body.stock !== undefined, {
    message: 'give price, stock or both',
  })

/** What a list shows of a product. */
const LIST_FIELDS = {
  id: true,
  sku: true,
  name: true,
  price: true,
  featured: true,
  category: { select: { slug: true, name: true } },
  inventory: { select: { stock: true } },
} satisfies Prisma.ProductSelect

/**
 * The detail page: the product, its category, tags and its five latest reviews. Its stock is read
 * on its own (`STOCK`): orders change it all the time, and they should not invalidate the rest.
 */
const DETAIL = {
  category: { select: { id: true, slug: true, name: true } },
  tags: { select: { name: true }, orderBy: { name: 'asc' } },
  reviews: {
    take: 5,
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    select: {
      id: true,
      rating: true,
      body: true,
      createdAt: true,
      user: { select: { id: true, name: true } },
    },
  },
} satisfies Prisma.ProductInclude

const STOCK = { stock: true, reserved: true, updatedAt: true } satisfies Prisma.InventorySelect

/**
 * Searches scan three text columns with ILIKE, the costliest reads here, and their many distinct
 * queries are seldom repeated within the 10 s of hot data: keep them a minute, and serve a stale
 * one for 30 s more while it refreshes. Writes still invalidate them immediately; the tag lets
 * `prisma.$cache.invalidate({ tags: ['search'] })` drop them all at once.
 */
const SEARCH_CACHING = { ttl: 60, swr: 30, tags: ['search'] }

export function registerProductRoutes(router: Router, prisma: ShopPrisma): void {
  router.get('/products', async ({ query }) => {
    const input = parseInput(listQuery, queryObject(query), 'query')
    const where: Prisma.ProductWhereInput = {
      isActive: true,
      ...(input.featured !== undefined && { featured: input.featured === 'true' }),
      ...((input.minPrice !== undefined || input.maxPrice !== undefined) && {
        price: { gte: input.minPrice, lte: input.maxPrice },
      }),
      // A top-level slug (audio) takes in its subcategories (headphones, speakers...).
      ...(input.category !== undefined && {
        category: { OR: [{ slug: input.category }, { parent: { slug: input.category } }] },
      }),
    }
    const [rows, total] = await Promise.all([
      readWithCacheStatus(
        prisma.product.findMany({
          where,
          select: LIST_FIELDS,
          orderBy: SORTS[input.sort],
          ...pageWindow(input),
        }),
      ),
      readWithCacheStatus(prisma.product.count({ where })),
    ])
    return {
      body: paginated(rows.data.map(toListItem), total.data, input),
      cache: combineCacheStatus(rows.cacheStatus, total.cacheStatus),
    }
  })

  // Before /products/:id, which would otherwise take "search" for an id.
  router.get('/products/search', async ({ query }) => {
    const input = parseInput(searchQuery, queryObject(query), 'query')
    const contains = { contains: input.q, mode: 'insensitive' } as const
    const where: Prisma.ProductWhereInput = {
      isActive: true,
      OR: [{ name: contains }, { description: contains }, { sku: contains }],
    }
    const [rows, total] = await Promise.all([
      readWithCacheStatus(
        prisma.product.findMany({
          where,
          select: LIST_FIELDS,
          orderBy: SORTS.popular,
          ...pageWindow(input),
          cacheStrategy: SEARCH_CACHING,
        }),
      ),
      readWithCacheStatus(prisma.product.count({ where, cacheStrategy: SEARCH_CACHING })),
    ])
    return {
      body: { query: input.q, ...paginated(rows.data.map(toListItem), total.data, input) },
      cache: combineCacheStatus(rows.cacheStatus, total.cacheStatus),
    }
  })

  router.get('/products/:id', async ({ params }) => {
    const { id } = parseInput(pathWithId, params, 'path')
    const [product, inventory, rating] = await Promise.all([
      readWithCacheStatus(prisma.product.findUnique({ where: { id }, include: DETAIL })),
      readWithCacheStatus(prisma.inventory.findUnique({ where: { productId: id }, select: STOCK })),
      readWithCacheStatus(
        prisma.review.aggregate({ where: { productId: id }, _avg: { rating: true }, _count: true }),
      ),
    ])
    if (!product.data) throw productNotFound(id)
    const average = rating.data._avg.rating
    return {
      body: {
        ...product.data,
        price: priceText(product.data.price),
        inventory: inventory.data,
        tags: product.data.tags.map((tag) => tag.name),
        rating: {
          average: average === null ? null : Math.round(average * 10) / 10,
          count: rating.data._count,
        },
      },
      cache: combineCacheStatus(product.cacheStatus, inventory.cacheStatus, rating.cacheStatus),
    }
  })

  router.patch('/products/:id', async (request) => {
    const { id } = parseInput(pathWithId, request.params, 'path')
    const { price, stock } = parseInput(productUpdate, await request.json(), 'body')
    try {
      // One statement for both fields: a price and a stock sent together change together.
      const product = await prisma.product.update({
        where: { id },
        data: {
          ...(price !== undefined && { price }),
          ...(stock !== undefined && {
            inventory: { upsert: { create: { stock }, update: { stock } } },
          }),
        },
        include: { inventory: { select: STOCK } },
      })
      return { body: { ...product, price: priceText(product.price) } }
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2025') {
        throw productNotFound(id)
      }
      throw error
    }
  })
}

function toListItem({
  inventory,
  ...product
}: Prisma.ProductGetPayload<{ select: typeof LIST_FIELDS }>) {
  return { ...product, price: priceText(product.price), stock: inventory?.stock ?? 0 }
}

/**
 * Prices go out as strings with two decimals ("11.50"): exact, unlike a JSON number, and written
 * as the DECIMAL(10, 2) column holds them, unlike Decimal's own JSON ("11.5").
 */
function priceText(price: Prisma.Decimal): string {
  return price.toFixed(2)
}

function productNotFound(id: number): HttpError {
  return new HttpError(404, 'not_found', `product ${id} does not exist`)
}

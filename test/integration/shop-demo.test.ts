/**
 * The shop demo (examples/shop) through real HTTP, on a PostgreSQL schema of its own with a small
 * seed: every endpoint checked against what SQL says. The embedded default (PGlite, no
 * DATABASE_URL) is in shop-demo-pglite.test.ts.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { QueryResultRow } from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createShopApp } from '../../examples/shop/app.js'
import { seedShop } from '../../examples/shop/seed.js'
import type { PrismaClient } from '../../prisma/generated/client.js'
import { CacheManager } from '../../src/index.js'
import { createTestDatabase, type TestDatabase } from '../support/database.js'
import { client, type Index, type ProductDetail, type ProductPage } from '../support/shop-http.js'

describe('shop demo on PostgreSQL', () => {
  let db: TestDatabase
  let prisma: PrismaClient
  let cache: CacheManager
  let server: Server
  let base = ''
  const call = client(() => base)

  // What SQL says, behind the service's back.
  const rows = async <T extends QueryResultRow>(text: string, params: unknown[] = []) =>
    (await db.pool.query<T>(text, params)).rows
  /** `text` selects `count(*)::int AS n`. */
  const count = async (text: string, params: unknown[] = []) =>
    (await rows<{ n: number }>(text, params))[0]?.n ?? 0
  /** `text` selects `id`s. */
  const ids = async (text: string, params: unknown[] = []) =>
    (await rows<{ id: number }>(text, params)).map((row) => row.id)
  const stockOf = async (productId: number) =>
    (
      await rows<{ stock: number }>('SELECT stock FROM "Inventory" WHERE "productId" = $1', [
        productId,
      ])
    )[0]?.stock

  beforeAll(async () => {
    db = await createTestDatabase('shop_demo')
    prisma = db.client()
    await seedShop(prisma, { products: 300 })
    cache = new CacheManager()
    server = createServer(createShopApp({ prisma, cache }).listener)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  }, 60_000)

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve))
    await cache?.close()
    await prisma?.$disconnect()
    await db?.drop()
  })

  it('lists active products by page, with the numbers that go with it', async () => {
    const active = await count('SELECT count(*)::int AS n FROM "Product" WHERE "isActive"')
    const page = await call<ProductPage>('GET', '/products?page=2&pageSize=7')
    expect(page.status).toBe(200)
    expect(page.body).toMatchObject({
      total: active,
      page: 2,
      pageSize: 7,
      totalPages: Math.ceil(active / 7),
      hasNextPage: true,
      hasPreviousPage: true,
    })
    const newest = await ids(
      'SELECT id FROM "Product" WHERE "isActive" ORDER BY "createdAt" DESC, id DESC OFFSET 7 LIMIT 7',
    )
    expect(page.body.data.map((product) => product.id)).toEqual(newest)
    expect(page.body.data[0]?.price).toMatch(/^\d+\.\d\d$/)

    const last = await call<ProductPage>(
      'GET',
      `/products?page=${Math.ceil(active / 7)}&pageSize=7`,
    )
    expect(last.body.hasNextPage).toBe(false)
    expect(last.body.data).toHaveLength(active % 7 || 7)
  })

  it('filters by category (a parent takes in its children), price range and featured', async () => {
    const audio = await count(
      `SELECT count(*)::int AS n FROM "Product" p JOIN "Category" c ON c.id = p."categoryId"
       LEFT JOIN "Category" parent ON parent.id = c."parentId"
       WHERE p."isActive" AND (c.slug = 'audio' OR parent.slug = 'audio')`,
    )
    const byCategory = await call<ProductPage>('GET', '/products?category=audio&pageSize=100')
    expect(byCategory.body.total).toBe(audio)
    for (const product of byCategory.body.data) {
      expect(['headphones', 'speakers', 'microphones']).toContain(product.category.slug)
    }

    const inRange = await call<ProductPage>(
      'GET',
      '/products?minPrice=20&maxPrice=60&sort=price_asc&pageSize=100',
    )
    const prices = inRange.body.data.map((product) => Number(product.price))
    expect(prices.every((price) => price >= 20 && price <= 60)).toBe(true)
    expect(prices).toEqual([...prices].sort((a, b) => a - b))
    expect(inRange.body.total).toBe(
      await count(
        'SELECT count(*)::int AS n FROM "Product" WHERE "isActive" AND price BETWEEN 20 AND 60',
      ),
    )

    const featured = await call<ProductPage>('GET', '/products?featured=true&pageSize=100')
    expect(featured.body.total).toBe(
      await count('SELECT count(*)::int AS n FROM "Product" WHERE "isActive" AND featured'),
    )
    expect(featured.body.data.every((product) => product.featured)).toBe(true)
  })

  it('searches name, description and SKU without regard to case', async () => {
    const matching = (fragment: string) =>
      count(
        `SELECT count(*)::int AS n FROM "Product" WHERE "isActive"
         AND (name ILIKE $1 OR description ILIKE $1 OR sku ILIKE $1)`,
        [`%${fragment}%`],
      )
    const byBrand = await call<ProductPage>('GET', '/products/search?q=NIMBUS&pageSize=100')
    expect(byBrand.status).toBe(200)
    expect(byBrand.body.total).toBe(await matching('nimbus'))
    expect(byBrand.body.total).toBeGreaterThan(0)
    const bySku = await call<ProductPage>('GET', '/products/search?q=lap-0')
    expect(bySku.body.total).toBe(await matching('lap-0'))

    const tooShort = await call('GET', '/products/search?q=a')
    expect(tooShort.status).toBe(400)
    expect(tooShort.body.issues[0]?.field).toBe('query.q')
  })

  it('shows a product with its category, stock and 5 latest reviews, from the cache the second time', async () => {
    const [productId = 0] = await ids(
      'SELECT "productId" AS id FROM "Review" GROUP BY "productId" HAVING count(*) >= 6 LIMIT 1',
    )
    const first = await call<ProductDetail>('GET', `/products/${productId}`)
    expect(first.status).toBe(200)
    expect(first.cache).toBe('miss')
    expect(first.body.reviews.map((review) => review.id)).toEqual(
      await ids(
        'SELECT id FROM "Review" WHERE "productId" = $1 ORDER BY "createdAt" DESC, id DESC LIMIT 5',
        [productId],
      ),
    )
    expect(first.body.reviews[0]?.user.name).toEqual(expect.any(String))
    expect(first.body.rating.count).toBe(
      await count('SELECT count(*)::int AS n FROM "Review" WHERE "productId" = $1', [productId]),
    )
    expect(first.body.category.slug).toEqual(expect.any(String))
    expect(first.body.inventory.stock).toBe(await stockOf(productId))

    const second = await call<ProductDetail>('GET', `/products/${productId}`)
    expect(second.cache).toBe('hit')
    expect(second.body).toEqual(first.body)

    expect((await call('GET', '/products/999999')).status).toBe(404)
    expect((await call('GET', '/products/abc')).body.issues[0]?.field).toBe('path.id')
  })

  it('shows a new price right after PATCH (read-your-writes through the cache)', async () => {
    await call('GET', '/products/7')
    expect((await call('GET', '/products/7')).cache).toBe('hit')
    await call('GET', '/products?sort=price_desc&pageSize=100')

    const patched = await call<ProductDetail>('PATCH', '/products/7', {
      price: '12345.60',
      stock: 44,
    })
    expect(patched.status).toBe(200)
    expect(patched.body.price).toBe('12345.60')

    const after = await call<ProductDetail>('GET', '/products/7')
    expect(after.body.price).toBe('12345.60')
    expect(after.body.inventory.stock).toBe(44)
    const list = await call<ProductPage>('GET', '/products?sort=price_desc&pageSize=100')
    expect(list.body.data.find((product) => product.id === 7)?.price).toBe('12345.60')

    const empty = await call('PATCH', '/products/7', {})
    expect(empty.status).toBe(400)
    expect(empty.body.issues[0]?.field).toBe('body')
    const badPrice = await call('PATCH', '/products/7', { price: 1.234 })
    expect(badPrice.body.issues[0]?.field).toBe('body.price')
    expect((await call('PATCH', '/products/999999', { stock: 1 })).status).toBe(404)
  })

  it('places an order in a transaction that takes the stock', async () => {
    const [product] = await rows<{ id: number; price: string }>(
      `SELECT p.id, p.price FROM "Product" p JOIN "Inventory" i ON i."productId" = p.id
       WHERE p."isActive" AND i.stock >= 3 ORDER BY p.id LIMIT 1`,
    )
    if (!product) throw new Error('the seed has no product with 3 units in stock')
    const before = (await stockOf(product.id)) ?? 0
    await call('GET', `/products/${product.id}`) // cached before the order...

    const order = await call('POST', '/orders', {
      userId: 2,
      items: [{ productId: product.id, quantity: 2 }],
    })
    expect(order.status).toBe(201)
    expect(order.body).toMatchObject({
      userId: 2,
      totalCents: Math.round(Number(product.price) * 100) * 2,
      items: [{ productId: product.id, quantity: 2 }],
    })
    expect(await stockOf(product.id)).toBe(before - 2)
    // ...and the stock shown afterwards is the new one.
    const shown = await call<ProductDetail>('GET', `/products/${product.id}`)
    expect(shown.body.inventory.stock).toBe(before - 2)
  })

  it('refuses an order with too little stock (409) and changes nothing', async () => {
    // From the end of the catalog, away from the products the other tests change; a before b.
    const [a = 0, b = 0] = (
      await ids(
        `SELECT p.id FROM "Product" p JOIN "Inventory" i ON i."productId" = p.id
         WHERE p."isActive" AND i.stock BETWEEN 1 AND 100 ORDER BY p.id DESC LIMIT 2`,
      )
    ).reverse()
    const stockA = (await stockOf(a)) ?? 0
    const stockB = (await stockOf(b)) ?? 0
    const orders = await count('SELECT count(*)::int AS n FROM "Order"')

    const refused = await call('POST', '/orders', {
      userId: 3,
      items: [
        { productId: a, quantity: 1 },
        { productId: b, quantity: stockB + 1 },
      ],
    })
    expect(refused.status).toBe(409)
    expect(refused.body).toMatchObject({
      error: 'insufficient_stock',
      shortages: [{ productId: b, requested: stockB + 1, available: stockB }],
    })
    expect(await stockOf(a)).toBe(stockA) // a's unit, taken first, was given back
    expect(await stockOf(b)).toBe(stockB)
    expect(await count('SELECT count(*)::int AS n FROM "Order"')).toBe(orders)
    const shown = await call<ProductDetail>('GET', `/products/${a}`)
    expect(shown.body.inventory.stock).toBe(stockA)

    const noUser = await call('POST', '/orders', {
      userId: 999999,
      items: [{ productId: a, quantity: 1 }],
    })
    expect(noUser.status).toBe(404)
  })

  it('sells the last units once when orders race for them', async () => {
    await call('PATCH', '/products/11', { stock: 3 })
    const replies = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        call('POST', '/orders', { userId: i + 1, items: [{ productId: 11, quantity: 1 }] }),
      ),
    )
    expect(replies.map((reply) => reply.status).sort()).toEqual([201, 201, 201, 409, 409, 409])
    expect(await stockOf(11)).toBe(0)
  })

  it('answers malformed and invalid input with a 400 that names the problem', async () => {
    const malformed = await call('POST', '/orders', undefined, '{"userId": 1, "items": [')
    expect(malformed.status).toBe(400)
    expect(malformed.body.error).toBe('invalid_json')
    expect(malformed.body.message).toContain('not valid JSON')

    const invalid = await call('POST', '/orders', {
      userId: 'one',
      items: [{ productId: 1, quantity: 0 }],
      coupon: 'FREE',
    })
    expect(invalid.status).toBe(400)
    expect(invalid.body.issues.map((issue) => issue.field)).toEqual([
      'body.userId',
      'body.items[0].quantity',
      'body.coupon',
    ])
    const badQuery = await call('GET', '/products?pageSize=500&sort=cheapest')
    expect(badQuery.body.issues.map((issue) => issue.field)).toEqual([
      'query.pageSize',
      'query.sort',
    ])
    expect((await call('GET', '/nowhere')).status).toBe(404)
    expect((await call('DELETE', '/products/1')).status).toBe(405)
  })

  it('serves the index, the categories and the statistics', async () => {
    const index = await call<Index>('GET', '/')
    expect(index.body.endpoints.map((endpoint) => endpoint.path)).toContain('/products/search')
    const categories = await call<{ slug: string; children: unknown[] }[]>('GET', '/categories')
    expect(categories.body[0]).toMatchObject({ slug: 'audio', children: expect.any(Array) })
    const stats = await call<{
      cache: { hits: number }
      transactions: { total: number; successful: number; failed: number; retried: number }
    }>('GET', '/stats')
    expect(stats.status).toBe(200)
    expect(stats.body.cache.hits).toBeGreaterThan(0)
    // The orders above, through the TransactionManager: refusals (409, 404) are failures, not retried.
    const { total, successful, failed } = stats.body.transactions
    expect(successful).toBeGreaterThanOrEqual(4)
    expect(failed).toBeGreaterThanOrEqual(4)
    expect(total).toBe(successful + failed)
  })

  it('mounts the operations endpoints under /ops, and says what each request cost', async () => {
    const product = await fetch(`${base}/products/7`)
    expect(Number(product.headers.get('x-db-queries'))).toBeGreaterThanOrEqual(0)
    expect(product.headers.get('x-cache-hits')).not.toBeNull()
    const health = await call<{ status: string }>('GET', '/ops/health/db')
    expect(health).toMatchObject({ status: 200, body: { status: 'healthy' } })
    const dashboard = await fetch(`${base}/ops/dashboard`)
    expect(dashboard.headers.get('content-type')).toMatch(/^text\/html/)
    const metrics = await fetch(`${base}/ops/metrics`)
    expect(metrics.status).toBe(200)
    expect(await metrics.text()).toMatch(/^stratacache_/m)
    // No admin token given to this app: the admin endpoints stay closed.
    expect((await call('DELETE', '/ops/api/v1/database/cache/clear')).status).toBe(403)
  })
})

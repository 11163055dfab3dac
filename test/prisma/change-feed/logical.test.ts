import { execFile } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CacheManager } from '../../../src/index.js'
import { type CachePromise, withCache } from '../../../src/prisma/index.js'
import { useLogicalPostgres } from '../../support/logical-postgres.js'
import { REDIS_URL, useCaches } from '../../support/redis.js'
import { waitFor } from '../../support/wait.js'

/**
 * The change feed in logical mode, end to end: a PostgreSQL with wal_level = logical, the shared
 * Redis, two app instances (each a Prisma client with withCache over its own CacheManager, one
 * prefix, so one L2 and one bus) both running the feed on one slot: one consumes, one stands by.
 * Writes are made behind the extension's back (psql, a plain Prisma client, a trigger, raw pg)
 * and must reach both instances' cached reads, exactly and once.
 */

const pg = useLogicalPostgres('feed_logical')
const caches = useCaches('feed-logical')
const run = promisify(execFile)

const SLOT = 'feed_logical_test'
const TIMEOUT = { timeoutMs: 15_000 }

function psqlPath(): string {
  const root = '/usr/lib/postgresql'
  const major = readdirSync(root)
    .filter((name) => /^\d+$/.test(name))
    .sort((a, b) => Number(b) - Number(a))[0]
  if (major === undefined) throw new Error(`no PostgreSQL under ${root}`)
  return `${root}/${major}/bin/psql`
}

function newApp(cache: CacheManager) {
  return pg.db.client().$extends(
    withCache({
      cache,
      env: false,
      changeFeed: {
        connectionString: pg.url,
        mode: 'logical',
        slot: SLOT,
        publication: SLOT,
        takeoverInterval: 200,
      },
    }),
  )
}
type App = ReturnType<typeof newApp>

let apps: { prisma: App; cache: CacheManager; name: string }[] = []
let plain: ReturnType<typeof pg.db.client>
let markers = 0

const feedOf = (app: App) => app.$cache.changeFeed!
const consumer = () => apps.find((app) => feedOf(app.prisma).status().role === 'consumer')!
const transactions = () => feedOf(consumer().prisma).status().transactions
const sql = (text: string, values: unknown[] = []) => pg.db.pool.query(text, values)

/**
 * Commits a transaction of a model's table and waits for the consumer to have invalidated it:
 * everything committed before it has been processed by then.
 */
async function marker(): Promise<void> {
  const before = transactions()
  markers++
  await plain.tag.create({ data: { name: `marker-${markers}` } })
  await waitFor(() => transactions() > before, { ...TIMEOUT, what: `marker ${markers}` })
}

/** Reads with `read` on both instances until each answers from its own L1. */
async function cachedOnBoth<T>(read: (prisma: App) => CachePromise<T>): Promise<T[]> {
  const values: T[] = []
  for (const { prisma, name } of apps) {
    // A read right after the first may join its fill, still being stored: an L2 hit.
    const { data, info } = await waitFor(
      async () => {
        const answer = await read(prisma).withCacheInfo()
        return answer.info.cacheStatus === 'miss' ? undefined : answer
      },
      { ...TIMEOUT, what: `a cached read on ${name}` },
    )
    expect(info.cacheStatus, name).toBe('hit')
    if (info.tier !== 'l1') {
      const again = await read(prisma).withCacheInfo()
      expect(again.info, name).toMatchObject({ cacheStatus: 'hit', tier: 'l1' })
    }
    values.push(data)
  }
  return values
}

/** Waits until `read` gives `check`-passing values on both instances. */
async function seenOnBoth<T>(
  read: (prisma: App) => PromiseLike<T>,
  check: (value: T) => boolean,
  what: string,
): Promise<void> {
  for (const { prisma, name } of apps) {
    await waitFor(async () => check(await read(prisma)), { ...TIMEOUT, what: `${what} on ${name}` })
  }
}

/** How `read` is answered now: `hit/l1`, `hit/l2`, `miss/-`. */
async function answerOf<T>(prisma: App, read: (prisma: App) => CachePromise<T>): Promise<string> {
  const { info } = await read(prisma).withCacheInfo()
  return `${info.cacheStatus}/${info.tier ?? '-'}`
}

beforeAll(async () => {
  const prefix = `${caches.base}app:`
  plain = pg.db.client()
  apps = ['a', 'b'].map((name) => {
    const cache = caches.newCache({ redis: REDIS_URL, prefix })
    return { prisma: newApp(cache), cache, name }
  })
  for (const { prisma } of apps) await feedOf(prisma).ready()
  // One consumer, which creates the slot (and invalidates everything once), one standby.
  await waitFor(() => consumer()?.prisma.$cache.stats().changeFeed?.flushes === 1, TIMEOUT)
  for (const { cache } of apps) await waitFor(() => cache.getMetrics().busTrusted, TIMEOUT)
  await marker()
}, 60_000)

// Registered after the fixtures' hooks, so it runs before them: clients first, then caches and
// the server.
afterAll(async () => {
  for (const { prisma } of apps) await prisma.$disconnect()
  await plain?.$disconnect()
})

describe('two instances', () => {
  it('elect one consumer; the other stands by on the same slot', () => {
    const roles = apps.map(({ prisma }) => feedOf(prisma).status().role).sort()
    expect(roles).toEqual(['consumer', 'standby'])
    for (const { prisma } of apps) {
      expect(feedOf(prisma).status()).toMatchObject({ mode: 'logical', slot: SLOT })
    }
    const standby = apps.find((app) => app !== consumer())!
    expect(feedOf(standby.prisma).status().transactions).toBe(0)
  })
})

describe('writes made outside withCache invalidate both instances', () => {
  it('an UPDATE run with the psql binary', async () => {
    const category = await plain.category.create({ data: { name: 'before', slug: 'psql' } })
    await marker()
    const read = (prisma: App) => prisma.category.findUnique({ where: { id: category.id } })
    expect((await cachedOnBoth(read)).map((c) => c?.name)).toEqual(['before', 'before'])

    await run(psqlPath(), [
      pg.directUrl,
      '-v',
      'ON_ERROR_STOP=1',
      '-c',
      `SET search_path TO ${pg.db.schema}; UPDATE "Category" SET name = 'after' WHERE id = ${category.id}`,
    ])
    await seenOnBoth(read, (c) => c?.name === 'after', 'the psql update')
  })

  it('an update through a plain Prisma client', async () => {
    const category = await plain.category.create({ data: { name: 'one', slug: 'plain' } })
    await marker()
    const read = (prisma: App) => prisma.category.findMany({ where: { slug: 'plain' } })
    await cachedOnBoth(read)
    await plain.category.update({ where: { id: category.id }, data: { name: 'two' } })
    await seenOnBoth(read, (rows) => rows[0]?.name === 'two', 'the plain client update')
  })

  it("a trigger's update of another table (a review insert bumps the product's viewCount)", async () => {
    const schema = pg.db.schema
    await sql(`
      CREATE FUNCTION "${schema}".bump_views() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE "${schema}"."Product" SET "viewCount" = "viewCount" + 1 WHERE id = NEW."productId";
        RETURN NEW;
      END $$`)
    await sql(`
      CREATE TRIGGER bump_views AFTER INSERT ON "Review"
      FOR EACH ROW EXECUTE FUNCTION "${schema}".bump_views()`)
    const product = await plain.product.create({
      data: { sku: 'trig-1', name: 'trigger', price: '1.00' },
    })
    const user = await plain.user.create({ data: { email: 'trig@example.com', name: 'r' } })
    await marker()
    const read = (prisma: App) => prisma.product.findUnique({ where: { id: product.id } })
    expect((await cachedOnBoth(read)).map((p) => p?.viewCount)).toEqual([0, 0])

    await plain.review.create({
      data: { productId: product.id, userId: user.id, rating: 5, body: 'good' },
    })
    await seenOnBoth(read, (p) => p?.viewCount === 1, 'the trigger-made update')
  })

  it('TRUNCATE ... CASCADE empties the cached reads of the table and of every table it reached', async () => {
    const category = await plain.category.create({ data: { name: 'c', slug: 'trunc' } })
    const product = await plain.product.create({
      data: { sku: 'trunc-1', name: 'p', price: '2.00', categoryId: category.id },
    })
    await plain.inventory.create({ data: { productId: product.id, stock: 3 } })
    await marker()
    const categories = (prisma: App) => prisma.category.findMany()
    const products = (prisma: App) => prisma.product.findMany()
    const inventory = (prisma: App) =>
      prisma.inventory.findUnique({ where: { productId: product.id } })
    for (const rows of await cachedOnBoth(categories)) expect(rows.length).toBeGreaterThan(0)
    for (const rows of await cachedOnBoth(products)) expect(rows.length).toBeGreaterThan(0)
    expect((await cachedOnBoth(inventory)).map((i) => i?.stock)).toEqual([3, 3])

    await sql('TRUNCATE "Category" CASCADE')
    await seenOnBoth(categories, (rows) => rows.length === 0, 'the truncated categories')
    // Product references Category, Inventory references Product: the cascade emptied both.
    await seenOnBoth(products, (rows) => rows.length === 0, 'the cascaded products')
    await seenOnBoth(inventory, (row) => row === null, 'the cascaded inventory')
  })
})

describe('precision', () => {
  async function twoProducts(sku: string) {
    const [a, b] = await Promise.all(
      [1, 2].map((n) =>
        plain.product.create({ data: { sku: `${sku}-${n}`, name: `p${n}`, price: '1.00' } }),
      ),
    )
    await plain.inventory.createMany({
      data: [a!, b!].map((p) => ({ productId: p.id, stock: 10 })),
    })
    await marker()
    return [a!.id, b!.id] as const
  }

  it('REPLICA IDENTITY FULL: an update of one row leaves cached reads of other rows as hits', async () => {
    await sql('ALTER TABLE "Product" REPLICA IDENTITY FULL')
    try {
      const [changed, other] = await twoProducts('full')
      const readChanged = (prisma: App) => prisma.product.findUnique({ where: { id: changed } })
      const readOther = (prisma: App) => prisma.product.findUnique({ where: { id: other } })
      await cachedOnBoth(readChanged)
      await cachedOnBoth(readOther)

      await sql('UPDATE "Product" SET "viewCount" = 7 WHERE id = $1', [changed])
      await seenOnBoth(readChanged, (p) => p?.viewCount === 7, 'the updated row')
      for (const { prisma, name } of apps) {
        expect(await answerOf(prisma, readOther), name).toBe('hit/l1')
      }
    } finally {
      await sql('ALTER TABLE "Product" REPLICA IDENTITY DEFAULT')
    }
  })

  it('default identity: an update of a Product (second unique key sku) reaches reads of every Product by key', async () => {
    const [changed, other] = await twoProducts('dflt')
    const readChanged = (prisma: App) => prisma.product.findUnique({ where: { id: changed } })
    const readOther = (prisma: App) => prisma.product.findUnique({ where: { id: other } })
    await cachedOnBoth(readChanged)
    await cachedOnBoth(readOther)

    await sql('UPDATE "Product" SET "viewCount" = 7 WHERE id = $1', [changed])
    await seenOnBoth(readChanged, (p) => p?.viewCount === 7, 'the updated row')
    // The old row's sku is not in the change: any row read by key may have been it. The first
    // instance reads it from the database (and caches it again); the other has it no longer in
    // its L1 (it finds the first one's fill in Redis, or reads the database itself).
    const [first, second] = apps
    expect(await answerOf(first!.prisma, readOther)).toBe('miss/-')
    expect(['hit/l2', 'miss/-']).toContain(await answerOf(second!.prisma, readOther))
  })

  it('default identity: an update of an Inventory row (primary key only) leaves other rows as hits', async () => {
    const [changed, other] = await twoProducts('inv')
    const readChanged = (prisma: App) =>
      prisma.inventory.findUnique({ where: { productId: changed } })
    const readOther = (prisma: App) => prisma.inventory.findUnique({ where: { productId: other } })
    await cachedOnBoth(readChanged)
    await cachedOnBoth(readOther)

    await sql('UPDATE "Inventory" SET stock = 4 WHERE "productId" = $1', [changed])
    await seenOnBoth(readChanged, (i) => i?.stock === 4, 'the updated row')
    for (const { prisma, name } of apps) {
      expect(await answerOf(prisma, readOther), name).toBe('hit/l1')
    }
  })
})

describe('what is not committed, or not the schema, invalidates nothing', () => {
  it('a rolled-back transaction: the cached read stays a hit with the old value', async () => {
    const category = await plain.category.create({ data: { name: 'kept', slug: 'rollback' } })
    await marker()
    const read = (prisma: App) => prisma.category.findUnique({ where: { id: category.id } })
    await cachedOnBoth(read)
    const { cache } = consumer()
    const before = { transactions: transactions(), invalidations: cache.getMetrics().invalidations }

    const client = await pg.db.pool.connect()
    try {
      await client.query('BEGIN')
      await client.query(`UPDATE "Category" SET name = 'rolled back' WHERE id = $1`, [category.id])
      await client.query('ROLLBACK')
    } finally {
      client.release()
    }
    await marker()
    // Only the marker came through.
    expect(transactions()).toBe(before.transactions + 1)
    expect(cache.getMetrics().invalidations).toBe(before.invalidations + 1)
    for (const { prisma, name } of apps) {
      const { data, info } = await read(prisma).withCacheInfo()
      expect(info.cacheStatus, name).toBe('hit')
      expect(data?.name, name).toBe('kept')
    }
  })

  it('a table outside the models (published, even one named like a model in another schema)', async () => {
    await sql('CREATE TABLE audit_log (id serial PRIMARY KEY, note text)')
    await sql('CREATE TABLE public."Category" (id int PRIMARY KEY, name text)')
    // In the publication, so the feed does receive their rows and must leave them out itself.
    await sql(`ALTER PUBLICATION ${SLOT} ADD TABLE audit_log, public."Category"`)
    const category = await plain.category.create({ data: { name: 'same', slug: 'outside' } })
    await marker()
    const byId = (prisma: App) => prisma.category.findUnique({ where: { id: category.id } })
    const all = (prisma: App) => prisma.category.findMany({ orderBy: { id: 'asc' } })
    await cachedOnBoth(byId)
    await cachedOnBoth(all)
    const { cache } = consumer()
    const before = { transactions: transactions(), invalidations: cache.getMetrics().invalidations }

    await sql(`INSERT INTO audit_log (note) VALUES ('x')`)
    await sql(`INSERT INTO public."Category" (id, name) VALUES ($1, 'other schema')`, [category.id])
    await sql(`UPDATE public."Category" SET name = 'changed' WHERE id = $1`, [category.id])
    await marker()
    expect(transactions()).toBe(before.transactions + 1)
    expect(cache.getMetrics().invalidations).toBe(before.invalidations + 1)
    for (const { prisma, name } of apps) {
      expect(await answerOf(prisma, byId), name).toBe('hit/l1')
      expect(await answerOf(prisma, all), name).toBe('hit/l1')
    }
  })
})

describe('a bulk transaction', () => {
  it('of 10,000 rows invalidates once, as one transaction, and reaches count and key reads', async () => {
    const count = (prisma: App) => prisma.category.count()
    const bySlug = (prisma: App) => prisma.category.findMany({ where: { slug: 'bulk-5000' } })
    const counts = await cachedOnBoth(count)
    expect(await cachedOnBoth(bySlug)).toEqual([[], []])
    const { cache, prisma } = consumer()
    const before = {
      ...feedOf(prisma).status(),
      invalidations: cache.getMetrics().invalidations,
    }

    const inserted = await sql(`
      INSERT INTO "Category" (name, slug)
      SELECT 'bulk ' || g, 'bulk-' || g FROM generate_series(1, 10000) AS g`)
    expect(inserted.rowCount).toBe(10_000)
    await seenOnBoth(count, (n) => n === counts[0]! + 10_000, 'the bulk count')
    await seenOnBoth(bySlug, (rows) => rows[0]?.name === 'bulk 5000', 'a bulk row by slug')

    const after = feedOf(prisma).status()
    expect(after.transactions).toBe(before.transactions + 1)
    expect(after.rows).toBe(before.rows + 10_000)
    expect(cache.getMetrics().invalidations).toBe(before.invalidations + 1)
    // Nothing more comes of it: a later marker is the next and only transaction.
    await marker()
    expect(transactions()).toBe(before.transactions + 2)
    expect(cache.getMetrics().invalidations).toBe(before.invalidations + 2)
  })
})

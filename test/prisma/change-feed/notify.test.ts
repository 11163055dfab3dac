/**
 * The change feed in notify mode, on the shared PostgreSQL (wal_level = replica): two app
 * instances (a Prisma client each, withCache over its own CacheManager on the shared Redis, one
 * prefix), both with a feed on one channel. Writes made behind Prisma's back (raw `pg`) must reach
 * the cached reads of both instances through the feed's one consumer; a rolled-back transaction
 * and junk sent to the channel must not disturb it; a lost listener and a dead consumer are
 * recovered from; `removeChangeFeed` leaves nothing behind.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PrismaClient } from '../../../prisma/generated/client.js'
import type { CacheManager } from '../../../src/index.js'
import { removeChangeFeed } from '../../../src/prisma/change-feed/admin.js'
import { withCache } from '../../../src/prisma/index.js'
import { createTestDatabase, DATABASE_URL, type TestDatabase } from '../../support/database.js'
import { REDIS_URL, useCaches } from '../../support/redis.js'
import { waitFor } from '../../support/wait.js'

const suffix = randomBytes(4).toString('hex')
const channel = `feed_notify_${suffix}`
const slot = `feed_notify_slot_${suffix}`
const publication = `feed_notify_pub_${suffix}`
const caches = useCaches('feed-notify')
const prefix = `${caches.base}app:`
const long = { ttl: 600 }

interface LogLine {
  level: string
  message: string
}

function extend(base: PrismaClient, cache: CacheManager, changeFeed: object) {
  return base.$extends(
    withCache({
      cache,
      env: false,
      namespace: `feed_${suffix}`,
      // Long enough that no read under test expires while a test waits for its invalidation.
      strategies: { hot: long, aggregation: long, reference: long },
      changeFeed,
    }),
  )
}

type Prisma = ReturnType<typeof extend>

interface App {
  readonly name: string
  readonly base: PrismaClient
  readonly prisma: Prisma
  readonly logs: LogLine[]
}

let db: TestDatabase
let url: string
const apps: App[] = []
const extra: { $disconnect(): Promise<void> }[] = []
let ids: { categories: number[]; tag: number; account: number; product: number; other: number }

async function newApp(name: string, feed: object = {}): Promise<App> {
  const logs: LogLine[] = []
  const line = (level: string) => (_fields: object, message: string) => {
    logs.push({ level, message })
  }
  const cache = caches.newCache({
    redis: REDIS_URL,
    prefix,
    logger: { info: line('info'), warn: line('warn'), error: line('error') },
  })
  await waitFor(() => cache.getMetrics().busTrusted, { what: `${name}'s bus trusted` })
  const base = db.client()
  const prisma = extend(base, cache, {
    connectionString: url,
    channel,
    takeoverInterval: 100,
    ...feed,
  })
  return { name, base, prisma, logs }
}

const status = (app: App) => app.prisma.$cache.changeFeed!.status()
const consumer = () => apps.find((app) => status(app).role === 'consumer')
const totalFlushes = () => apps.reduce((sum, app) => sum + status(app).flushes, 0)

interface Cached<T> {
  withCacheInfo(): Promise<{ data: T; info: { cacheStatus: string } }>
}

/** Reads `query` on each app until it is a cache hit there; returns each app's value. */
async function cachedOn<T>(on: readonly App[], query: (prisma: Prisma) => Cached<T>) {
  const values: T[] = []
  for (const app of on) {
    await query(app.prisma).withCacheInfo()
    const { data, info } = await query(app.prisma).withCacheInfo()
    expect(info.cacheStatus, `${app.name} caches the read`).toBe('hit')
    values.push(data)
  }
  return values
}

/** Waits until `query` on each app returns what `ok` accepts. */
async function seenOn<T>(
  on: readonly App[],
  query: (prisma: Prisma) => Cached<T>,
  ok: (value: T) => boolean,
  what: string,
) {
  for (const app of on) {
    await waitFor(async () => ok((await query(app.prisma).withCacheInfo()).data), {
      timeoutMs: 10_000,
      what: `${what} on ${app.name}`,
    })
  }
}

const account = (prisma: Prisma) => prisma.account.findUnique({ where: { id: ids.account } })

/**
 * A later event: an outside write to the account, waited for until every app reads it. The
 * bus and the feed keep their order, so whatever an earlier write caused has happened by then.
 */
async function marker(on: readonly App[]): Promise<void> {
  const { rows } = await db.pool.query<{ balance: number }>(
    'UPDATE "Account" SET balance = balance + 1 WHERE id = $1 RETURNING balance',
    [ids.account],
  )
  const balance = rows[0]!.balance
  await seenOn(on, account, (row) => row?.balance === balance, `marker balance ${balance}`)
}

beforeAll(async () => {
  db = await createTestDatabase('feed_notify')
  const parsed = new URL(DATABASE_URL)
  parsed.searchParams.set('schema', db.schema)
  url = parsed.href
  const insert = async (sql: string, params: unknown[]) =>
    (await db.pool.query<{ id: number }>(`${sql} RETURNING id`, params)).rows[0]!.id
  const categories: number[] = []
  for (const name of ['one', 'two', 'three']) {
    categories.push(
      await insert('INSERT INTO "Category" (name, slug) VALUES ($1, $1)', [`${name}-${suffix}`]),
    )
  }
  const product = (sku: string) =>
    insert(`INSERT INTO "Product" (sku, name, price, "updatedAt") VALUES ($1, $1, 9.5, now())`, [
      sku,
    ])
  ids = {
    categories,
    tag: await insert('INSERT INTO "Tag" (name) VALUES ($1)', [`tag-${suffix}`]),
    account: await insert('INSERT INTO "Account" (owner, balance) VALUES ($1, 0)', ['marker']),
    product: await product('BIG-1'),
    other: await product('BIG-2'),
  }
  for (const title of ['a', 'b']) await insert('INSERT INTO "Note" (title) VALUES ($1)', [title])
  apps.push(await newApp('A'), await newApp('B'))
  for (const app of apps) await app.prisma.$cache.changeFeed!.ready()
  await waitFor(() => consumer() !== undefined && status(consumer()!).flushes >= 1, {
    timeoutMs: 10_000,
    what: 'a consumer listening',
  })
})

afterAll(async () => {
  for (const client of [...apps.map((app) => app.prisma), ...extra]) {
    await client.$disconnect().catch(() => {})
  }
  if (url !== undefined) {
    await removeChangeFeed({ connectionString: url, channel, schema: db.schema, slot, publication })
  }
  await db?.drop()
})

describe('notify mode on a server without logical replication', () => {
  it('is chosen when no mode is given, says why, and logs it; one instance consumes', async () => {
    for (const app of apps) {
      const feed = status(app)
      expect(feed.mode).toBe('notify')
      expect(feed.reason).toContain('wal_level is replica')
      expect(feed.channel).toBe(channel)
      const warning = app.logs.find(
        (line) => line.level === 'warn' && line.message.includes('notify mode'),
      )
      expect(warning?.message).toContain('wal_level is replica')
    }
    expect(apps.map((app) => status(app).role).sort()).toEqual(['consumer', 'standby'])
  })

  it("mode 'logical' fails: ready() rejects naming wal_level, and the role is failed", async () => {
    const app = await newApp('L', {
      mode: 'logical',
      channel: `${channel}_l`,
      slot: `${slot}_l`,
      publication: `${publication}_l`,
    })
    extra.push(app.prisma)
    await expect(app.prisma.$cache.changeFeed!.ready()).rejects.toThrow(/wal_level is replica/)
    await expect(app.prisma.$cache.changeFeed!.ready()).rejects.toMatchObject({
      name: 'ChangeFeedSetupError',
    })
    expect(status(app)).toMatchObject({ role: 'failed', mode: undefined })
    expect(status(app).reason).toContain('wal_level')
    expect(app.logs.some((line) => line.level === 'error' && /wal_level/.test(line.message))).toBe(
      true,
    )
  })
})

describe('writes made behind Prisma reach both instances', () => {
  it('UPDATE', async () => {
    const id = ids.categories[0]!
    const read = (prisma: Prisma) => prisma.category.findUnique({ where: { id } })
    expect((await cachedOn(apps, read)).map((row) => row?.name)).toEqual([
      `one-${suffix}`,
      `one-${suffix}`,
    ])
    await db.pool.query(`UPDATE "Category" SET name = 'renamed' WHERE id = $1`, [id])
    await seenOn(apps, read, (row) => row?.name === 'renamed', 'the renamed category')
  })

  it('INSERT changes a cached findMany and count', async () => {
    const list = (prisma: Prisma) =>
      prisma.category.findMany({ where: { slug: { endsWith: suffix } }, orderBy: { id: 'asc' } })
    const count = (prisma: Prisma) => prisma.category.count()
    const [before] = await cachedOn(apps, count)
    await cachedOn(apps, list)
    await db.pool.query(`INSERT INTO "Category" (name, slug) VALUES ('four', $1)`, [
      `four-${suffix}`,
    ])
    await seenOn(apps, count, (n) => n === before! + 1, 'the new count')
    await seenOn(apps, list, (rows) => rows.at(-1)?.name === 'four', 'the new row in the list')
  })

  it('DELETE', async () => {
    const read = (prisma: Prisma) => prisma.tag.findUnique({ where: { id: ids.tag } })
    expect((await cachedOn(apps, read)).every((row) => row?.name === `tag-${suffix}`)).toBe(true)
    await db.pool.query('DELETE FROM "Tag" WHERE id = $1', [ids.tag])
    await seenOn(apps, read, (row) => row === null, 'the deleted tag gone')
  })

  it('TRUNCATE', async () => {
    const count = (prisma: Prisma) => prisma.note.count()
    expect(await cachedOn(apps, count)).toEqual([2, 2])
    await db.pool.query('TRUNCATE "Note"')
    await seenOn(apps, count, (n) => n === 0, 'no notes')
  })

  it('a rolled-back transaction invalidates nothing', async () => {
    const id = ids.categories[1]!
    const read = (prisma: Prisma) => prisma.category.findUnique({ where: { id } })
    await cachedOn(apps, read)
    await cachedOn(apps, account)
    const feed = consumer()!
    const before = status(feed)
    const client = await db.pool.connect()
    try {
      await client.query('BEGIN')
      await client.query(`UPDATE "Category" SET name = 'never' WHERE id = $1`, [id])
      await client.query('ROLLBACK')
    } finally {
      client.release()
    }
    await marker(apps)
    // The marker is the one transaction the feed saw since.
    expect(status(feed).transactions).toBe(before.transactions + 1)
    expect(status(feed).rows).toBe(before.rows + 1)
    for (const app of apps) {
      const { data, info } = await read(app.prisma).withCacheInfo()
      expect(info.cacheStatus, app.name).toBe('hit')
      expect(data?.name).toBe(`two-${suffix}`)
    }
  })

  it('a row too big for a notice still invalidates: its whole model', async () => {
    const big = (prisma: Prisma) => prisma.product.findUnique({ where: { id: ids.product } })
    const other = (prisma: Prisma) => prisma.product.findUnique({ where: { id: ids.other } })
    await cachedOn(apps, big)
    await cachedOn(apps, other)
    // pg_notify refuses payloads past 8000 bytes: the UPDATE itself would fail if the trigger
    // sent the row images.
    await db.pool.query(
      `UPDATE "Product" SET name = 'huge', description = repeat('x', 10000) WHERE id = $1`,
      [ids.product],
    )
    await seenOn(apps, big, (row) => row?.description.length === 10_000, 'the long description')
    // The notice named the table only: the other product's read went too, which a row's
    // notice (an update of product BIG-1's name and description) would not have done.
    const feed = consumer()!
    expect((await other(feed.prisma).withCacheInfo()).info.cacheStatus).toBe('miss')
  })
})

describe('junk on the channel', () => {
  it('is ignored: the consumer keeps its listener and invalidates the next write', async () => {
    const feed = consumer()!
    const before = status(feed)
    const flushes = totalFlushes()
    const schema = db.schema
    const junk: string[] = [
      'not json',
      '',
      'null',
      '42',
      '"text"',
      '[]',
      `[${'1,'.repeat(3900)}1]`,
      `{"s":"${schema}","t":"Category","op":"insert","new":[${'"1",'.repeat(1900)}"1"]}`,
      '{"s":1,"t":2,"op":"table"}',
      `{"s":"${schema}","t":"Category"}`,
      `{"s":"${schema}","t":"Category","op":"drop"}`,
      `{"s":"${schema}","t":"Category","op":"update"}`,
      `{"s":"${schema}","t":"Category","op":"update","old":{"id":1},"new":{"id":"1"}}`,
      `{"s":"${schema}","t":"Category","op":"insert","new":{"id":{"x":[1,2]}}}`,
      `{"s":"${schema}","t":"Category","op":"delete","old":null}`,
      `{"s":"${schema}","t":"Category","op":"insert","new":{"id":"1e999","name":null,"__proto__":"x"}}`,
      `{"s":"${schema}","t":"Product","op":"update","old":{"id":"NaN","price":"abc","createdAt":"never"},"new":{"id":"-0","price":"1e9999999","updatedAt":"9999-99-99"}}`,
      '{"s":"nowhere","t":"nothing","op":"table"}',
      '{"s":"nowhere","t":"nothing","op":"delete","old":{"id":"1"}}',
      `{"s":"${'s'.repeat(3000)}","t":"${'t'.repeat(3000)}","op":"table"}`,
    ]
    for (const payload of junk) await db.pool.query('SELECT pg_notify($1, $2)', [channel, payload])
    const id = ids.categories[2]!
    const read = (prisma: Prisma) => prisma.category.findUnique({ where: { id } })
    await cachedOn(apps, read)
    await db.pool.query(`UPDATE "Category" SET name = 'after junk' WHERE id = $1`, [id])
    await seenOn(apps, read, (row) => row?.name === 'after junk', 'the write after the junk')
    const after = status(feed)
    expect(after.role).toBe('consumer')
    expect(after.flushes).toBe(before.flushes) // the listener was never lost
    expect(after.lastError).toBe(before.lastError)
    expect(totalFlushes()).toBe(flushes)
  })
})

describe('recovery', () => {
  it('a killed listener reconnects, invalidates everything, and keeps invalidating', async () => {
    const listen = `LISTEN "${channel}"`
    const id = ids.categories[2]!
    const read = (prisma: Prisma) => prisma.category.findUnique({ where: { id } })
    const list = (prisma: Prisma) => prisma.category.findMany({ orderBy: { id: 'desc' } })
    await cachedOn(apps, read)
    await cachedOn(apps, list)
    const flushes = apps.map((app) => status(app).flushes)
    const killed = consumer()!
    const { rows } = await db.pool.query<{ killed: boolean }>(
      `SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity
        WHERE datname = current_database() AND query = $1 AND pid <> pg_backend_pid()`,
      [listen],
    )
    expect(rows).toEqual([{ killed: true }])
    const flusher = await waitFor(
      () => apps.find((app, i) => status(app).flushes > flushes[i]! && consumer() === app),
      { timeoutMs: 10_000, what: 'a new listener' },
    )
    const other = apps.find((app) => app !== flusher)!
    // Nothing was written: only the flush can have taken the cached reads away. Each instance
    // reads its own one, so that neither fills Redis again for the other.
    expect((await read(flusher.prisma).withCacheInfo()).info.cacheStatus).toBe('miss')
    await waitFor(
      async () => (await list(other.prisma).withCacheInfo()).info.cacheStatus === 'miss',
      { timeoutMs: 10_000, what: `the flush on ${other.name}` },
    )
    expect(flusher.logs.some((line) => line.message.includes('every cached read'))).toBe(true)
    await waitFor(
      () =>
        killed.logs.some((line) => line.level === 'warn' && line.message.includes('interrupted')),
      { what: 'the interruption logged' },
    )
    await cachedOn(apps, read)
    await db.pool.query(`UPDATE "Category" SET name = 'after reconnect' WHERE id = $1`, [id])
    await seenOn(apps, read, (row) => row?.name === 'after reconnect', 'the write after it')
  })

  it('the standby takes over when the consumer disconnects', async () => {
    const gone = consumer()!
    const standby = apps.find((app) => app !== gone)!
    expect(status(standby).role).toBe('standby')
    const flushes = status(standby).flushes
    await gone.prisma.$disconnect()
    expect(status(gone).role).toBe('stopped')
    await waitFor(() => status(standby).role === 'consumer' && status(standby).flushes > flushes, {
      timeoutMs: 10_000,
      what: 'the standby consuming',
    })
    const id = ids.categories[0]!
    const read = (prisma: Prisma) => prisma.category.findUnique({ where: { id } })
    await cachedOn([standby], read)
    await db.pool.query(`UPDATE "Category" SET name = 'after takeover' WHERE id = $1`, [id])
    await seenOn([standby], read, (row) => row?.name === 'after takeover', 'the write')
  })
})

describe('removeChangeFeed', () => {
  it('drops the triggers and their function', async () => {
    for (const app of apps) await app.prisma.$disconnect()
    const installed = async () => {
      const { rows } = await db.pool.query<{ triggers: string[]; functions: number }>(
        `SELECT ARRAY(SELECT c.relname || ':' || t.tgname FROM pg_trigger t
                        JOIN pg_class c ON c.oid = t.tgrelid
                        JOIN pg_namespace n ON n.oid = c.relnamespace
                       WHERE n.nspname = $1 AND t.tgname = ANY($2) ORDER BY 1)::text[] AS triggers,
                (SELECT count(*)::int FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                  WHERE n.nspname = $1 AND p.proname = $3) AS functions`,
        [db.schema, [channel, `${channel}_truncate`], `${channel}_notify`],
      )
      return rows[0]!
    }
    // A row trigger and a truncate trigger on each table the schema's models live in.
    const tables = ['Account', 'Category', 'Inventory', 'Note', 'Order', 'OrderItem', 'Product']
    tables.push('Review', 'Sample', 'Tag', 'User', 'Visit', '_ProductToTag')
    const expected = tables.flatMap((t) => [`${t}:${channel}`, `${t}:${channel}_truncate`])
    const before = await installed()
    expect(before.functions).toBe(1)
    expect([...before.triggers].sort()).toEqual(expected.sort())
    const removed = await removeChangeFeed({
      connectionString: url,
      channel,
      schema: db.schema,
      slot,
      publication,
    })
    expect(removed).toEqual({ slot: false, publication: false })
    expect(await installed()).toEqual({ triggers: [], functions: 0 })
  })
})

/**
 * The change feed as operators see it: its state in Prometheus (`stratacache_change_feed_*`),
 * the operations endpoints and `$cache.stats()`, and `changeFeedStatus` / `removeChangeFeed`,
 * which read and remove it from the database alone. On a PostgreSQL of its own with
 * `wal_level = logical`, so that the slot's lag is a real one.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { PrismaClient } from '../../../prisma/generated/client.js'
import { DatabaseHealthCheck } from '../../../src/database/index.js'
import { createOpsHandler } from '../../../src/http/index.js'
import { createMetricsExporter, type MetricsExporter } from '../../../src/http/prometheus.js'
import { changeFeedStatus, removeChangeFeed, withCache } from '../../../src/prisma/index.js'
import { useLogicalPostgres } from '../../support/logical-postgres.js'
import { scrape } from '../../support/prometheus-fixture.js'
import { delta, sampleOf } from '../../support/prometheus-text.js'
import { REDIS_URL, useCaches } from '../../support/redis.js'
import { waitFor } from '../../support/wait.js'

const pg = useLogicalPostgres('feed_operations')
const caches = useCaches('feed-operations')
const slot = `feed_ops_${randomBytes(4).toString('hex')}`
const names = { slot, publication: slot, channel: slot }

let base: PrismaClient
let prisma: ReturnType<typeof extend>
let exporter: MetricsExporter

function extend(client: PrismaClient) {
  const cache = caches.newCache({ redis: REDIS_URL, prefix: `${caches.base}app:` })
  return client.$extends(
    withCache({ cache, env: false, changeFeed: { connectionString: pg.url, ...names } }),
  )
}

beforeAll(async () => {
  base = pg.db.client()
  prisma = extend(base)
  await prisma.$cache.changeFeed!.ready()
  await waitFor(() => prisma.$cache.changeFeed!.status().role === 'consumer', {
    what: 'the feed to consume',
    timeoutMs: 10_000,
  })
  exporter = await createMetricsExporter({ cache: caches.newCache(), prisma })
})

afterAll(async () => {
  exporter?.close()
  await prisma?.$disconnect()
  await removeChangeFeed({ connectionString: pg.directUrl, ...names }).catch(() => {})
})

/** An outside write the feed alone can see, and its invalidation on this instance. */
async function outsideWrite(): Promise<void> {
  const before = prisma.$cache.changeFeed!.status().transactions
  await pg.db.pool.query(`INSERT INTO "Category" (name, slug) VALUES ('ops', $1)`, [
    randomBytes(6).toString('hex'),
  ])
  await waitFor(() => prisma.$cache.changeFeed!.status().transactions > before, {
    what: 'the feed to invalidate the write',
  })
}

it('exports the feed: consumer, transactions and rows invalidated, lag in bytes and seconds', async () => {
  const first = await scrape(exporter)
  expect(sampleOf(first, 'stratacache_change_feed_consumer')).toBe(1)
  await outsideWrite()
  const second = await scrape(exporter)
  expect(delta(first, second, 'stratacache_change_feed_transactions_total')).toBe(1)
  expect(delta(first, second, 'stratacache_change_feed_rows_total')).toBe(1)
  expect(sampleOf(second, 'stratacache_change_feed_lag_seconds')).toBeGreaterThanOrEqual(0)
  // The slot's lag is polled; once polled it is a number of bytes (0 when caught up).
  await waitFor(() => prisma.$cache.changeFeed!.status().lagBytes !== undefined, {
    what: 'the slot lag polled',
    timeoutMs: 10_000,
  })
  expect(
    sampleOf(await scrape(exporter), 'stratacache_change_feed_lag_bytes'),
  ).toBeGreaterThanOrEqual(0)
})

it('shows the feed in $cache.stats() and the operations endpoints', async () => {
  await outsideWrite()
  const stats = prisma.$cache.stats().changeFeed
  expect(stats).toMatchObject({ mode: 'logical', role: 'consumer', slot })
  expect(stats!.transactions).toBeGreaterThanOrEqual(1)
  const health = new DatabaseHealthCheck(base, { pool: pg.db.pool })
  const adminToken = randomBytes(16).toString('hex')
  const ops = createOpsHandler({ cache: caches.newCache(), prisma, health, adminToken, env: {} })
  for (const path of ['/api/v1/database/status', '/api/performance/stats', '/health/db/detailed']) {
    const headers = { authorization: `Bearer ${adminToken}` }
    const response = await ops.fetch(new Request(`http://ops${path}`, { headers }))
    const body = (await response.json()) as { changeFeed?: unknown }
    expect(body.changeFeed, path).toMatchObject({ mode: 'logical', role: 'consumer', slot })
  }
})

it('reads the slot from the database alone, and removes it with its publication', async () => {
  const seen = await changeFeedStatus({ connectionString: pg.directUrl, ...names })
  expect(seen).toMatchObject({ slot, exists: true, active: true })
  await prisma.$cache.changeFeed!.stop()
  const removed = await removeChangeFeed({ connectionString: pg.directUrl, ...names })
  expect(removed).toEqual({ slot: true, publication: true })
  const slots = await pg.db.pool.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [
    slot,
  ])
  const publications = await pg.db.pool.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [
    slot,
  ])
  expect(slots.rowCount).toBe(0)
  expect(publications.rowCount).toBe(0)
  expect(await changeFeedStatus({ connectionString: pg.directUrl, ...names })).toMatchObject({
    exists: false,
    active: false,
  })
})

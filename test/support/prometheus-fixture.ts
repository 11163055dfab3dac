import { afterAll, beforeAll } from 'vitest'
import type { PrismaClient } from '../../prisma/generated/client.js'
import { DatabaseHealthCheck, TransactionManager } from '../../src/database/index.js'
import { ValidationError } from '../../src/errors.js'
import { createMetricsExporter, type MetricsExporter } from '../../src/http/prometheus.js'
import { CacheManager } from '../../src/index.js'
import { withCache } from '../../src/prisma/index.js'
import { createTestDatabase, type TestDatabase } from './database.js'
import { type Exposition, parseExposition } from './prometheus-text.js'
import { REDIS_URL, uniquePrefix } from './redis.js'
import { resetShop } from './shop-fixture.js'
import { waitFor } from './wait.js'

/** `withCache` with every database call slow (threshold 0) and N+1 only inside query contexts. */
export function extendMeasured(client: PrismaClient, cache: CacheManager) {
  return client.$extends(
    withCache({
      cache,
      env: false,
      metrics: { slowQueryMs: 0, nPlusOne: { threshold: 3, burst: false } },
    }),
  )
}

export interface PrometheusFixture {
  db: TestDatabase
  base: PrismaClient
  /** On Redis under a prefix of its own, its bus trusted before the tests start. */
  cache: CacheManager
  /** Same prefix, no bus and no L1: writes straight into Redis, so `cache` reads them from L2. */
  writer: CacheManager
  prisma: ReturnType<typeof extendMeasured>
  /** On the test schema's pool (`db.pool`, max 4). */
  health: DatabaseHealthCheck
  /** An exporter of `cache`, `prisma`, `health` and a `TransactionManager`, default prefix. */
  exporter: MetricsExporter
  /** Closed in `afterAll`, last first. */
  closing: { close(): unknown }[]
}

/**
 * A test file's exporter over real sources: a PostgreSQL schema of its own with the shop in it,
 * a cache on Redis, a client extended with `withCache`, a health check. Made in `beforeAll`,
 * closed in `afterAll`; read the fields inside tests.
 */
export function usePrometheusFixture(name: string): PrometheusFixture {
  const f = { closing: [] } as unknown as PrometheusFixture
  beforeAll(async () => {
    f.db = await createTestDatabase(name)
    f.base = f.db.client()
    const prefix = uniquePrefix(name)
    f.cache = new CacheManager({ redis: REDIS_URL, prefix })
    f.writer = new CacheManager({ redis: REDIS_URL, prefix, bus: false, local: false })
    f.prisma = extendMeasured(f.base, f.cache)
    await resetShop(f.db, f.base, f.cache)
    f.health = new DatabaseHealthCheck(f.base, { pool: f.db.pool })
    f.exporter = await createMetricsExporter({
      cache: f.cache,
      prisma: f.prisma,
      health: f.health,
      transactions: new TransactionManager(f.base),
    })
    await waitFor(() => f.cache.getMetrics().busTrusted, { what: 'the bus to be trusted' })
  })
  afterAll(async () => {
    f.exporter?.close()
    for (const item of f.closing.splice(0).reverse()) await item.close()
    await f.cache?.clear()
    await f.cache?.close()
    await f.writer?.close()
    await f.base?.$disconnect()
    await f.db?.drop()
  })
  return f
}

/** The parsed exposition of `exporter`. */
export async function scrape(exporter: MetricsExporter): Promise<Exposition> {
  return parseExposition(await exporter.metrics())
}

/** The `ValidationError` `run` rejects with; fails when it resolves or rejects otherwise. */
export function optionError(run: () => Promise<unknown>): Promise<ValidationError> {
  return run().then(
    () => {
      throw new Error('no error thrown')
    },
    (error: unknown) => {
      if (error instanceof ValidationError) return error
      throw error
    },
  )
}

/**
 * The PostgreSQL schema of the Prisma group: one per run, created with the project's migrations
 * (test/support/database.ts), seeded once (seed.ts), shared by every Prisma scenario and dropped
 * when the run ends. Its description is the `prisma` section of the JSON result.
 */
import type { PrismaClient } from '../../prisma/generated/client.js'
import { createTestDatabase, type TestDatabase } from '../../test/support/database.js'
import { SharedResource } from '../shared-resource.js'
import { type ShopSeed, seedShop } from './seed.js'

export interface ShopDatabase {
  readonly seed: ShopSeed
  /** A new Prisma client on the schema (its own pool of 8 connections); the caller disconnects it. */
  client(): PrismaClient
  readonly schema: string
  readonly postgres: string
}

async function open(): Promise<ShopDatabase & { database: TestDatabase }> {
  const database = await createTestDatabase('bench')
  try {
    const prisma = database.client()
    let seed: ShopSeed
    try {
      seed = await seedShop(prisma)
    } finally {
      await prisma.$disconnect()
    }
    // Fresh tables have no statistics yet: without them the planner may scan where it would not.
    await database.pool.query('ANALYZE')
    const version = await database.pool.query('SHOW server_version')
    return {
      database,
      seed,
      schema: database.schema,
      postgres: String(version.rows[0]?.server_version ?? 'unknown'),
      client: () => database.client(),
    }
  } catch (error) {
    await database.drop().catch(() => {})
    throw error
  }
}

export const shopDatabase = new SharedResource<ShopDatabase & { database: TestDatabase }>({
  key: 'prisma',
  open,
  close: (shop) => shop.database.drop(),
  describe: (shop) => ({
    postgres: shop.postgres,
    schema: `${shop.schema} (dropped at the end of the run)`,
    rows: shop.seed.counts,
    hotProducts: shop.seed.hotProductIds.length,
    seedMs: shop.seed.seedMs,
  }),
})

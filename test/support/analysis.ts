import { PrismaPg } from '@prisma/adapter-pg'
import { afterAll, beforeAll, expect } from 'vitest'
import { PrismaClient } from '../../prisma/generated/client.js'
import type { QueryAnalysis } from '../../src/database/analysis/analysis-result.js'
import type {
  MissingIndexRecommendation,
  Recommendation,
} from '../../src/database/analysis/recommendations.js'
import { type CaptureSqlOptions, captureSql } from '../../src/prisma/sql-capture.js'
import { createTestDatabase, type TestDatabase } from './database.js'

/** How many products {@link createAnalysisDatabase} seeds. */
export const PRODUCTS = 30_000
/** For the tests that create an index on {@link PRODUCTS} rows. */
export const INDEX_TEST_TIMEOUT = 30_000

/** A test schema, with the clients and indexes the QueryAnalyzer tests make on it. */
export interface AnalysisDatabase extends TestDatabase {
  /** A client on the test schema whose adapter is wrapped with captureSql. */
  capturedClient(options?: CaptureSqlOptions): PrismaClient
  /**
   * Creates the index as recommended, but without CONCURRENTLY: the same index, while a
   * concurrent build waits for every transaction open in the whole database, other test files'
   * too (tests assert the recommended text, CONCURRENTLY included, before calling this).
   */
  createIndex(recommendation: MissingIndexRecommendation): Promise<void>
  /** Disconnects every client made by `client` and `capturedClient`, then drops the schema. */
  close(): Promise<void>
}

/**
 * A schema of its own (see createTestDatabase), unless `seeded: false` seeded with
 * {@link PRODUCTS} products (1% featured, one row per viewCount value below 30 000 - 20 000, wide
 * descriptions), one user and 20 reviews (one on each of products 1..20), analyzed.
 */
export async function createAnalysisDatabase(
  name: string,
  { seeded = true } = {},
): Promise<AnalysisDatabase> {
  const db = await createTestDatabase(name)
  const clients: { $disconnect(): Promise<void> }[] = []
  if (seeded) await seedAnalysisDatabase(db)
  return {
    ...db,
    client(options) {
      const client = db.client(options)
      clients.push(client)
      return client
    },
    capturedClient(options: CaptureSqlOptions = { withParams: true }) {
      const adapter = new PrismaPg({ ...db.config, max: 4 }, { schema: db.schema })
      const client = new PrismaClient({ adapter: captureSql(adapter, options) })
      clients.push(client)
      return client
    },
    async createIndex(recommendation) {
      const statement = recommendation.statement
      expect(statement).toMatch(/^CREATE INDEX CONCURRENTLY IF NOT EXISTS /)
      await db.pool.query(statement.replace('CREATE INDEX CONCURRENTLY', 'CREATE INDEX'))
      await db.pool.query('ANALYZE "Product"')
    },
    async close() {
      for (const client of clients) await client.$disconnect()
      await db.drop()
    },
  }
}

/** The rows {@link createAnalysisDatabase} describes; drops the schema if seeding fails. */
async function seedAnalysisDatabase(db: TestDatabase): Promise<void> {
  try {
    await db.pool.query(
      `INSERT INTO "Product" (sku, name, description, price, featured, "viewCount", "updatedAt")
       SELECT 'sku-' || i, 'Product ' || i, repeat('d', 400), (i % 500) + 0.99, i % 100 = 0,
              i % 20000, now()
       FROM generate_series(1, ${PRODUCTS}) i`,
    )
    await db.pool.query(`INSERT INTO "User" (email, name) VALUES ('reviewer@x', 'Reviewer')`)
    await db.pool.query(
      `INSERT INTO "Review" ("productId", "userId", rating, body)
       SELECT p, (SELECT id FROM "User"), 5, 'ok' FROM generate_series(1, 20) p`,
    )
    await db.pool.query('ANALYZE')
  } catch (error) {
    await db.drop().catch(() => {})
    throw error
  }
}

/**
 * A test file's analysis database ({@link createAnalysisDatabase}), created in `beforeAll` and
 * closed in `afterAll`. Its members read the database of the moment, so they can be taken apart
 * at the top of the file (`const { capturedClient } = db`) and called inside tests and hooks.
 */
export function useAnalysisDatabase(name: string, { seeded = true } = {}): AnalysisDatabase {
  let db: AnalysisDatabase
  beforeAll(
    async () => {
      db = await createAnalysisDatabase(name, { seeded })
    },
    seeded ? 60_000 : undefined,
  )
  afterAll(async () => {
    await db?.close()
  })
  return {
    get schema() {
      return db.schema
    },
    get config() {
      return db.config
    },
    get pool() {
      return db.pool
    },
    client: (options) => db.client(options),
    capturedClient: (options) => db.capturedClient(options),
    createIndex: (recommendation) => db.createIndex(recommendation),
    drop: () => db.drop(),
    close: () => db.close(),
  }
}

/** The recommendations of `kind` in `analysis`. */
export function ofKind<K extends Recommendation['kind']>(
  analysis: QueryAnalysis,
  kind: K,
): Extract<Recommendation, { kind: K }>[] {
  return analysis.recommendations.filter(
    (r): r is Extract<Recommendation, { kind: K }> => r.kind === kind,
  )
}

/** Each scan node of the plans, as `<node type> <index or ''>`. */
export function scans(analysis: QueryAnalysis): string[] {
  return analysis.statements.flatMap((s) =>
    s.nodes.filter((n) => n.relation !== undefined).map((n) => `${n.nodeType} ${n.index ?? ''}`),
  )
}

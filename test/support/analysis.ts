import { PrismaPg } from '@prisma/adapter-pg'
import { expect } from 'vitest'
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

/** A seeded test schema, with the clients and indexes the QueryAnalyzer tests make on it. */
export interface AnalysisDatabase extends TestDatabase {
  /** A client on the test schema whose adapter is wrapped with captureSql. */
  capturedClient(options?: CaptureSqlOptions): PrismaClient
  /**
   * Creates the index as recommended, but without CONCURRENTLY: the same index, while a
   * concurrent build waits for every transaction open in the whole database, other test files'
   * too (tests assert the recommended text, CONCURRENTLY included, before calling this).
   */
  createIndex(recommendation: MissingIndexRecommendation): Promise<void>
  /** Disconnects every captured client, then drops the schema. */
  close(): Promise<void>
}

/**
 * A schema of its own (see createTestDatabase) seeded with {@link PRODUCTS} products (1%
 * featured, one row per viewCount value below 30 000 - 20 000, wide descriptions), one user and
 * 20 reviews (one on each of products 1..20), analyzed.
 */
export async function createAnalysisDatabase(name: string): Promise<AnalysisDatabase> {
  const db = await createTestDatabase(name)
  const clients: { $disconnect(): Promise<void> }[] = []
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
  return {
    ...db,
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

/** Shared by the QueryPatterns test files: a schema with seeded products, and error checks. */
import { PrismaPg } from '@prisma/adapter-pg'
import { afterAll, beforeAll, beforeEach, expect } from 'vitest'
import { PrismaClient } from '../../prisma/generated/client.js'
import { QueryPatterns } from '../../src/database/patterns/query-patterns.js'
import type { QueryPatternsOptions } from '../../src/database/patterns/query-patterns-options.js'
import { ValidationError } from '../../src/errors.js'
import { captureSql } from '../../src/prisma/sql-capture.js'
import { createTestDatabase, type TestDatabase } from './database.js'

/** The creation time of the seeded products: product i is created `i % 6` minutes after it. */
export const BASE = Date.UTC(2026, 0, 1)

/**
 * Replaces the products with `count` of them, `product 1`..: six creation times (so rows tie on
 * `createdAt`), prices `(i % 7) + 0.5`, `viewCount` `i % 4`, every third featured, all in the
 * category `audio`.
 */
export async function seedProducts(db: TestDatabase, count: number): Promise<void> {
  await db.pool.query('TRUNCATE "Product", "Category" RESTART IDENTITY CASCADE')
  await db.pool.query(`INSERT INTO "Category" (name, slug) VALUES ('Audio', 'audio')`)
  await db.pool.query(
    `INSERT INTO "Product" (sku, name, price, "viewCount", featured, "categoryId", "createdAt", "updatedAt")
     SELECT 'sku-' || i, 'product ' || i, (i % 7) + 0.5, i % 4, i % 3 = 0, 1,
            $1::timestamptz + ((i % 6) || ' minutes')::interval, now()
     FROM generate_series(1, ${count}) i`,
    [new Date(BASE)],
  )
}

/** The error `call` rejects with, asserted to be a ValidationError on `field`. */
export async function rejection(
  call: () => Promise<unknown> | unknown,
  field: string,
): Promise<ValidationError> {
  let error: unknown
  try {
    await call()
  } catch (thrown) {
    error = thrown
  }
  expect(error, field).toBeInstanceOf(ValidationError)
  expect((error as ValidationError).field, String(error)).toBe(field)
  expect((error as ValidationError).code).toBe('ERR_INVALID_OPTION')
  return error as ValidationError
}

/** `[from, ..., to]`. */
export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i)
}

/** Every product id in (createdAt, id) order, as the database sorts them. */
export async function idsByCreatedAt(
  db: TestDatabase,
  direction: 'ASC' | 'DESC',
): Promise<number[]> {
  const { rows } = await db.pool.query<{ id: number }>(
    `SELECT id FROM "Product" ORDER BY "createdAt" ${direction}, id ${direction}`,
  )
  return rows.map((row) => row.id)
}

/** A QueryPatterns test file's database; read the fields inside tests and hooks. */
export interface PatternsDatabase {
  /** The file's schema. */
  readonly db: TestDatabase
  /** A client on it. */
  readonly prisma: PrismaClient
  /** QueryPatterns on {@link prisma}, with the file's options. */
  readonly patterns: QueryPatterns
  /** With `captureStatements`: the SQL the client ran in the current test, in order. */
  readonly statements: string[]
}

/** How {@link usePatternsDatabase} sets a file's database up. */
export interface PatternsDatabaseOptions {
  /** The options of {@link PatternsDatabase.patterns}. */
  patterns?: QueryPatternsOptions
  /** Run once, after the schema is created (e.g. seeding rows the tests only read). */
  setUp?: (db: TestDatabase) => Promise<unknown>
  /** Run before each test (e.g. seeding afresh the rows tests change). */
  reset?: (db: TestDatabase) => Promise<unknown>
  /**
   * Capture every statement the client runs at the driver adapter into
   * {@link PatternsDatabase.statements}, emptied before each test.
   */
  captureStatements?: boolean
}

/**
 * A schema of its own named after `name`, a client on it and QueryPatterns on the client, created
 * in `beforeAll` (then `setUp`), `reset` before each test, disconnected and dropped in `afterAll`.
 */
export function usePatternsDatabase(
  name: string,
  { patterns: options, setUp, reset, captureStatements = false }: PatternsDatabaseOptions = {},
): PatternsDatabase {
  let db: TestDatabase
  let prisma: PrismaClient
  let patterns: QueryPatterns
  const statements: string[] = []

  beforeAll(async () => {
    db = await createTestDatabase(name)
    if (captureStatements) {
      const adapter = new PrismaPg({ ...db.config, max: 4 }, { schema: db.schema })
      prisma = new PrismaClient({
        adapter: captureSql(adapter, {
          onStatement: (statement) => statements.push(statement.sql),
        }),
      })
    } else {
      prisma = db.client()
    }
    patterns = new QueryPatterns(prisma, options)
    await setUp?.(db)
  })

  beforeEach(async () => {
    await reset?.(db)
    statements.length = 0
  })

  afterAll(async () => {
    await prisma?.$disconnect()
    await db?.drop()
  })

  return {
    get db() {
      return db
    },
    get prisma() {
      return prisma
    },
    get patterns() {
      return patterns
    },
    statements,
  }
}

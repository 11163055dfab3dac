/** Shared by the QueryPatterns test files: a schema with seeded products, and error checks. */
import { expect } from 'vitest'
import { ValidationError } from '../../src/errors.js'
import type { TestDatabase } from './database.js'

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

/**
 * Writes the generated data set (seed-data.ts) into an empty database, in one transaction.
 *
 * One transaction, because a seed interrupted half-way (Ctrl-C on the first start) must leave an
 * empty database, which the next start seeds again, rather than half a catalog it would keep.
 *
 * Each table is written by one `INSERT ... SELECT FROM json_populate_recordset(...)`: the rows
 * travel as a single JSON parameter and PostgreSQL converts every field to its column's type
 * (numeric, timestamp, enum). `createMany` would be the obvious tool, but Prisma's client spends
 * about 0.3 ms per row building it (measured: ~10 s for this data set, on PGlite and PostgreSQL
 * alike), against well under a second per table this way.
 */
import type { Prisma, PrismaClient } from '../../prisma/generated/client.js'
import { generateSeedData, type SeedDataOptions } from './seed-data.js'

export interface SeedSummary {
  readonly products: number
  readonly categories: number
  readonly tags: number
  readonly productTags: number
  readonly users: number
  readonly reviews: number
  readonly orders: number
  readonly orderItems: number
  /** Generating and writing, in milliseconds. */
  readonly durationMs: number
}

/** The row type of each table the seed writes, so that a table is always given its own rows. */
interface SeedTables {
  Category: Prisma.CategoryCreateManyInput
  Tag: Prisma.TagCreateManyInput
  Product: Prisma.ProductCreateManyInput
  Inventory: Prisma.InventoryCreateManyInput
  /** Prisma's implicit many-to-many table: A is the product, B the tag. */
  _ProductToTag: { A: number; B: number }
  User: Prisma.UserCreateManyInput
  Review: Prisma.ReviewCreateManyInput
  Order: Prisma.OrderCreateManyInput
  OrderItem: Prisma.OrderItemCreateManyInput
}

/** The tables whose ids the seed sets itself, so their sequences must be moved past them. */
const SERIAL_TABLES = ['Category', 'Tag', 'Product', 'User', 'Review', 'Order'] as const

/** True when the database has no product yet: the demo seeds it then, and only then. */
export async function needsSeed(prisma: PrismaClient): Promise<boolean> {
  return (await prisma.product.count()) === 0
}

export async function seedShop(
  prisma: PrismaClient,
  options: SeedDataOptions,
): Promise<SeedSummary> {
  const started = performance.now()
  const data = generateSeedData(options)
  await prisma.$transaction(
    async (tx) => {
      await insertRows(tx, 'Category', data.topCategories)
      await insertRows(tx, 'Category', data.leafCategories)
      await insertRows(tx, 'Tag', data.tags)
      await insertRows(tx, 'Product', data.products)
      await insertRows(tx, 'Inventory', data.inventory)
      await insertRows(
        tx,
        '_ProductToTag',
        data.productTags.map((row) => ({ A: row.productId, B: row.tagId })),
      )
      await insertRows(tx, 'User', data.users)
      await insertRows(tx, 'Review', data.reviews)
      await insertRows(tx, 'Order', data.orders)
      await insertRows(tx, 'OrderItem', data.orderItems)
      // The rows came with their ids; move each sequence past them, or the first order placed
      // through the API would collide with order 1.
      for (const table of SERIAL_TABLES) {
        await tx.$executeRawUnsafe(
          `SELECT setval(pg_get_serial_sequence('"${table}"', 'id'), (SELECT max(id) FROM "${table}"))`,
        )
      }
    },
    // Far above Prisma's 5 s default: 10,000 products take seconds on PGlite, more on a busy
    // machine, and nothing else waits for this transaction.
    { maxWait: 30_000, timeout: 10 * 60_000 },
  )
  return {
    products: data.products.length,
    categories: data.topCategories.length + data.leafCategories.length,
    tags: data.tags.length,
    productTags: data.productTags.length,
    users: data.users.length,
    reviews: data.reviews.length,
    orders: data.orders.length,
    orderItems: data.orderItems.length,
    durationMs: performance.now() - started,
  }
}

/**
 * One multi-row INSERT of `rows`, whose keys are the columns to fill (the others take their
 * defaults). Table and column names are spliced into the SQL: they come from this file and from
 * seed-data.ts, never from a request.
 */
async function insertRows<T extends keyof SeedTables>(
  tx: Prisma.TransactionClient,
  table: T,
  rows: readonly SeedTables[T][],
): Promise<void> {
  const [first] = rows
  if (first === undefined) return
  const columns = Object.keys(first)
    .map((column) => `"${column}"`)
    .join(', ')
  await tx.$executeRawUnsafe(
    `INSERT INTO "${table}" (${columns})
     SELECT ${columns} FROM json_populate_recordset(NULL::"${table}", $1::json)`,
    JSON.stringify(rows),
  )
}

import { PrismaPg } from '@prisma/adapter-pg'
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest'
import { type Inventory, PrismaClient, type User } from '../../prisma/generated/client.js'
import { ValidationError } from '../../src/errors.js'
import { batchFindMany } from '../../src/prisma/batch-find-many.js'
import { QueryMetrics, withQueryMetrics } from '../../src/prisma/metrics/index.js'
import { captureSql } from '../../src/prisma/sql-capture.js'
import { createTestDatabase, type TestDatabase } from '../support/database.js'

describe('batchFindMany (PostgreSQL through Prisma)', () => {
  let db: TestDatabase
  let prisma: PrismaClient
  /** Every SQL statement the client ran, captured at the driver adapter. */
  const statements: string[] = []

  beforeAll(async () => {
    db = await createTestDatabase('batch_find_many')
    await db.pool.query(
      `INSERT INTO "User" (email, name) SELECT 'u' || i || '@x', 'user ' || i FROM generate_series(1, 6) i`,
    )
    await db.pool.query(
      `INSERT INTO "Order" ("userId", "totalCents") VALUES (1, 100), (1, 250), (3, 999)`,
    )
    const adapter = new PrismaPg({ ...db.config, max: 4 }, { schema: db.schema })
    prisma = new PrismaClient({
      adapter: captureSql(adapter, { onStatement: (statement) => statements.push(statement.sql) }),
    })
  })

  afterAll(async () => {
    await prisma?.$disconnect()
    await db?.drop()
  })

  /** Runs `fn` and returns what it resolved to and the statements it ran. */
  async function counted<T>(fn: () => Promise<T>): Promise<{ result: T; sql: string[] }> {
    const before = statements.length
    const result = await fn()
    return { result, sql: statements.slice(before) }
  }

  it('returns rows in the order of ids, null where missing, with ONE query', async () => {
    const { result, sql } = await counted(() => batchFindMany(prisma.user, [4, 99, 2, 1]))
    expect(result.map((user) => user?.email ?? null)).toEqual(['u4@x', null, 'u2@x', 'u1@x'])
    expect(sql).toHaveLength(1)
    expect(sql[0]).toMatch(/^SELECT .* FROM .*"User" WHERE .*"id" IN/)
  })

  it('gives each duplicate id the row, querying each id once', async () => {
    const { result, sql } = await counted(() => batchFindMany(prisma.user, [3, 3, 5, 3]))
    expect(result.map((user) => user?.id)).toEqual([3, 3, 5, 3])
    expect(result[0]).toBe(result[1])
    expect(sql).toHaveLength(1)
    // The id list sent to PostgreSQL holds 3 and 5 once each.
    const queries: unknown[][] = []
    const spy = new PrismaClient({
      adapter: captureSql(new PrismaPg({ ...db.config, max: 1 }, { schema: db.schema }), {
        withParams: true,
        onStatement: (statement) => queries.push(statement.params as unknown[]),
      }),
    })
    try {
      await batchFindMany(spy.user, [3, 3, 5, 3])
    } finally {
      await spy.$disconnect()
    }
    expect(queries).toHaveLength(1)
    expect(queries[0]!.filter((value) => value === 3 || value === '3')).toHaveLength(1)
  })

  it('resolves an empty ids list to [] without a query', async () => {
    const { result, sql } = await counted(() => batchFindMany(prisma.user, []))
    expect(result).toEqual([])
    expect(sql).toHaveLength(0)
  })

  it('loads relations with include, in one query per relation level', async () => {
    const { result } = await counted(() =>
      batchFindMany(prisma.user, [3, 2, 1], { include: { orders: { orderBy: { id: 'asc' } } } }),
    )
    expect(result.map((user) => user?.orders.map((order) => order.totalCents))).toEqual([
      [999],
      [],
      [100, 250],
    ])
  })

  it('adds the by field to a select that lacks it, and removes it from the rows', async () => {
    const { result, sql } = await counted(() =>
      batchFindMany(prisma.user, ['u2@x', 'nobody@x', 'u1@x'], {
        by: 'email',
        select: { name: true },
      }),
    )
    expect(result).toEqual([{ name: 'user 2' }, null, { name: 'user 1' }])
    expect(sql).toHaveLength(1)
    const kept = await batchFindMany(prisma.user, [2], { select: { id: true, name: true } })
    expect(kept).toEqual([{ id: 2, name: 'user 2' }])
  })

  it('works on an extended client, through its extensions', async () => {
    const metrics = new QueryMetrics({ nPlusOne: false })
    const extended = prisma.$extends(withQueryMetrics(metrics)).$extends({
      result: {
        user: { loud: { needs: { name: true }, compute: (user) => user.name.toUpperCase() } },
      },
    })
    const users = await batchFindMany(extended.user, [2, 1])
    expect(users.map((user) => user?.loud)).toEqual(['USER 2', 'USER 1'])
    expect(metrics.stats().operations['User.findMany']?.queries).toBe(1)
    expectTypeOf(users).toEqualTypeOf<
      (Awaited<ReturnType<typeof extended.user.findMany>>[number] | null)[]
    >()
  })

  it('types rows from the delegate', async () => {
    const users = await batchFindMany(prisma.user, [1, 2])
    expectTypeOf(users).toEqualTypeOf<(User | null)[]>()
    const stock = await batchFindMany(prisma.inventory, [1], { by: 'productId' })
    expectTypeOf(stock).toEqualTypeOf<(Inventory | null)[]>()
    const names = await batchFindMany(prisma.user, ['u1@x'], {
      by: 'email',
      select: { name: true },
    })
    expectTypeOf(names).toEqualTypeOf<({ name: string } | null)[]>()
    const withOrders = await batchFindMany(prisma.user, [1], { include: { orders: true } })
    expectTypeOf(withOrders[0]!.orders[0]!.totalCents).toEqualTypeOf<number>()
    // @ts-expect-error User ids are numbers
    await expect(batchFindMany(prisma.user, ['1'])).rejects.toThrow()
  })

  it('rejects bad input with a ValidationError naming the field', async () => {
    const cases: [() => Promise<unknown>, string][] = [
      [() => batchFindMany({} as never, [1]), 'delegate'],
      [() => batchFindMany(null as never, [1]), 'delegate'],
      [() => batchFindMany(prisma.user, 1 as never), 'ids'],
      [() => batchFindMany(prisma.user, [1, null as never]), 'ids[1]'],
      [() => batchFindMany(prisma.user, [1 as never], 'id' as never), 'options'],
      [() => batchFindMany(prisma.user, [1 as never], { by: 3 as never }), 'options.by'],
      [() => batchFindMany(prisma.user, [1], { by: '' }), 'options.by'],
      [() => batchFindMany(prisma.user, [1], { select: true as never }), 'options.select'],
      [
        () => batchFindMany(prisma.user, [1], { include: { orders: true }, select: { id: true } }),
        'options',
      ],
    ]
    for (const [call, field] of cases) {
      const error = await call().catch((thrown: unknown) => thrown)
      expect(error, field).toBeInstanceOf(ValidationError)
      expect((error as ValidationError).field).toBe(field)
      expect((error as ValidationError).code).toBe('ERR_INVALID_OPTION')
    }
  })
})

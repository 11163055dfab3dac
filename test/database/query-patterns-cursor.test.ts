import { describe, expect, expectTypeOf, it } from 'vitest'
import { decodeCursor } from '../../src/database/patterns/cursor.js'
import type { CursorPage } from '../../src/database/patterns/cursor-pagination.js'
import type { SortKey } from '../../src/database/patterns/order-by.js'
import type { DmmfField } from '../../src/prisma/schema/dmmf.js'
import {
  BASE,
  idsByCreatedAt,
  range,
  rejection,
  seedProducts,
  usePatternsDatabase,
} from '../support/query-patterns.js'
import { waitFor } from '../support/wait.js'

/** 60 products over 6 creation times (10 rows share each: ties the tie-breaker must order). */
const SEEDED = 60

describe('QueryPatterns.paginateWithCursor (PostgreSQL through Prisma)', () => {
  const store = usePatternsDatabase('query_patterns_cursor', {
    patterns: { maxPageSize: 50 },
    reset: (db) => seedProducts(db, SEEDED),
  })

  it('pages forward through ties by (sort field, id), then back with previousCursor', async () => {
    const options = { take: 8, orderBy: { createdAt: 'desc' }, select: { name: true } } as const
    const pages = []
    let page = await store.patterns.paginateWithCursor(store.prisma.product, options)
    expect(page.hasPreviousPage).toBe(false)
    expect(page.previousCursor).toBeNull()
    pages.push(page)
    while (page.nextCursor !== null) {
      page = await store.patterns.paginateWithCursor(store.prisma.product, {
        ...options,
        cursor: page.nextCursor,
      })
      expect(page.hasPreviousPage).toBe(true)
      pages.push(page)
    }
    expect(pages).toHaveLength(8)
    expect(page.hasNextPage).toBe(false)
    // select without the key fields: they were read for the cursor, and are not returned.
    expectTypeOf(page.data).toEqualTypeOf<{ name: string }[]>()
    expect(Object.keys(page.data[0]!)).toEqual(['name'])
    const names = pages.flatMap((p) => p.data.map((row) => row.name))
    const expected = (await idsByCreatedAt(store.db, 'DESC')).map((id) => `product ${id}`)
    expect(names).toEqual(expected)

    // Backwards from the last page, page by page, gives the same pages.
    let back = page
    for (let i = pages.length - 2; i >= 0; i--) {
      back = await store.patterns.paginateWithCursor(store.prisma.product, {
        ...options,
        cursor: back.previousCursor!,
        direction: 'backward',
      })
      expect(back.data).toEqual(pages[i]!.data)
      expect(back.hasNextPage).toBe(true)
    }
    expect(back.hasPreviousPage).toBe(false)
    expect(back.previousCursor).toBeNull()
  })

  it('reads the last page first with direction backward and no cursor', async () => {
    const page = await store.patterns.paginateWithCursor(store.prisma.product, {
      take: 5,
      direction: 'backward',
    })
    expect(page.data.map((row) => row.id)).toEqual(range(56, 60))
    expect(page).toMatchObject({ hasNextPage: false, hasPreviousPage: true, nextCursor: null })
  })

  it('accepts a plain id as cursor when ordering by id (callers pass ids)', async () => {
    const page = await store.patterns.paginateWithCursor(store.prisma.product, {
      take: 3,
      cursor: 10,
      orderBy: { id: 'asc' },
    })
    expect(page.data.map((row) => row.id)).toEqual([11, 12, 13])
    const asString = await store.patterns.paginateWithCursor(store.prisma.product, {
      take: 3,
      cursor: '10',
    })
    expect(asString.data.map((row) => row.id)).toEqual([11, 12, 13])
    // The id need not exist any more: positions are values, not rows.
    await store.db.pool.query('DELETE FROM "Product" WHERE id = 10')
    const gone = await store.patterns.paginateWithCursor(store.prisma.product, {
      take: 1,
      cursor: 10,
    })
    expect(gone.data.map((row) => row.id)).toEqual([11])
    expect(gone.hasPreviousPage).toBe(true)
  })

  it('keeps cursors for an empty page at the position asked for', async () => {
    const beyond = await store.patterns.paginateWithCursor(store.prisma.product, {
      take: 5,
      cursor: 60,
    })
    expect(beyond.data).toEqual([])
    expect(beyond.hasPreviousPage).toBe(true)
    const before = await store.patterns.paginateWithCursor(store.prisma.product, {
      take: 2,
      cursor: beyond.previousCursor!,
      direction: 'backward',
    })
    expect(before.data.map((row) => row.id)).toEqual([59, 60])
    // Nothing after 60: the way back knows it.
    expect(before).toMatchObject({ hasNextPage: false, nextCursor: null, hasPreviousPage: true })
    // A cursor at the first row: that row is the previous page.
    const second = await store.patterns.paginateWithCursor(store.prisma.product, {
      take: 2,
      cursor: 1,
    })
    expect(second.hasPreviousPage).toBe(true)
    const back = await store.patterns.paginateWithCursor(store.prisma.product, {
      take: 2,
      cursor: second.previousCursor!,
      direction: 'backward',
    })
    expect(back.data.map((row) => row.id)).toEqual([1])
    expect(back.hasPreviousPage).toBe(false)
  })

  it('sorts on Decimal and Boolean fields, with a where', async () => {
    for (const orderBy of [{ price: 'asc' }, { featured: 'desc' }] as const) {
      const seen: number[] = []
      let cursor: string | null = null
      do {
        const page: CursorPage<{ id: number }> = await store.patterns.paginateWithCursor(
          store.prisma.product,
          { take: 6, orderBy, ...(cursor === null ? {} : { cursor }) },
          { viewCount: { gte: 1 } },
        )
        seen.push(...page.data.map((row) => row.id))
        cursor = page.nextCursor
      } while (cursor !== null)
      const [field, direction] = Object.entries(orderBy)[0]!
      const { rows } = await store.db.pool.query<{ id: number }>(
        `SELECT id FROM "Product" WHERE "viewCount" >= 1 ORDER BY "${field}" ${direction}, id ${direction}`,
      )
      expect(seen, field).toEqual(rows.map((row) => row.id))
    }
  })

  it('refuses tampered cursors, cursors of another order, and unsortable fields', async () => {
    const first = await store.patterns.paginateWithCursor(store.prisma.product, {
      take: 2,
      orderBy: { createdAt: 'asc' },
    })
    const cursor = first.nextCursor!
    const call = (options: object) => () =>
      store.patterns.paginateWithCursor(store.prisma.product, { take: 2, ...options } as never)
    const body = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as { v: unknown[] }
    const forged = (value: unknown[]) =>
      Buffer.from(JSON.stringify({ ...body, v: value })).toString('base64url')
    await rejection(
      call({ orderBy: { createdAt: 'asc' }, cursor: forged(['x', 1]) }),
      'options.cursor',
    )
    await rejection(
      call({ orderBy: { createdAt: 'asc' }, cursor: forged([body.v[0], '1; DROP']) }),
      'options.cursor',
    )
    await rejection(
      call({ orderBy: { createdAt: 'asc' }, cursor: forged([body.v[0]]) }),
      'options.cursor',
    )
    await rejection(
      call({ orderBy: { createdAt: 'asc' }, cursor: `${cursor.slice(0, -3)}!!` }),
      'options.cursor',
    )
    await rejection(
      call({ orderBy: { createdAt: 'asc' }, cursor: 'not-a-cursor' }),
      'options.cursor',
    )
    await rejection(call({ orderBy: { createdAt: 'asc' }, cursor: 17 }), 'options.cursor')
    const other = await rejection(
      call({ orderBy: { createdAt: 'desc' }, cursor }),
      'options.cursor',
    )
    expect(other.message).toMatch(/another order/)
    await rejection(call({ cursor: 'abc' }), 'options.cursor') // an Int id order: not an id
    await rejection(call({ cursor: 2 ** 40 }), 'options.cursor') // not a 32-bit Int
    await rejection(call({ cursor: 'e'.repeat(5000) }), 'options.cursor')
    await rejection(call({ orderBy: { categoryId: 'asc' } }), 'options.orderBy') // optional
    await rejection(
      () =>
        store.patterns.paginateWithCursor(store.prisma.user, { take: 2, orderBy: { role: 'asc' } }),
      'options.orderBy',
    ) // enum
    await rejection(call({ orderBy: { nope: 'asc' } }), 'options.orderBy')
    await rejection(call({ take: 0 }), 'options.take')
    await rejection(call({ take: 51 }), 'options.take')
    await rejection(call({ direction: 'up' }), 'options.direction')
  })

  it('never repeats or skips an existing row while another task inserts rows (forward and backward)', async () => {
    for (const direction of ['forward', 'backward'] as const) {
      const existing = await idsByCreatedAt(store.db, 'ASC')
      const times = (
        await store.db.pool.query<{ t: Date }>('SELECT DISTINCT "createdAt" AS t FROM "Product"')
      ).rows.map((row) => row.t)
      let inserted = 0
      let stop = false
      // Rows land everywhere: on existing sort values (ties), before all and after all.
      const inserter = (async () => {
        while (!stop) {
          const at =
            inserted % 3 === 0
              ? new Date(BASE - 60_000)
              : inserted % 3 === 1
                ? times[inserted % times.length]!
                : new Date(BASE + 3_600_000)
          await store.db.pool.query(
            `INSERT INTO "Product" (sku, name, price, "createdAt", "updatedAt") VALUES ($1, 'new', 1, $2, now())`,
            [`new-${direction}-${inserted}`, at],
          )
          inserted++
        }
      })()
      const seen: number[] = []
      let cursor: string | null = null
      let pages = 0
      try {
        do {
          // Two inserts between every two pages: the interleaving is certain, not luck.
          const target = inserted + 2
          await waitFor(() => inserted >= target, { what: 'two inserts' })
          const page: CursorPage<{ id: number }> = await store.patterns.paginateWithCursor(
            store.prisma.product,
            {
              take: 7,
              orderBy: { createdAt: 'asc' },
              direction,
              select: { id: true },
              ...(cursor === null ? {} : { cursor }),
            },
          )
          pages++
          const ids = page.data.map((row) => row.id)
          seen.push(...(direction === 'forward' ? ids : ids.reverse()))
          cursor = direction === 'forward' ? page.nextCursor : page.previousCursor
        } while (cursor !== null)
      } finally {
        stop = true
        await inserter
      }
      expect(pages).toBeGreaterThan(8)
      expect(inserted).toBeGreaterThan(2 * pages - 1)
      // The checker: no row twice, every row that existed before paging began seen.
      expect(new Set(seen).size, `${direction}: duplicates`).toBe(seen.length)
      const missing = existing.filter((id) => !seen.includes(id))
      expect(missing, `${direction}: skipped`).toEqual([])
      await store.db.pool.query(`DELETE FROM "Product" WHERE sku LIKE 'new-%'`)
    }
  })

  it('control: the same checker catches offset pagination repeating rows under the same inserts', async () => {
    const seen: number[] = []
    for (let page = 1; page <= 9; page++) {
      // An insert before everything between two pages shifts every offset by one.
      await store.db.pool.query(
        `INSERT INTO "Product" (sku, name, price, "createdAt", "updatedAt") VALUES ($1, 'early', 1, $2, now())`,
        [`early-${page}`, new Date(BASE - 60_000)],
      )
      const result = await store.patterns.paginate(store.prisma.product, {
        page,
        pageSize: 7,
        orderBy: { createdAt: 'asc' },
      })
      seen.push(...result.data.map((row) => row.id))
    }
    expect(new Set(seen).size).toBeLessThan(seen.length)
  })
})

describe('cursor values are checked against their field, prototype names and ranges included', () => {
  const key = (name: string, type: string): SortKey => ({
    field: { name, type, kind: 'scalar', isId: false } as DmmfField,
    direction: 'asc',
  })
  const cursorOf = (keys: SortKey[], values: unknown[]) =>
    Buffer.from(
      JSON.stringify({ o: keys.map((k) => `${k.field.name}:asc`).join(','), v: values }),
    ).toString('base64url')
  const decode = (type: string, value: unknown) => {
    const keys = [key('x', type)]
    return () => decodeCursor(keys, cursorOf(keys, [value]))
  }

  it.each([
    ['Float', 'constructor'],
    ['Float', '__proto__'],
    ['Float', 'toString'],
    ['Int', 2 ** 31],
    ['Int', -(2 ** 31) - 1],
    ['BigInt', '9223372036854775808'],
    ['BigInt', '-9223372036854775809'],
    ['Decimal', '9'.repeat(101)],
    ['Decimal', '1e99999'],
  ])('refuses %s %j', (type, value) => {
    expect(decode(type, value)).toThrow(expect.objectContaining({ field: 'options.cursor' }))
  })

  it.each([
    ['Float', 'NaN', Number.NaN],
    ['Int', -(2 ** 31), -(2 ** 31)],
    ['Int', 2 ** 31 - 1, 2 ** 31 - 1],
    ['BigInt', '-9223372036854775808', -(2n ** 63n)],
    ['BigInt', '9223372036854775807', 2n ** 63n - 1n],
    ['Decimal', '12.5e3', '12.5e3'],
  ])('accepts %s %j', (type, value, expected) => {
    expect(decode(type, value)().values).toEqual([expected])
  })
})

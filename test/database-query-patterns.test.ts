import { afterAll, beforeAll, beforeEach, describe, expect, expectTypeOf, it } from 'vitest'
import type { PrismaClient, Product } from '../prisma/generated/client.js'
import type { CursorPage } from '../src/database/patterns/cursor-pagination.js'
import { QueryPatterns } from '../src/database/patterns/query-patterns.js'
import { ValidationError } from '../src/errors.js'
import { createTestDatabase, type TestDatabase } from './support/database.js'
import { waitFor } from './support/wait.js'

/** 60 products over 6 creation times (10 rows share each: ties the tie-breaker must order). */
const SEEDED = 60
const BASE = Date.UTC(2026, 0, 1)

describe('QueryPatterns pagination (PostgreSQL through Prisma)', () => {
  let db: TestDatabase
  let prisma: PrismaClient
  let patterns: QueryPatterns

  beforeAll(async () => {
    db = await createTestDatabase('query_patterns_pages')
    prisma = db.client()
    patterns = new QueryPatterns(prisma, { maxPageSize: 50 })
  })

  beforeEach(async () => {
    await db.pool.query('TRUNCATE "Product", "Category" RESTART IDENTITY CASCADE')
    await db.pool.query(`INSERT INTO "Category" (name, slug) VALUES ('Audio', 'audio')`)
    await db.pool.query(
      `INSERT INTO "Product" (sku, name, price, "viewCount", featured, "categoryId", "createdAt", "updatedAt")
       SELECT 'sku-' || i, 'product ' || i, (i % 7) + 0.5, i % 4, i % 3 = 0, 1,
              $1::timestamptz + ((i % 6) || ' minutes')::interval, now()
       FROM generate_series(1, ${SEEDED}) i`,
      [new Date(BASE)],
    )
  })

  afterAll(async () => {
    await prisma?.$disconnect()
    await db?.drop()
  })

  /** The error `call` rejects with, asserted to be a ValidationError on `field`. */
  async function rejection(call: () => Promise<unknown>, field: string): Promise<ValidationError> {
    const error = await call().then(
      () => undefined,
      (thrown: unknown) => thrown,
    )
    expect(error, field).toBeInstanceOf(ValidationError)
    expect((error as ValidationError).field, String(error)).toBe(field)
    expect((error as ValidationError).code).toBe('ERR_INVALID_OPTION')
    return error as ValidationError
  }

  /** Every product id in (createdAt, id) order, as the database sorts them. */
  async function idsByCreatedAt(direction: 'ASC' | 'DESC'): Promise<number[]> {
    const { rows } = await db.pool.query<{ id: number }>(
      `SELECT id FROM "Product" ORDER BY "createdAt" ${direction}, id ${direction}`,
    )
    return rows.map((row) => row.id)
  }

  describe('paginate', () => {
    it('returns the page, the total and the page flags', async () => {
      const page = await patterns.paginate(
        prisma.product,
        { page: 2, pageSize: 25, orderBy: { id: 'asc' } },
        { isActive: true },
      )
      expect(page).toMatchObject({ total: 60, page: 2, pageSize: 25, totalPages: 3 })
      expect(page.hasNextPage).toBe(true)
      expect(page.hasPreviousPage).toBe(true)
      expect(page.data.map((row) => row.id)).toEqual(range(26, 50))
      const last = await patterns.paginate(prisma.product, { page: 3, pageSize: 25 })
      expect(last.data).toHaveLength(10)
      expect(last.hasNextPage).toBe(false)
      const beyond = await patterns.paginate(prisma.product, { page: 9, pageSize: 25 })
      expect(beyond).toMatchObject({ data: [], total: 60, totalPages: 3, hasNextPage: false })
      const none = await patterns.paginate(prisma.product, { page: 1, pageSize: 5 }, { sku: 'x' })
      expect(none).toMatchObject({ data: [], total: 0, totalPages: 0, hasPreviousPage: false })
    })

    it('breaks ties on the sort field by primary key, so pages neither repeat nor skip', async () => {
      const seen: number[] = []
      for (let page = 1; page <= 9; page++) {
        const result = await patterns.paginate(prisma.product, {
          page,
          pageSize: 7,
          orderBy: { createdAt: 'desc' },
        })
        seen.push(...result.data.map((row) => row.id))
      }
      expect(seen).toEqual(await idsByCreatedAt('DESC'))
    })

    it('types data by select and include', async () => {
      const selected = await patterns.paginate(prisma.product, {
        page: 1,
        pageSize: 2,
        select: { id: true, name: true },
      })
      expectTypeOf(selected.data).toEqualTypeOf<{ id: number; name: string }[]>()
      expect(Object.keys(selected.data[0]!).sort()).toEqual(['id', 'name'])
      const included = await patterns.paginate(prisma.product, {
        page: 1,
        pageSize: 2,
        include: { category: true },
      })
      expect(included.data[0]!.category?.slug).toBe('audio')
      const plain = await patterns.paginate(prisma.product, { page: 1, pageSize: 1 })
      expectTypeOf(plain.data).toEqualTypeOf<Product[]>()
    })

    it('counts and reads in one snapshot: total always matches the rows while rows are inserted', async () => {
      // Rows of one title only, fewer than a page, so every call must return all of them.
      let inserted = 0
      let calls = 0
      const inserter = (async () => {
        for (; inserted < 45; inserted++) {
          await db.pool.query(`INSERT INTO "Note" (title) VALUES ('snapshot')`)
        }
      })()
      const mismatches: string[] = []
      while (inserted < 45) {
        const page = await patterns.paginate(
          prisma.note,
          { page: 1, pageSize: 50 },
          { title: 'snapshot' },
        )
        calls++
        if (page.data.length !== page.total) mismatches.push(`${page.data.length}/${page.total}`)
      }
      await inserter
      expect(calls).toBeGreaterThan(3)
      expect(mismatches).toEqual([])
    })

    it('rejects bad pages, page sizes and sort fields, naming them', async () => {
      const call = (options: unknown) => () => patterns.paginate(prisma.product, options as never)
      await rejection(call({ page: 0, pageSize: 5 }), 'options.page')
      await rejection(call({ page: 1.5, pageSize: 5 }), 'options.page')
      await rejection(call({ page: '2', pageSize: 5 }), 'options.page')
      await rejection(call({ page: 1, pageSize: 51 }), 'options.pageSize')
      await rejection(call({ page: 1 }), 'options.pageSize')
      await rejection(call(undefined), 'options')
      await rejection(call({ page: 1, pageSize: 5, orderBy: { secret: 'asc' } }), 'options.orderBy')
      await rejection(
        call({ page: 1, pageSize: 5, orderBy: [{ id: 'asc' }, { category: 'asc' }] }),
        'options.orderBy[1]',
      )
      await rejection(
        call({ page: 1, pageSize: 5, orderBy: { name: 'sideways' } }),
        'options.orderBy.name',
      )
      await rejection(
        call({ page: 1, pageSize: 5, orderBy: { name: 'asc', id: 'asc' } }),
        'options.orderBy',
      )
      const error = await rejection(
        call({ page: 1, pageSize: 5, orderBy: { price: 'asc' }, allowedFields: ['createdAt'] }),
        'options.orderBy',
      )
      expect(error.message).toMatch(/"price" is not allowed/)
      await rejection(
        call({ page: 1, pageSize: 5, allowedFields: ['nope'] }),
        'options.allowedFields[0]',
      )
      await rejection(call({ page: 1, pageSize: 5, select: true }), 'options.select')
      await rejection(() => patterns.paginate({} as never, { page: 1, pageSize: 1 }), 'model')
      await rejection(
        () => patterns.paginate(prisma.product, { page: 1, pageSize: 1 }, 'x' as never),
        'where',
      )
    })
  })

  describe('paginateWithCursor', () => {
    it('pages forward through ties by (sort field, id), then back with previousCursor', async () => {
      const options = { take: 8, orderBy: { createdAt: 'desc' }, select: { name: true } } as const
      const pages = []
      let page = await patterns.paginateWithCursor(prisma.product, options)
      expect(page.hasPreviousPage).toBe(false)
      expect(page.previousCursor).toBeNull()
      pages.push(page)
      while (page.nextCursor !== null) {
        page = await patterns.paginateWithCursor(prisma.product, {
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
      const expected = (await idsByCreatedAt('DESC')).map((id) => `product ${id}`)
      expect(names).toEqual(expected)

      // Backwards from the last page, page by page, gives the same pages.
      let back = page
      for (let i = pages.length - 2; i >= 0; i--) {
        back = await patterns.paginateWithCursor(prisma.product, {
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
      const page = await patterns.paginateWithCursor(prisma.product, {
        take: 5,
        direction: 'backward',
      })
      expect(page.data.map((row) => row.id)).toEqual(range(56, 60))
      expect(page).toMatchObject({ hasNextPage: false, hasPreviousPage: true, nextCursor: null })
    })

    it('accepts a plain id as cursor when ordering by id (the seed passes ids)', async () => {
      const page = await patterns.paginateWithCursor(prisma.product, {
        take: 3,
        cursor: 10,
        orderBy: { id: 'asc' },
      })
      expect(page.data.map((row) => row.id)).toEqual([11, 12, 13])
      const asString = await patterns.paginateWithCursor(prisma.product, {
        take: 3,
        cursor: '10',
      })
      expect(asString.data.map((row) => row.id)).toEqual([11, 12, 13])
      // The id need not exist any more: positions are values, not rows.
      await db.pool.query('DELETE FROM "Product" WHERE id = 10')
      const gone = await patterns.paginateWithCursor(prisma.product, { take: 1, cursor: 10 })
      expect(gone.data.map((row) => row.id)).toEqual([11])
      expect(gone.hasPreviousPage).toBe(true)
    })

    it('keeps cursors for an empty page at the position asked for', async () => {
      const beyond = await patterns.paginateWithCursor(prisma.product, { take: 5, cursor: 60 })
      expect(beyond.data).toEqual([])
      expect(beyond.hasPreviousPage).toBe(true)
      const before = await patterns.paginateWithCursor(prisma.product, {
        take: 2,
        cursor: beyond.previousCursor!,
        direction: 'backward',
      })
      expect(before.data.map((row) => row.id)).toEqual([59, 60])
      // Nothing after 60: the way back knows it.
      expect(before).toMatchObject({ hasNextPage: false, nextCursor: null, hasPreviousPage: true })
      // A cursor at the first row: that row is the previous page.
      const second = await patterns.paginateWithCursor(prisma.product, { take: 2, cursor: 1 })
      expect(second.hasPreviousPage).toBe(true)
      const back = await patterns.paginateWithCursor(prisma.product, {
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
          const page: CursorPage<{ id: number }> = await patterns.paginateWithCursor(
            prisma.product,
            { take: 6, orderBy, ...(cursor === null ? {} : { cursor }) },
            { viewCount: { gte: 1 } },
          )
          seen.push(...page.data.map((row) => row.id))
          cursor = page.nextCursor
        } while (cursor !== null)
        const [field, direction] = Object.entries(orderBy)[0]!
        const { rows } = await db.pool.query<{ id: number }>(
          `SELECT id FROM "Product" WHERE "viewCount" >= 1 ORDER BY "${field}" ${direction}, id ${direction}`,
        )
        expect(seen, field).toEqual(rows.map((row) => row.id))
      }
    })

    it('refuses tampered cursors, cursors of another order, and unsortable fields', async () => {
      const first = await patterns.paginateWithCursor(prisma.product, {
        take: 2,
        orderBy: { createdAt: 'asc' },
      })
      const cursor = first.nextCursor!
      const call = (options: object) => () =>
        patterns.paginateWithCursor(prisma.product, { take: 2, ...options } as never)
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
      await rejection(call({ orderBy: { categoryId: 'asc' } }), 'options.orderBy') // optional
      await rejection(
        () => patterns.paginateWithCursor(prisma.user, { take: 2, orderBy: { role: 'asc' } }),
        'options.orderBy',
      ) // enum
      await rejection(call({ orderBy: { nope: 'asc' } }), 'options.orderBy')
      await rejection(call({ take: 0 }), 'options.take')
      await rejection(call({ take: 51 }), 'options.take')
      await rejection(call({ direction: 'up' }), 'options.direction')
    })

    it('never repeats or skips an existing row while another task inserts rows (forward and backward)', async () => {
      for (const direction of ['forward', 'backward'] as const) {
        const existing = await idsByCreatedAt('ASC')
        const times = (
          await db.pool.query<{ t: Date }>('SELECT DISTINCT "createdAt" AS t FROM "Product"')
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
            await db.pool.query(
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
            const page: CursorPage<{ id: number }> = await patterns.paginateWithCursor(
              prisma.product,
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
        await db.pool.query(`DELETE FROM "Product" WHERE sku LIKE 'new-%'`)
      }
    })

    it('control: the same checker catches offset pagination repeating rows under the same inserts', async () => {
      const seen: number[] = []
      for (let page = 1; page <= 9; page++) {
        // An insert before everything between two pages shifts every offset by one.
        await db.pool.query(
          `INSERT INTO "Product" (sku, name, price, "createdAt", "updatedAt") VALUES ($1, 'early', 1, $2, now())`,
          [`early-${page}`, new Date(BASE - 60_000)],
        )
        const result = await patterns.paginate(prisma.product, {
          page,
          pageSize: 7,
          orderBy: { createdAt: 'asc' },
        })
        seen.push(...result.data.map((row) => row.id))
      }
      expect(new Set(seen).size).toBeLessThan(seen.length)
    })
  })
})

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i)
}

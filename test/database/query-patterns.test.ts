import { describe, expect, expectTypeOf, it } from 'vitest'
import type { Product } from '../../prisma/generated/client.js'
import { QueryPatterns } from '../../src/database/patterns/query-patterns.js'
import { CacheManager } from '../../src/index.js'
import { withCache } from '../../src/prisma/index.js'
import {
  idsByCreatedAt,
  range,
  rejection,
  seedProducts,
  usePatternsDatabase,
} from '../support/query-patterns.js'

/** 60 products over 6 creation times (10 rows share each: ties the tie-breaker must order). */
const SEEDED = 60

describe('QueryPatterns.paginate (PostgreSQL through Prisma)', () => {
  const store = usePatternsDatabase('query_patterns_offset', {
    patterns: { maxPageSize: 50 },
    reset: (db) => seedProducts(db, SEEDED),
  })

  describe('paginate', () => {
    it('returns the page, the total and the page flags', async () => {
      const page = await store.patterns.paginate(
        store.prisma.product,
        { page: 2, pageSize: 25, orderBy: { id: 'asc' } },
        { isActive: true },
      )
      expect(page).toMatchObject({ total: 60, page: 2, pageSize: 25, totalPages: 3 })
      expect(page.hasNextPage).toBe(true)
      expect(page.hasPreviousPage).toBe(true)
      expect(page.data.map((row) => row.id)).toEqual(range(26, 50))
      const last = await store.patterns.paginate(store.prisma.product, { page: 3, pageSize: 25 })
      expect(last.data).toHaveLength(10)
      expect(last.hasNextPage).toBe(false)
      const beyond = await store.patterns.paginate(store.prisma.product, { page: 9, pageSize: 25 })
      expect(beyond).toMatchObject({ data: [], total: 60, totalPages: 3, hasNextPage: false })
      const none = await store.patterns.paginate(
        store.prisma.product,
        { page: 1, pageSize: 5 },
        { sku: 'x' },
      )
      expect(none).toMatchObject({ data: [], total: 0, totalPages: 0, hasPreviousPage: false })
    })

    it('breaks ties on the sort field by primary key, so pages neither repeat nor skip', async () => {
      const seen: number[] = []
      for (let page = 1; page <= 9; page++) {
        const result = await store.patterns.paginate(store.prisma.product, {
          page,
          pageSize: 7,
          orderBy: { createdAt: 'desc' },
        })
        seen.push(...result.data.map((row) => row.id))
      }
      expect(seen).toEqual(await idsByCreatedAt(store.db, 'DESC'))
    })

    it('types data by select and include', async () => {
      const selected = await store.patterns.paginate(store.prisma.product, {
        page: 1,
        pageSize: 2,
        select: { id: true, name: true },
      })
      expectTypeOf(selected.data).toEqualTypeOf<{ id: number; name: string }[]>()
      expect(Object.keys(selected.data[0]!).sort()).toEqual(['id', 'name'])
      const included = await store.patterns.paginate(store.prisma.product, {
        page: 1,
        pageSize: 2,
        include: { category: true },
      })
      expect(included.data[0]!.category?.slug).toBe('audio')
      const plain = await store.patterns.paginate(store.prisma.product, { page: 1, pageSize: 1 })
      expectTypeOf(plain.data).toEqualTypeOf<Product[]>()
      // A sort field from a request is a plain string: accepted by the types, checked at run time.
      const sort: string = 'price'
      const sorted = await store.patterns.paginate(store.prisma.product, {
        page: 1,
        pageSize: 3,
        orderBy: { [sort]: 'desc' },
        allowedFields: ['price', 'createdAt'],
      })
      expect(sorted.data.map((row) => row.price.toString())).toEqual(['6.5', '6.5', '6.5'])
    })

    it('counts and reads in one snapshot: total always matches the rows while rows are inserted', async () => {
      // Rows of one title only, fewer than a page, so every call must return all of them.
      let inserted = 0
      let calls = 0
      const inserter = (async () => {
        for (; inserted < 45; inserted++) {
          await store.db.pool.query(`INSERT INTO "Note" (title) VALUES ('snapshot')`)
        }
      })()
      const mismatches: string[] = []
      while (inserted < 45) {
        const page = await store.patterns.paginate(
          store.prisma.note,
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
      const call = (options: unknown) => () =>
        store.patterns.paginate(store.prisma.product, options as never)
      await rejection(call({ page: 0, pageSize: 5 }), 'options.page')
      await rejection(call({ page: 1.5, pageSize: 5 }), 'options.page')
      // Skipping past Prisma's 32-bit skip: refused, not sent.
      await rejection(call({ page: 2 ** 30, pageSize: 5 }), 'options.page')
      await rejection(call({ page: Number.MAX_SAFE_INTEGER, pageSize: 1 }), 'options.page')
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
      await rejection(() => store.patterns.paginate({} as never, { page: 1, pageSize: 1 }), 'model')
      await rejection(
        () => store.patterns.paginate(store.prisma.product, { page: 1, pageSize: 1 }, 'x' as never),
        'where',
      )
    })
  })

  describe('with other clients', () => {
    it('on a withCache client: bulk writes invalidate what search and getPopular cached', async () => {
      const cache = new CacheManager()
      try {
        const cached = store.prisma.$extends(
          withCache({ cache, env: false, defaultStrategy: { ttl: 3600 } }),
        )
        const cachedPatterns = new QueryPatterns(cached)
        const top = () =>
          cachedPatterns.getPopular(cached.product, 1, 'viewCount', undefined, { id: true })
        const found = () =>
          cachedPatterns.search(cached.product, 'product 7', ['name'], undefined, 5, { id: true })
        expect(await top()).toEqual([{ id: 59 }])
        expect(await found()).toEqual([{ id: 7 }])
        expect(cached.$cache.stats().cache.hits).toBe(0)
        await top()
        expect(cached.$cache.stats().cache.hits).toBe(1)
        await cachedPatterns.bulkUpdate(cached.product, [
          { where: { id: 7 }, data: { viewCount: 99, name: 'renamed' } },
        ])
        expect(await top()).toEqual([{ id: 7 }])
        expect(await found()).toEqual([])
        // paginate runs in a $transaction batch, which reads the database, not the cache: it
        // sees a write made behind the cache's back that the cached getPopular does not.
        await store.db.pool.query('UPDATE "Product" SET "viewCount" = 500 WHERE id = 11')
        const page = await cachedPatterns.paginate(cached.product, {
          page: 1,
          pageSize: 1,
          orderBy: { viewCount: 'desc' },
        })
        expect(page.data[0]!.id).toBe(11)
        expect(await top()).toEqual([{ id: 7 }])
      } finally {
        await cache.close()
      }
    })

    it('inside an interactive transaction, on its client', async () => {
      const total = await store.prisma.$transaction(async (tx) => {
        await tx.product.deleteMany({ where: { id: { gt: 10 } } })
        const inside = new QueryPatterns(tx)
        const page = await inside.paginate(tx.product, { page: 1, pageSize: 5 })
        const next = await inside.paginateWithCursor(tx.product, { take: 5, cursor: 5 })
        expect(next.data.map((row) => row.id)).toEqual(range(6, 10))
        return page.total
      })
      expect(total).toBe(10)
    })
  })
})

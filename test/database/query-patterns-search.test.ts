import { describe, expect, expectTypeOf, it } from 'vitest'
import { pageEnvelope } from '../../src/database/patterns/pagination.js'
import { QueryPatterns } from '../../src/database/patterns/query-patterns.js'
import { rejection, seedProducts, usePatternsDatabase } from '../support/query-patterns.js'

describe('QueryPatterns search, top-n, aggregates and builders (PostgreSQL through Prisma)', () => {
  const store = usePatternsDatabase('query_patterns_search', {
    patterns: { maxPageSize: 30 },
    async setUp(db) {
      await seedProducts(db, 24)
      await db.pool.query(`
        UPDATE "Product" SET name = 'Audio Cable ' || id WHERE id IN (3, 4);
        UPDATE "Product" SET description = 'a long AUDIO cable' WHERE id = 7;
        UPDATE "Product" SET name = '50% off' WHERE id = 8;
        UPDATE "Product" SET name = '50 percent' WHERE id = 9;
        INSERT INTO "Note" (title, body, views, "isDeleted", "deletedAt", "createdAt") VALUES
          ('cable guide', '', 5, false, NULL, '2026-01-01'),
          ('old cable notes', '', 50, true, '2026-02-01', '2026-01-02'),
          ('cable stamped', '', 9, false, '2026-02-01', '2026-01-03'),
          ('other', 'about cables', 1, false, NULL, '2026-01-04');
        INSERT INTO "Sample" (id, text, int, big, float, money, at, flag, json, bytes, role, labels, numbers)
          VALUES ('s1', 's', 1, 1, 1, 1, now(), true, '{}', '', 'ADMIN', ARRAY['cable', 'Audio'], ARRAY[1]);
      `)
    },
  })

  describe('search', () => {
    it('matches any field, case-insensitively, with where and limit', async () => {
      const found = await store.patterns.search(store.prisma.product, 'audio cable', [
        'name',
        'description',
      ])
      expect(found.map((row) => row.id)).toEqual([3, 4, 7])
      const limited = await store.patterns.search(
        store.prisma.product,
        'CABLE',
        ['name', 'description'],
        { id: { gt: 3 } },
        1,
        { id: true, name: true },
      )
      expectTypeOf(limited).toEqualTypeOf<{ id: number; name: string }[]>()
      expect(limited).toEqual([{ id: 4, name: 'Audio Cable 4' }])
    })

    it('takes % and _ in the query literally (Prisma leaves them wildcards)', async () => {
      const found = await store.patterns.search(store.prisma.product, '50%', ['name'])
      expect(found.map((row) => row.name)).toEqual(['50% off'])
      expect(await store.patterns.search(store.prisma.product, 'product _', ['name'])).toEqual([])
      const where = store.patterns.buildOptimizedWhere({ name: '%50\\%' }, store.prisma.product)
      expect(await store.prisma.product.findMany({ where })).toEqual([])
      const percent = store.patterns.buildOptimizedWhere({ name: '50%%' }, store.prisma.product)
      expect(
        (await store.prisma.product.findMany({ where: percent })).map((row) => row.id),
      ).toEqual([8])
    })

    it('leaves soft-deleted rows out unless includeDeleted', async () => {
      const titles = async (options: { includeDeleted?: boolean }) =>
        (
          await store.patterns.search(store.prisma.note, {
            query: 'cable',
            fields: ['title', 'body'],
            ...options,
          })
        ).map((note) => note.title)
      // isDeleted and deletedAt both count: 'cable stamped' has deletedAt set.
      expect(await titles({})).toEqual(['cable guide', 'other'])
      expect(await titles({ includeDeleted: true })).toEqual([
        'cable guide',
        'old cable notes',
        'cable stamped',
        'other',
      ])
    })

    it('matches an element of a String[] field exactly', async () => {
      expect(await store.patterns.search(store.prisma.sample, 'cable', ['labels'])).toHaveLength(1)
      expect(await store.patterns.search(store.prisma.sample, 'audio', ['labels'])).toHaveLength(0)
    })

    it('answers a blank query with no rows and no query', async () => {
      expect(await store.patterns.search(store.prisma.product, '   ', ['name'])).toEqual([])
    })

    it('checks fields, allowedFields, the query and the limit', async () => {
      await rejection(
        () => store.patterns.search(store.prisma.product, 'x', ['price']),
        'fields[0]',
      )
      await rejection(
        () => store.patterns.search(store.prisma.product, 'x', ['name', 'secret' as never]),
        'fields[1]',
      )
      await rejection(
        () => store.patterns.search(store.prisma.product, 'x', ['tags' as never]),
        'fields[0]',
      )
      await rejection(() => store.patterns.search(store.prisma.product, 'x', []), 'fields')
      await rejection(
        () => store.patterns.search(store.prisma.product, 3 as never, ['name']),
        'query',
      )
      await rejection(
        () => store.patterns.search(store.prisma.product, 'x'.repeat(501), ['name']),
        'query',
      )
      await rejection(
        () => store.patterns.search(store.prisma.product, 'x', ['name'], {}, 31),
        'limit',
      )
      await rejection(
        () =>
          store.patterns.search(store.prisma.product, {
            query: 'x',
            fields: ['description'],
            allowedFields: ['name'],
          }),
        'options.fields[0]',
      )
      await rejection(
        () =>
          store.patterns.search(store.prisma.product, {
            query: 'x',
            fields: ['name'],
            orderBy: { secret: 'asc' } as never,
          }),
        'options.orderBy',
      )
    })
  })

  describe('getRecent and getPopular', () => {
    it('lists the newest rows, ties by id, with where and select', async () => {
      const recent = await store.patterns.getRecent(
        store.prisma.product,
        3,
        { featured: false },
        { id: true },
      )
      expectTypeOf(recent).toEqualTypeOf<{ id: number }[]>()
      // createdAt is BASE + (id % 6) minutes: newest are ids with id % 6 = 5, highest id first.
      expect(recent).toEqual([{ id: 23 }, { id: 17 }, { id: 11 }])
      const byField = await store.patterns.getRecent(store.prisma.note, {
        take: 2,
        field: 'deletedAt',
      })
      expect(byField.map((note) => note.title)).toEqual(['cable stamped', 'old cable notes'])
    })

    it('lists the most viewed rows, NULLs of an optional field last', async () => {
      const popular = await store.patterns.getPopular(store.prisma.product, 4, 'viewCount', {
        id: { lte: 12 },
      })
      expect(popular.map((row) => [row.viewCount, row.id])).toEqual([
        [3, 11],
        [3, 7],
        [3, 3],
        [2, 10],
      ])
      const notes = await store.patterns.getPopular(store.prisma.note, { take: 1, field: 'views' })
      expect(notes[0]!.title).toBe('old cable notes')
      const optional = await store.patterns.getPopular(store.prisma.sample, 1, 'optBig')
      expect(optional).toHaveLength(1) // the only row has NULL: listed, not an error
    })

    it('checks n and the field', async () => {
      await rejection(() => store.patterns.getRecent(store.prisma.product, 0), 'n')
      await rejection(() => store.patterns.getRecent(store.prisma.product, 31), 'n')
      await rejection(() => store.patterns.getRecent(store.prisma.account, 3), 'model')
      await rejection(
        () => store.patterns.getRecent(store.prisma.account, { take: 3 }),
        'options.field',
      )
      await rejection(
        () => store.patterns.getRecent(store.prisma.note, { take: 3, field: 'title' }),
        'options.field',
      )
      await rejection(() => store.patterns.getPopular(store.prisma.product, 3, 'name'), 'field')
      await rejection(
        () => store.patterns.getPopular(store.prisma.product, 3, 'secret' as never),
        'field',
      )
      await rejection(
        () =>
          store.patterns.getPopular(store.prisma.product, {
            take: 3,
            field: 'viewCount',
            allowedFields: ['price'],
          }),
        'options.field',
      )
    })
  })

  describe('aggregate', () => {
    it('groups by checked fields with the requested aggregates', async () => {
      const groups = await store.patterns.aggregate(
        store.prisma.product,
        ['featured'],
        { id: { lte: 12 } },
        { _count: true, _sum: { viewCount: true }, _max: { price: true } },
      )
      expectTypeOf(groups[0]!.featured).toEqualTypeOf<boolean>()
      expect(
        groups.map((g) => [g.featured, g._count, g._sum.viewCount, String(g._max.price)]),
      ).toEqual([
        // ids 1-12: featured are 3, 6, 9, 12; viewCount is id % 4, price (id % 7) + 0.5.
        [false, 8, 12, '5.5'],
        [true, 4, 6, '6.5'],
      ])
      const counted = await store.patterns.aggregate(store.prisma.note, ['isDeleted'])
      expect(counted).toEqual([
        { isDeleted: false, _count: 3 },
        { isDeleted: true, _count: 1 },
      ])
    })

    it('checks the group and aggregate fields', async () => {
      await rejection(
        () => store.patterns.aggregate(store.prisma.product, ['secret' as never]),
        'groupBy[0]',
      )
      await rejection(() => store.patterns.aggregate(store.prisma.product, []), 'groupBy')
      await rejection(
        () =>
          store.patterns.aggregate(store.prisma.product, ['featured'], {}, {
            _sum: { name: true },
          } as never),
        'aggregations._sum.name',
      )
      await rejection(
        () =>
          store.patterns.aggregate(store.prisma.product, ['featured'], {}, {
            _median: { id: true },
          } as never),
        'aggregations._median',
      )
      await rejection(
        () =>
          store.patterns.aggregate(store.prisma.product, ['featured'], {}, undefined, {
            allowedFields: ['id'],
          }),
        'groupBy[0]',
      )
    })
  })

  describe('getOptimizedSelect and buildOptimizedWhere', () => {
    it('pageEnvelope shapes a page and names what it cannot use', async () => {
      expect(pageEnvelope(['a', 'b'], 45, 3, 20)).toEqual({
        data: ['a', 'b'],
        total: 45,
        page: 3,
        pageSize: 20,
        totalPages: 3,
        hasNextPage: false,
        hasPreviousPage: true,
      })
      await rejection(() => pageEnvelope('rows' as never, 1, 1, 1), 'data')
      await rejection(() => pageEnvelope([], -1, 1, 1), 'total')
      await rejection(() => pageEnvelope([], 1, 0, 1), 'page')
      await rejection(() => pageEnvelope([], 1, 1, 0), 'pageSize')
    })

    it('builds a select, checked against a model when given', () => {
      const select = store.patterns.getOptimizedSelect(['id', 'name'])
      expectTypeOf(select).toEqualTypeOf<{ id: true; name: true }>()
      expect(select).toEqual({ id: true, name: true })
      expect(store.patterns.getOptimizedSelect(['id', 'category'], store.prisma.product)).toEqual({
        id: true,
        category: true,
      })
      expect(() =>
        store.patterns.getOptimizedSelect(['id', 'secret'], store.prisma.product),
      ).toThrow(/fields\[1\]/)
      expect(() => store.patterns.getOptimizedSelect([])).toThrow(/fields/)
    })

    it('turns arrays into in, % patterns into insensitive matches, drops undefined, keeps null', async () => {
      const where = store.patterns.buildOptimizedWhere({
        isActive: true,
        categoryId: [1, 2],
        name: '%cable%',
        sku: 'sku-1%',
        description: '%long',
        featured: undefined,
        deletedAt: null,
      })
      expect(where).toEqual({
        isActive: true,
        categoryId: { in: [1, 2] },
        name: { contains: 'cable', mode: 'insensitive' },
        sku: { startsWith: 'sku-1', mode: 'insensitive' },
        description: { endsWith: 'long', mode: 'insensitive' },
        deletedAt: null,
      })
      const checked = store.patterns.buildOptimizedWhere(
        { name: '%CABLE%', id: [3, 4, 7], OR: [{ featured: false }, { viewCount: 3 }] },
        store.prisma.product,
      )
      expect(
        (await store.prisma.product.findMany({ where: checked })).map((row) => row.id),
      ).toEqual([3, 4])
    })

    it('with a model, checks every key (inside AND/OR/NOT too) and applies patterns to String fields only', () => {
      expect(() => store.patterns.buildOptimizedWhere({ secret: 1 }, store.prisma.product)).toThrow(
        expect.objectContaining({ field: 'filters.secret' }),
      )
      expect(() =>
        store.patterns.buildOptimizedWhere(
          { OR: [{ id: 1 }, { category: { is: {} } }] },
          store.prisma.product,
        ),
      ).toThrow(expect.objectContaining({ field: 'filters.OR[1].category' }))
      expect(() =>
        store.patterns.buildOptimizedWhere({ price: 1 }, store.prisma.product, {
          allowedFields: ['name'],
        }),
      ).toThrow(expect.objectContaining({ field: 'filters.price' }))
      expect(store.patterns.buildOptimizedWhere({ labels: ['a'] }, store.prisma.sample)).toEqual({
        labels: { hasSome: ['a'] },
      })
      expect(store.patterns.buildOptimizedWhere({ role: '%ADMIN%' }, store.prisma.sample)).toEqual({
        role: '%ADMIN%',
      })
      expect(() => store.patterns.buildOptimizedWhere('x' as never)).toThrow(
        expect.objectContaining({ field: 'filters' }),
      )
    })

    it('refuses prototype names from a parsed request, with a model or without', () => {
      for (const body of ['{"__proto__":{"id":1}}', '{"OR":[{"constructor":{"id":1}}]}']) {
        const filters = JSON.parse(body) as Record<string, unknown>
        for (const model of [undefined, store.prisma.product]) {
          expect(() => store.patterns.buildOptimizedWhere(filters, model as never)).toThrow(
            expect.objectContaining({
              message: expect.stringMatching(/is not a field name|not a field/),
            }),
          )
        }
      }
    })
  })

  it('the constructor checks the client and maxPageSize', async () => {
    await rejection(() => new QueryPatterns({}), 'prisma')
    await rejection(
      () => new QueryPatterns(store.prisma, { maxPageSize: 0 }),
      'options.maxPageSize',
    )
    await rejection(() => new QueryPatterns(store.prisma, 5 as never), 'options')
  })
})

import { describe, expect, expectTypeOf, it } from 'vitest'
import type { Note } from '../../prisma/generated/client.js'
import type { BulkProgress } from '../../src/database/patterns/types.js'
import { rejection, usePatternsDatabase } from '../support/query-patterns.js'

describe('QueryPatterns bulk operations (PostgreSQL through Prisma)', () => {
  const store = usePatternsDatabase('query_patterns_bulk', {
    captureStatements: true,
    reset: (db) => db.pool.query('TRUNCATE "Product", "Note" RESTART IDENTITY CASCADE'),
  })

  const products = (count: number, from = 1) =>
    Array.from({ length: count }, (_, i) => ({
      sku: `sku-${from + i}`,
      name: `product ${from + i}`,
      price: '9.99',
    }))

  async function count(table: string, where = 'true'): Promise<number> {
    const { rows } = await store.db.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM "${table}" WHERE ${where}`,
    )
    return Number(rows[0]!.n)
  }

  describe('bulkCreate', () => {
    it('inserts in batches with one createMany each, reporting progress', async () => {
      const progress: BulkProgress[] = []
      const result = await store.patterns.bulkCreate(store.prisma.product, products(250), {
        batchSize: 100,
        onProgress: (p) => progress.push(p),
      })
      expect(result).toEqual({ count: 250, batches: 3 })
      expect(progress).toEqual([
        { done: 100, total: 250, batch: 1 },
        { done: 200, total: 250, batch: 2 },
        { done: 250, total: 250, batch: 3 },
      ])
      expect(store.statements.filter((sql) => sql.startsWith('INSERT'))).toHaveLength(3)
      expect(await count('Product')).toBe(250)
    })

    it('takes a positional batch size, skips duplicates, and can return the rows', async () => {
      expect(await store.patterns.bulkCreate(store.prisma.product, products(30), 20)).toEqual({
        count: 30,
        batches: 2,
      })
      const again = await store.patterns.bulkCreate(store.prisma.product, products(40), {
        skipDuplicates: true,
      })
      expect(again).toEqual({ count: 10, batches: 1 })
      const returned = await store.patterns.bulkCreate(
        store.prisma.note,
        [{ title: 'a' }, { title: 'b' }],
        {
          returnRows: true,
          batchSize: 1,
        },
      )
      expectTypeOf(returned.rows).toEqualTypeOf<Note[]>()
      expect(returned.rows.map((note) => note.title)).toEqual(['a', 'b'])
      expect(returned.count).toBe(2)
      expect(await store.patterns.bulkCreate(store.prisma.note, [])).toEqual({
        count: 0,
        batches: 0,
      })
    })

    it('stops at the failing batch; the batches before it stay', async () => {
      const rows = [...products(10), ...products(10)] // the second batch repeats the skus
      const error = await store.patterns
        .bulkCreate(store.prisma.product, rows, 10)
        .catch((e: unknown) => e)
      expect((error as { code?: string }).code).toBe('P2002')
      expect(await count('Product')).toBe(10)
    })

    it('stops when onProgress throws', async () => {
      const stop = new Error('enough')
      const error = await store.patterns
        .bulkCreate(store.prisma.product, products(30), {
          batchSize: 10,
          onProgress: ({ batch }) => {
            if (batch === 2) throw stop
          },
        })
        .catch((e: unknown) => e)
      expect(error).toBe(stop)
      expect(await count('Product')).toBe(20)
    })

    it('rejects bad rows and options, naming them', async () => {
      await rejection(() => store.patterns.bulkCreate(store.prisma.product, 'x' as never), 'rows')
      await rejection(
        () => store.patterns.bulkCreate(store.prisma.product, [null] as never),
        'rows[0]',
      )
      await rejection(() => store.patterns.bulkCreate(store.prisma.product, [], 0), 'options')
      await rejection(
        () => store.patterns.bulkCreate(store.prisma.product, [], { batchSize: 10_001 }),
        'options.batchSize',
      )
      await rejection(
        () => store.patterns.bulkCreate(store.prisma.product, [], { onProgress: 1 as never }),
        'options.onProgress',
      )
      await rejection(
        () =>
          store.patterns.bulkCreate(store.prisma.product, [], { skipDuplicates: 'yes' as never }),
        'options.skipDuplicates',
      )
      await rejection(() => store.patterns.bulkCreate({ $name: 'Nope' } as never, []), 'model')
    })
  })

  describe('bulkUpdate', () => {
    it('runs each batch in one transaction: a failing update rolls its batch back, not the others', async () => {
      await store.patterns.bulkCreate(store.prisma.product, products(12))
      const updates = Array.from({ length: 12 }, (_, i) => ({
        where: { id: i + 1 },
        data: { viewCount: 100 + i },
      }))
      // Update 10 (in the third batch of 4) takes a sku that exists: a unique violation.
      updates[9] = { where: { id: 10 }, data: { sku: 'sku-1' } as never }
      const progress: number[] = []
      const error = await store.patterns
        .bulkUpdate(store.prisma.product, updates, {
          batchSize: 4,
          onProgress: (p) => progress.push(p.done),
        })
        .catch((e: unknown) => e)
      expect((error as { code?: string }).code).toBe('P2002')
      expect(progress).toEqual([4, 8])
      const { rows } = await store.db.pool.query<{ id: number; viewCount: number }>(
        'SELECT id, "viewCount" FROM "Product" ORDER BY id',
      )
      expect(rows.map((row) => row.viewCount)).toEqual([
        100, 101, 102, 103, 104, 105, 106, 107, 0, 0, 0, 0,
      ])
      // Updates 9, 11 and 12 succeeded alone; their batch's failure undid them.
    })

    it('counts the rows updated, with a positional batch size', async () => {
      await store.patterns.bulkCreate(store.prisma.product, products(5))
      const result = await store.patterns.bulkUpdate(
        store.prisma.product,
        [
          { where: { id: { in: [1, 2] } }, data: { featured: true } },
          { where: { id: 99 }, data: { featured: true } }, // matches nothing: counted 0
          { where: { sku: 'sku-5' }, data: { viewCount: { increment: 3 } } },
        ],
        2,
      )
      expect(result).toEqual({ count: 3, batches: 2 })
      expect(await count('Product', 'featured')).toBe(2)
      expect(await count('Product', '"viewCount" = 3')).toBe(1)
    })

    it('refuses an update without a condition or without data', async () => {
      await rejection(
        () =>
          store.patterns.bulkUpdate(store.prisma.product, [
            { where: {}, data: { featured: true } },
          ]),
        'updates[0].where',
      )
      await rejection(
        () =>
          store.patterns.bulkUpdate(store.prisma.product, [
            { where: { id: 1 }, data: { featured: true } },
            { data: { featured: true } } as never,
          ]),
        'updates[1].where',
      )
      await rejection(
        () => store.patterns.bulkUpdate(store.prisma.product, [{ where: { id: 1 }, data: {} }]),
        'updates[0].data',
      )
      await rejection(() => store.patterns.bulkUpdate(store.prisma.product, {} as never), 'updates')
    })
  })

  describe('bulkDelete', () => {
    it('hard-deletes in batches by primary key, leaving rows that do not match', async () => {
      await store.patterns.bulkCreate(store.prisma.product, products(25))
      const progress: BulkProgress[] = []
      const result = await store.patterns.bulkDelete(
        store.prisma.product,
        { id: { lte: 20 } },
        { batchSize: 8, onProgress: (p) => progress.push(p) },
      )
      expect(result).toEqual({ count: 20, batches: 3 })
      expect(progress).toEqual([
        { done: 8, total: 20, batch: 1 },
        { done: 16, total: 20, batch: 2 },
        { done: 20, total: 20, batch: 3 },
      ])
      const deletes = store.statements.filter((sql) => sql.startsWith('DELETE'))
      expect(deletes).toHaveLength(3)
      expect(deletes[0]).toMatch(/"id" IN/)
      expect(await count('Product')).toBe(5)
    })

    it('soft-deletes a soft-deletable model: isDeleted and one deletedAt, rows kept, each counted once', async () => {
      await store.patterns.bulkCreate(store.prisma.note, [
        ...Array.from({ length: 9 }, (_, i) => ({ title: `old ${i}` })),
        { title: 'keep' },
      ])
      const before = Date.now()
      const result = await store.patterns.bulkDelete(
        store.prisma.note,
        { title: { startsWith: 'old' } },
        { softDelete: true, batchSize: 4 },
      )
      expect(result).toEqual({ count: 9, batches: 3 })
      expect(await count('Note')).toBe(10)
      const { rows } = await store.db.pool.query<{ deletedAt: Date }>(
        `SELECT "deletedAt" FROM "Note" WHERE "isDeleted"`,
      )
      expect(rows).toHaveLength(9)
      expect(new Set(rows.map((row) => row.deletedAt.getTime())).size).toBe(1)
      expect(rows[0]!.deletedAt.getTime()).toBeGreaterThanOrEqual(before - 1000)
      // Already deleted rows are not deleted again (their deletedAt stays).
      expect(
        await store.patterns.bulkDelete(
          store.prisma.note,
          { title: { startsWith: 'old' } },
          true,
          100,
        ),
      ).toEqual({ count: 0, batches: 0 })
      // The positional hard delete removes them.
      expect(
        await store.patterns.bulkDelete(
          store.prisma.note,
          { title: { startsWith: 'old' } },
          false,
          5,
        ),
      ).toEqual({ count: 9, batches: 2 })
      expect(await count('Note')).toBe(1)
    })

    it('refuses a soft delete on a model without isDeleted / deletedAt, and an empty where', async () => {
      await store.patterns.bulkCreate(store.prisma.product, products(2))
      const error = await rejection(
        () => store.patterns.bulkDelete(store.prisma.product, { id: 1 }, { softDelete: true }),
        'options.softDelete',
      )
      expect(error.message).toMatch(/Product cannot be soft-deleted/)
      await rejection(
        () => store.patterns.bulkDelete(store.prisma.product, { id: 1 }, true),
        'softDelete',
      )
      await rejection(() => store.patterns.bulkDelete(store.prisma.product, {}), 'where')
      await rejection(
        () => store.patterns.bulkDelete(store.prisma.product, undefined as never),
        'where',
      )
      await rejection(
        () => store.patterns.bulkDelete(store.prisma.product, { id: 1 }, false, 0),
        'batchSize',
      )
      await rejection(
        () => store.patterns.bulkDelete(store.prisma.product, { id: 1 }, { batchSize: -1 }),
        'options.batchSize',
      )
      expect(await count('Product')).toBe(2)
    })
  })
})

import { describe, expect, it } from 'vitest'
import { useCachedShop } from '../support/shop-fixture.js'

/**
 * Guarantee 7: reads inside a transaction neither use nor fill the cache; a transaction's writes
 * invalidate when it commits (not before: other readers would refill from the old rows), and
 * never when it rolls back. Interactive, nested (savepoints) and batch transactions.
 */

const shop = useCachedShop('transactions')

const product = (id: number) =>
  shop.prisma.product.findUnique({ where: { id }, select: { id: true, name: true } })

async function status(id: number): Promise<{ name: string | undefined; status: string }> {
  const { data, info } = await product(id).withCacheInfo()
  return { name: data?.name, status: info.cacheStatus }
}

describe('interactive transactions', () => {
  it('reads inside neither use nor fill the cache', async () => {
    await product(1) // cached
    await shop.base.product.update({ where: { id: 1 }, data: { name: 'behind the cache' } })
    await shop.prisma.$transaction(async (tx) => {
      const { data, info } = await tx.product
        .findUnique({ where: { id: 1 }, select: { id: true, name: true } })
        .withCacheInfo()
      expect(info.cacheStatus).toBe('none')
      expect(data?.name).toBe('behind the cache') // the database, not the stale entry
      await tx.product.findUnique({ where: { id: 2 }, select: { id: true, name: true } })
    })
    expect((await status(2)).status).toBe('miss') // the read in the transaction did not fill it
    expect(await status(1)).toEqual({ name: 'Product 1', status: 'hit' })
  })

  it('a write invalidates at commit: before it, others still read the committed row', async () => {
    await product(1)
    await shop.prisma.$transaction(async (tx) => {
      await tx.product.update({ where: { id: 1 }, data: { name: 'renamed' } })
      // Outside the transaction, the old row is still the committed one, and still cached.
      expect(await status(1)).toEqual({ name: 'Product 1', status: 'hit' })
      // A reader that misses now fills the cache from the old row...
      await shop.prisma.product.findUnique({ where: { sku: 'SKU-1' } })
    })
    // ...and the commit's invalidation removes both.
    expect(await status(1)).toEqual({ name: 'renamed', status: 'miss' })
    const bySku = await shop.prisma.product.findUnique({ where: { sku: 'SKU-1' } }).withCacheInfo()
    expect(bySku.info.cacheStatus).toBe('miss')
    expect(bySku.data?.name).toBe('renamed')
  })

  it('a rollback invalidates nothing', async () => {
    await product(1)
    await expect(
      shop.prisma.$transaction(async (tx) => {
        await tx.product.update({ where: { id: 1 }, data: { name: 'never' } })
        throw new Error('rolled back')
      }),
    ).rejects.toThrow('rolled back')
    expect(await status(1)).toEqual({ name: 'Product 1', status: 'hit' })
  })

  it('a nested transaction rolled back drops its invalidations; the outer one commits its own', async () => {
    await product(1)
    await product(2)
    await shop.prisma.$transaction(async (tx) => {
      await tx.product.update({ where: { id: 1 }, data: { name: 'outer' } })
      await tx
        .$transaction(async (inner) => {
          await inner.product.update({ where: { id: 2 }, data: { name: 'inner' } })
          throw new Error('savepoint rolled back')
        })
        .catch(() => undefined)
    })
    expect(await status(1)).toEqual({ name: 'outer', status: 'miss' })
    expect(await status(2)).toEqual({ name: 'Product 2', status: 'hit' })
  })

  it('a nested transaction that completes hands its invalidations to the outer commit', async () => {
    await product(2)
    await shop.prisma.$transaction(async (tx) => {
      await tx.$transaction(async (inner) => {
        await inner.product.update({ where: { id: 2 }, data: { name: 'inner' } })
      })
      expect(await status(2)).toEqual({ name: 'Product 2', status: 'hit' }) // not committed yet
    })
    expect(await status(2)).toEqual({ name: 'inner', status: 'miss' })
  })

  it('a write through the outer client inside the callback is not part of the transaction', async () => {
    await product(3)
    await shop.prisma.$transaction(async () => {
      await shop.prisma.product.update({ where: { id: 3 }, data: { name: 'outside' } })
      expect(await status(3)).toEqual({ name: 'outside', status: 'miss' })
    })
  })
})

describe('batch transactions', () => {
  it('reads in a batch neither use nor fill the cache', async () => {
    await product(1)
    await shop.base.product.update({ where: { id: 1 }, data: { name: 'behind the cache' } })
    const [one, two] = await shop.prisma.$transaction([product(1), product(2)])
    expect(one?.name).toBe('behind the cache')
    expect(two?.name).toBe('Product 2')
    expect((await status(2)).status).toBe('miss')
  })

  it('writes invalidate after the batch commits', async () => {
    await product(1)
    await shop.prisma.$transaction([
      shop.prisma.product.update({ where: { id: 1 }, data: { name: 'batched' } }),
      shop.prisma.category.update({ where: { id: 1 }, data: { name: 'Batched' } }),
    ])
    expect(await status(1)).toEqual({ name: 'batched', status: 'miss' })
  })

  it('a batch that fails invalidates nothing', async () => {
    await product(1)
    await expect(
      shop.prisma.$transaction([
        shop.prisma.product.update({ where: { id: 1 }, data: { name: 'never' } }),
        shop.prisma.$executeRawUnsafe('SELECT * FROM "NoSuchTable"'),
      ]),
    ).rejects.toThrow()
    expect(await status(1)).toEqual({ name: 'Product 1', status: 'hit' })
  })
})

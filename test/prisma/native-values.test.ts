import { describe, expect, it } from 'vitest'
import { useCachedShop } from '../support/shop-fixture.js'

/**
 * A uuid key (`@db.Uuid`) names one row in any spelling PostgreSQL accepts: upper or lower case,
 * with or without hyphens, in braces. A read by one spelling and a write by another must meet:
 * the write invalidates the read (on the real server, which takes all of them).
 */

const shop = useCachedShop('native_values')
const LOWER = 'a02154da-3e8c-4b7e-9f51-0123456789ab'
const SPELLINGS = {
  upper: LOWER.toUpperCase(),
  braced: `{${LOWER}}`,
  bare: LOWER.replaceAll('-', ''),
}

async function visitViews(id: string): Promise<{ views: number | undefined; status: string }> {
  const { data, info } = await shop.prisma.visit.findUnique({ where: { id } }).withCacheInfo()
  return { views: data?.views, status: info.cacheStatus }
}

describe('uuid keys in any spelling', () => {
  it.each(Object.entries(SPELLINGS))(
    'a read by the %s spelling is invalidated by an update by another',
    async (_name, spelling) => {
      await shop.base.visit.create({ data: { id: LOWER, path: '/' } })
      expect(await visitViews(spelling)).toEqual({ views: 0, status: 'miss' })
      expect(await visitViews(spelling)).toEqual({ views: 0, status: 'hit' })
      await shop.prisma.visit.update({ where: { id: LOWER }, data: { views: { increment: 1 } } })
      expect(await visitViews(spelling)).toEqual({ views: 1, status: 'miss' })
    },
  )

  it('updateMany and deleteMany by `in` with another spelling reach the read', async () => {
    await shop.base.visit.create({ data: { id: LOWER, path: '/' } })
    await visitViews(SPELLINGS.upper)
    await shop.prisma.visit.updateMany({
      where: { id: { in: [SPELLINGS.braced] } },
      data: { views: 5 },
    })
    expect(await visitViews(SPELLINGS.upper)).toEqual({ views: 5, status: 'miss' })
    await shop.prisma.visit.deleteMany({ where: { id: { in: [SPELLINGS.bare] } } })
    expect(await visitViews(SPELLINGS.upper)).toEqual({ views: undefined, status: 'miss' })
  })

  it('a list by one spelling sees a row created with another', async () => {
    const list = () =>
      shop.prisma.visit.findMany({
        where: { id: { in: [SPELLINGS.upper] } },
        select: { path: true },
      })
    expect(await list()).toEqual([])
    await shop.prisma.visit.create({ data: { id: SPELLINGS.bare, path: '/new' } })
    expect(await list()).toEqual([{ path: '/new' }])
  })
})

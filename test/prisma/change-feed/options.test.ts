/**
 * The change feed's options and environment: every bad option or variable names itself when
 * the extension is made, the environment turns the feed on and off, and `changeFeed: false`
 * wins over it. No database is needed: the one feed made here points at a closed port and is
 * stopped by `$disconnect`.
 */
import { PrismaPg } from '@prisma/adapter-pg'
import { afterAll, describe, expect, it } from 'vitest'
import { PrismaClient } from '../../../prisma/generated/client.js'
import { CacheManager, ErrorCodes } from '../../../src/index.js'
import { removeChangeFeed } from '../../../src/prisma/change-feed/admin.js'
import { type WithCacheOptions, withCache } from '../../../src/prisma/index.js'
import { envFailure, validationErrorOf } from '../../support/validation.js'

/** Nothing listens on port 1: a feed pointed there retries in the background, harmlessly. */
const NOWHERE = 'postgresql://postgres@127.0.0.1:1/none'
const cache = new CacheManager()
const base = new PrismaClient({ adapter: new PrismaPg({ connectionString: NOWHERE }) })

afterAll(async () => {
  await base.$disconnect()
  await cache.close()
})

const make = (options: Omit<WithCacheOptions, 'cache'>) => withCache({ cache, ...options })

describe('bad changeFeed options name the field', () => {
  it.each([
    [{ connectionString: NOWHERE, slot: 'Has-Caps' }, 'options.changeFeed.slot'],
    [{ connectionString: NOWHERE, slot: 'x'.repeat(64) }, 'options.changeFeed.slot'],
    [{ connectionString: NOWHERE, publication: '1st' }, 'options.changeFeed.publication'],
    [{ connectionString: NOWHERE, channel: 'a;drop' }, 'options.changeFeed.channel'],
    // `<channel>_truncate` names a trigger: past 63 characters PostgreSQL would cut it.
    [{ connectionString: NOWHERE, channel: 'c'.repeat(55) }, 'options.changeFeed.channel'],
    [{ connectionString: NOWHERE, takeoverInterval: 5 }, 'options.changeFeed.takeoverInterval'],
    [{ connectionString: NOWHERE, takeoverInterval: 1.5 }, 'options.changeFeed.takeoverInterval'],
    [{ connectionString: NOWHERE, maxRowsPerModel: 0 }, 'options.changeFeed.maxRowsPerModel'],
    [{ connectionString: NOWHERE, lagWarningBytes: -1 }, 'options.changeFeed.lagWarningBytes'],
    [{ connectionString: NOWHERE, mode: 'auto' }, 'options.changeFeed.mode'],
    [{ connectionString: NOWHERE, schema: '' }, 'options.changeFeed.schema'],
    [{ connectionString: '' }, 'options.changeFeed.connectionString'],
    [{ connectionString: NOWHERE, surprise: true }, 'options.changeFeed.surprise'],
    [{}, 'options.changeFeed.connectionString'],
  ])('%j', (changeFeed, field) => {
    const error = validationErrorOf(() => make({ env: false, changeFeed: changeFeed as object }))
    expect(error.code).toBe(ErrorCodes.INVALID_OPTION)
    expect(error.field).toBe(field)
    expect(error.message).toContain(field)
  })

  it('not an object', () => {
    const error = validationErrorOf(() =>
      make({ env: false, changeFeed: 'yes' as unknown as false }),
    )
    expect(error.field).toBe('options.changeFeed')
  })

  it('a missing connectionString says DIRECT_DATABASE_URL would do, and it does', () => {
    const error = validationErrorOf(() => make({ env: {}, changeFeed: {} }))
    expect(error.message).toContain('DIRECT_DATABASE_URL')
    expect(() => make({ env: { DIRECT_DATABASE_URL: NOWHERE }, changeFeed: {} })).not.toThrow()
  })

  it('a channel of 54 characters is fine, and a long namespace gives one no longer', async () => {
    expect(() =>
      make({ env: false, changeFeed: { connectionString: NOWHERE, channel: 'c'.repeat(54) } }),
    ).not.toThrow()
    const prisma = base.$extends(
      make({
        env: false,
        namespace: 'n'.repeat(64),
        changeFeed: { connectionString: NOWHERE, takeoverInterval: 600_000 },
      }),
    )
    const status = prisma.$cache.changeFeed!.status()
    await prisma.$cache.changeFeed!.stop()
    expect(status.channel).toBe(`stratacache_${'n'.repeat(42)}`)
    expect(status.slot).toBe(`stratacache_${'n'.repeat(51)}`)
  })

  it('removeChangeFeed checks its options the same way', async () => {
    await expect(removeChangeFeed({ connectionString: NOWHERE, slot: 'Bad' })).rejects.toThrow(
      expect.objectContaining({ field: 'options.changeFeed.slot' }),
    )
    await expect(removeChangeFeed({ env: {} })).rejects.toThrow(
      expect.objectContaining({ field: 'options.changeFeed.connectionString' }),
    )
  })
})

describe('the environment', () => {
  /** `withCache` on `env` fails with ERR_INVALID_ENV on `field`; returns the message. */
  const feedEnvFailure = (env: Record<string, string>, field: string) =>
    envFailure(() => make({ env }), field)

  it.each(['logical', 'notify', 'auto'])(
    'CACHE_CHANGE_FEED=%s without DIRECT_DATABASE_URL names DIRECT_DATABASE_URL',
    (mode) => {
      expect(feedEnvFailure({ CACHE_CHANGE_FEED: mode }, 'DIRECT_DATABASE_URL')).toContain(
        'DIRECT_DATABASE_URL',
      )
    },
  )

  it('CACHE_CHANGE_FEED=sometimes names CACHE_CHANGE_FEED and its values', () => {
    const message = feedEnvFailure(
      { CACHE_CHANGE_FEED: 'sometimes', DIRECT_DATABASE_URL: NOWHERE },
      'CACHE_CHANGE_FEED',
    )
    expect(message).toContain('sometimes')
    expect(message).toContain('notify')
  })

  it.each(['mysql://root@127.0.0.1:3306/shop', 'http://127.0.0.1:5432/x', 'not a url'])(
    'DIRECT_DATABASE_URL=%s names DIRECT_DATABASE_URL',
    (url) => {
      feedEnvFailure(
        { CACHE_CHANGE_FEED: 'notify', DIRECT_DATABASE_URL: url },
        'DIRECT_DATABASE_URL',
      )
      // Also when the option leaves the connection to the environment.
      const error = validationErrorOf(() =>
        make({ env: { DIRECT_DATABASE_URL: url }, changeFeed: {} }),
      )
      expect(error.field).toBe('DIRECT_DATABASE_URL')
    },
  )

  it('CACHE_CHANGE_FEED=off, or unset, makes no feed', () => {
    for (const env of [{ CACHE_CHANGE_FEED: 'off', DIRECT_DATABASE_URL: NOWHERE }, {}]) {
      const prisma = base.$extends(make({ env }))
      expect(prisma.$cache.changeFeed).toBeUndefined()
      expect(prisma.$cache.stats().changeFeed).toBeUndefined()
    }
  })

  it('changeFeed: false wins over the environment, even a bad one', () => {
    for (const env of [
      { CACHE_CHANGE_FEED: 'logical', DIRECT_DATABASE_URL: NOWHERE },
      { CACHE_CHANGE_FEED: 'sometimes', DIRECT_DATABASE_URL: 'mysql://x' },
    ]) {
      const prisma = base.$extends(make({ env, changeFeed: false }))
      expect(prisma.$cache.changeFeed).toBeUndefined()
    }
  })

  it('CACHE_CHANGE_FEED=notify with DIRECT_DATABASE_URL makes a feed named after the namespace', async () => {
    const logs: string[] = []
    const logged = new CacheManager({
      logger: { warn: (_fields, message) => void logs.push(message) },
    })
    const prisma = new PrismaClient({
      adapter: new PrismaPg({ connectionString: NOWHERE }),
    }).$extends(
      withCache({
        cache: logged,
        namespace: 'Shop.EU-1',
        env: { CACHE_CHANGE_FEED: 'notify', DIRECT_DATABASE_URL: `${NOWHERE}?schema=shop` },
      }),
    )
    try {
      const feed = prisma.$cache.changeFeed!
      expect(feed.status()).toMatchObject({
        role: 'starting',
        mode: undefined,
        slot: 'stratacache_shop_eu_1',
        publication: 'stratacache_shop_eu_1',
        channel: 'stratacache_shop_eu_1',
      })
      // Nothing listens on the port: the feed keeps trying, and says why.
      await expect.poll(() => logs.join('\n'), { timeout: 5000 }).toContain('interrupted')
      expect(feed.status().role).toBe('starting')
      expect(feed.status().lastError).toBeDefined()
    } finally {
      await prisma.$disconnect()
      await logged.close()
    }
    expect(prisma.$cache.changeFeed!.status().role).toBe('stopped')
  })
})

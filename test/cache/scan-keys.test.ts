import { describe, expect, it } from 'vitest'
import { cacheInternals } from '../../src/cache/cache-manager.js'
import { RedisDriver } from '../../src/drivers/redis-driver.js'
import { type CacheOptions, escapeGlob, ValidationError } from '../../src/index.js'
import { keysUnder, REDIS_URL, useCaches } from '../support/redis.js'
import { waitFor } from '../support/wait.js'

const { raw, base, newCache } = useCaches('scan-keys')

const redisCache = (name: string, options: CacheOptions = {}) =>
  newCache({ redis: REDIS_URL, prefix: `${base}${name}:`, ...options })

/** Every batch of a listing. */
async function batchesOf(listing: AsyncIterable<string[]>): Promise<string[][]> {
  const batches: string[][] = []
  for await (const batch of listing) batches.push(batch)
  return batches
}

/** The keys a listing gives, sorted, once each (a SCAN may give a key twice). */
async function keysOf(listing: AsyncIterable<string[]>): Promise<string[]> {
  return [...new Set((await batchesOf(listing)).flat())].sort()
}

describe.each([
  ['Redis-backed', (name: string) => redisCache(name)],
  ['memory-only', (_name: string) => newCache()],
])('scanKeys, %s cache', (_kind, makeCache) => {
  it('lists the keys matching a glob, every key without one', async () => {
    const cache = makeCache('glob')
    await cache.set('user:1', { id: 1 })
    await cache.setBatch(
      [
        { key: 'user:2', value: 2 },
        { key: 'product:1', value: 'p' },
      ],
      ['catalog'],
    )
    await cache.set('user*x', 'star')
    await cache.increment('hits')
    expect(await keysOf(cache.scanKeys('user:*'))).toEqual(['user:1', 'user:2'])
    expect(await keysOf(cache.scanKeys('user[*]?'))).toEqual(['user*x'])
    expect(await keysOf(cache.scanKeys(`${escapeGlob('user*')}*`))).toEqual(['user*x'])
    expect(await keysOf(cache.scanKeys('nothing:*'))).toEqual([])
    // The tag index and the fence's keys are the cache's own, never entries.
    expect(await keysOf(cache.scanKeys())).toEqual([
      'hits',
      'product:1',
      'user*x',
      'user:1',
      'user:2',
    ])
  })

  it('leaves out deleted, invalidated and expired entries', async () => {
    const cache = makeCache('gone')
    await cache.set('a', 1)
    await cache.set('b', 2, { tags: ['t'] })
    await cache.set('c', 3)
    await cache.set('d', 4, { ttl: 50 })
    await cache.set('e', 5)
    await cache.delete('a')
    await cache.invalidateByTag('t')
    await cache.invalidateByPattern('c')
    // d expires on its own (TTL 50 ms); the others went at once.
    await waitFor(async () => (await keysOf(cache.scanKeys())).length === 1, {
      what: 'd to expire',
    })
    expect(await keysOf(cache.scanKeys())).toEqual(['e'])
    await cache.clear()
    expect(await batchesOf(cache.scanKeys())).toEqual([])
  })

  it('refuses a bad glob at once, and any listing once closed', async () => {
    const cache = makeCache('bad')
    for (const pattern of ['', 'x'.repeat(1025), 5 as unknown as string]) {
      expect(() => cache.scanKeys(pattern)).toThrow(ValidationError)
    }
    await cache.close()
    expect(() => cache.scanKeys()).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }))
  })

  it('a disabled cache lists nothing', async () => {
    const cache = makeCache('off')
    await cache.set('k', 1)
    cache.initialize({ enabled: false })
    expect(await batchesOf(cache.scanKeys())).toEqual([])
    expect(() => cache.scanKeys('')).toThrow(ValidationError)
  })
})

it('memory only: lists L1 in batches of 1000', async () => {
  const cache = newCache()
  await cache.setBatch(Array.from({ length: 2500 }, (_, i) => ({ key: `k${i}`, value: i })))
  const batches = await batchesOf(cache.scanKeys('k*'))
  expect(batches.map((batch) => batch.length)).toEqual([1000, 1000, 500])
  expect(new Set(batches.flat()).size).toBe(2500)
})

describe('scanKeys with Redis', () => {
  it('lists what Redis holds, entries this instance never read included', async () => {
    const writer = redisCache('shared')
    const reader = redisCache('shared')
    await writer.setBatch([
      { key: 'order:1', value: 1 },
      { key: 'order:2', value: 2 },
    ])
    expect(reader.getLocalCacheStats().entries).toBe(0)
    expect(await keysOf(reader.scanKeys('order:*'))).toEqual(['order:1', 'order:2'])
  })

  it('never lists its own keys, nor those of a cache whose prefix extends its own', async () => {
    const outer = redisCache('p')
    const nested = redisCache('p:nested')
    await outer.set('k', 1, { tags: ['t'] })
    await nested.set('n', 2)
    // Registered when its driver starts (best effort): wait until a clear would spare it too.
    await waitFor(
      async () => (await raw.sismember('__stratacache:prefixes', `${base}p:nested:`)) === 1,
    )
    const names = await keysUnder(raw, `${base}p:`, true)
    expect(names).toContain(`${base}p:nested:n`)
    expect(names.some((name) => name.startsWith(`${base}p:__sc:tag:`))).toBe(true)
    expect(await keysOf(outer.scanKeys())).toEqual(['k'])
  })

  it('sends a SCAN step only when the next batch is asked for, and skips empty ones', async () => {
    const driver = new RedisDriver({ url: REDIS_URL, prefix: `${base}steps:` })
    let steps = 0
    let stopped = false
    driver.scanKeys = async function* () {
      try {
        for (const batch of [['a'], [], ['b'], ['c']]) {
          steps++
          yield batch
        }
      } finally {
        stopped = true
      }
    }
    const cache = newCache({ l2: driver })
    const timed: string[] = []
    cacheInternals(cache).observeL2((operation) => timed.push(operation))
    expect(await batchesOf(cache.scanKeys())).toEqual([['a'], ['b'], ['c']])
    // Four steps and the one that says the listing is over, each a bounded call.
    expect(timed.filter((operation) => operation === 'scanKeys')).toHaveLength(5)
    steps = 0
    stopped = false
    for await (const batch of cache.scanKeys()) {
      expect(batch).toEqual(['a'])
      break
    }
    expect(steps).toBe(1)
    await waitFor(() => stopped, { what: "the driver's listing closed" })
  })

  it('a Redis failure or timeout ends the listing early, reported on "error"', async () => {
    const driver = new RedisDriver({ url: REDIS_URL, prefix: `${base}fails:` })
    let fail: () => Promise<never> = () => Promise.reject(new Error('connection lost'))
    driver.scanKeys = async function* () {
      yield ['a']
      await fail()
      yield ['b']
    }
    const cache = newCache({ l2: driver, commandTimeout: 50 })
    const errors: { operation: string; code?: string }[] = []
    cache.on('error', ({ error, operation }) =>
      errors.push({ operation, code: (error as { code?: string }).code }),
    )
    expect(await batchesOf(cache.scanKeys())).toEqual([['a']])
    fail = () => new Promise<never>(() => {})
    expect(await batchesOf(cache.scanKeys())).toEqual([['a']])
    expect(errors).toEqual([
      { operation: 'scanKeys', code: 'ERR_L2_UNAVAILABLE' },
      { operation: 'scanKeys', code: 'ERR_L2_TIMEOUT' },
    ])
  })

  it('while Redis is bypassed, lists L1', async () => {
    const prefix = `${base}degraded:`
    const other = redisCache('degraded')
    await other.set('remote', 1)
    const driver = new RedisDriver({ url: REDIS_URL, prefix })
    const cache = newCache({ l2: driver, circuitBreaker: { openDuration: '60s' } })
    expect(await keysOf(cache.scanKeys())).toEqual(['remote'])
    // A write Redis did not take opens the circuit at once.
    driver.set = () => Promise.reject(new Error('connection lost'))
    await cache.set('local', 2)
    expect(cache.getMetrics().degraded).toBe(true)
    expect(await keysOf(cache.scanKeys())).toEqual(['local'])
  })

  it('the driver lists its keys in SCAN steps of scanCount, without its prefix', async () => {
    const driver = new RedisDriver({ url: REDIS_URL, prefix: `${base}driver:`, scanCount: 25 })
    try {
      for (let i = 0; i < 20; i++) await driver.set(`k${i}`, Buffer.from('v'), 60_000, ['t'])
      const batches = await batchesOf(driver.scanKeys('k1*'))
      expect([...new Set(batches.flat())].sort()).toEqual(
        ['k1', ...Array.from({ length: 10 }, (_, i) => `k1${i}`)].sort(),
      )
      // Each batch (empty ones included) is one SCAN step, which collects about COUNT names: the
      // 60-odd names under the prefix alone (entries, tag records, version keys) take several.
      expect(batches.length).toBeGreaterThan(1)
    } finally {
      await driver.close()
    }
  })
})

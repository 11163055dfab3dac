import type { Redis } from 'ioredis'
import { Packr } from 'msgpackr'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { CACHE_PRESETS, CacheManager, type CacheOptions } from '../../src/index.js'
import { keysUnder, REDIS_URL, rawRedis, uniquePrefix } from '../support/redis.js'
import { waitFor } from '../support/wait.js'

let raw: Redis
beforeAll(() => {
  raw = rawRedis()
})
afterAll(async () => {
  await raw.quit()
})

const modes: [string, () => CacheOptions][] = [
  ['memory only', () => ({ prefix: uniquePrefix('mgr-mem') })],
  ['L1 + Redis', () => ({ redis: REDIS_URL, prefix: uniquePrefix('mgr-l1l2') })],
  ['Redis only', () => ({ redis: REDIS_URL, local: false, prefix: uniquePrefix('mgr-l2') })],
]

describe.each(modes)('CacheManager (%s)', (mode, makeOptions) => {
  const withRedis = mode !== 'memory only'
  let cache: CacheManager
  let options: CacheOptions
  const open: CacheManager[] = []
  function make(extra: CacheOptions = {}): CacheManager {
    const instance = new CacheManager({ ...options, ...extra })
    open.push(instance)
    return instance
  }

  afterEach(async () => {
    await cache.clear()
    await Promise.all(open.splice(0).map((c) => c.close()))
  })

  it('misses, then hits what was set, counting both', async () => {
    options = makeOptions()
    cache = make()
    expect(await cache.get('product:1')).toBeUndefined()
    await cache.set('product:1', { id: 1, name: 'cable', at: new Date(5) })
    expect(await cache.get('product:1')).toEqual({ id: 1, name: 'cable', at: new Date(5) })
    const metrics = cache.getMetrics()
    expect(metrics.hits).toBe(1)
    expect(metrics.misses).toBe(1)
    expect(metrics.hitRate).toBe(50)
    expect(metrics.sets).toBe(1)
    expect(metrics.averageSize).toBeGreaterThan(0)
    expect(withRedis ? metrics.l2Hits + metrics.l1Hits : metrics.l1Hits).toBe(1)
  })

  it('keeps null distinct from undefined and from absence', async () => {
    options = makeOptions()
    cache = make()
    await cache.set('n', null)
    expect(await cache.get('n')).toBeNull()
    expect(await cache.has('n')).toBe(true)
    expect(await cache.has('absent')).toBe(false)
  })

  it('isolates callers: mutating a value after set or after get does not change the cache', async () => {
    options = makeOptions()
    cache = make()
    const value = { list: [1, 2], nested: { ok: true }, when: new Date(1000) }
    await cache.set('iso', value)
    value.list.push(3)
    value.when.setTime(0)
    const first = await cache.get<typeof value>('iso')
    first!.nested.ok = false
    first!.list.length = 0
    expect(await cache.get('iso')).toEqual({
      list: [1, 2],
      nested: { ok: true },
      when: new Date(1000),
    })
  })

  it('expires entries after their TTL', async () => {
    options = makeOptions()
    cache = make()
    // Long enough that a stalled machine still reads it before it expires.
    await cache.set('short', 'v', { ttl: 1_000 })
    await cache.set('long', 'v', { ttl: '1m' })
    expect(await cache.get('short')).toBe('v')
    await waitFor(async () => (await cache.get('short')) === undefined, { what: 'expiry' })
    expect(await cache.get('long')).toBe('v')
    if (withRedis) {
      const ttl = await raw.pttl(`${options.prefix}long`)
      expect(ttl).toBeGreaterThan(50_000)
      expect(ttl).toBeLessThanOrEqual(60_000)
    }
  })

  it('deletes one key or many, in every tier', async () => {
    options = makeOptions()
    cache = make()
    await cache.setBatch([
      { key: 'a', value: 1 },
      { key: 'b', value: 2 },
      { key: 'c', value: 3 },
    ])
    await cache.delete('a')
    await cache.delete(['b', 'c'])
    expect(await cache.getBatch(['a', 'b', 'c'])).toEqual([undefined, undefined, undefined])
    expect(cache.getMetrics().deletes).toBe(3)
    if (withRedis) expect(await keysUnder(raw, `${options.prefix}`)).toEqual([])
  })

  it('invalidates by tag in both tiers and leaves untagged entries', async () => {
    options = makeOptions()
    cache = make()
    await cache.set('product:1', 1, { tags: ['products', 'featured'] })
    await cache.set('product:2', 2, { tags: 'products' })
    await cache.set('category:1', 3, { tags: ['categories'] })
    await cache.invalidateByTag('products')
    expect(await cache.getBatch(['product:1', 'product:2', 'category:1'])).toEqual([
      undefined,
      undefined,
      3,
    ])
    if (withRedis) {
      // Nothing tagged "products" is left in Redis: a second instance (fresh L1) misses too.
      const other = make()
      expect(await other.get('product:1')).toBeUndefined()
      expect(await other.get('category:1')).toBe(3)
    }
  })

  it('invalidates by glob and by RegExp, counting what it removed', async () => {
    options = makeOptions()
    cache = make()
    await cache.setBatch(
      ['product:1', 'product:2', 'product:list:1', 'cart:9'].map((key) => ({ key, value: key })),
    )
    expect(await cache.invalidateByPattern('product:?')).toBe(2)
    expect(await cache.get('product:list:1')).toBe('product:list:1')
    expect(await cache.invalidateByPattern(/^product:list:/)).toBe(1)
    expect(await cache.getBatch(['product:1', 'product:list:1', 'cart:9'])).toEqual([
      undefined,
      undefined,
      'cart:9',
    ])
  })

  it('returns getBatch results aligned with the keys, mixing hits and misses', async () => {
    options = makeOptions()
    cache = make()
    await cache.setBatch(
      [
        { key: 'k1', value: { n: 1 } },
        { key: 'k3', value: [3], ttl: '10s' },
      ],
      ['batch'],
    )
    expect(await cache.getBatch(['k0', 'k1', 'k2', 'k3'])).toEqual([
      undefined,
      { n: 1 },
      undefined,
      [3],
    ])
    await cache.invalidateByTag('batch')
    expect(await cache.getBatch(['k1', 'k3'])).toEqual([undefined, undefined])
  })

  it('stores nothing from a setBatch with one bad item', async () => {
    options = makeOptions()
    cache = make()
    await expect(
      cache.setBatch([
        { key: 'good', value: 1 },
        { key: 'bad', value: { fn: () => 1 } },
      ]),
    ).rejects.toMatchObject({ code: 'ERR_UNSERIALIZABLE', field: 'value.fn' })
    expect(await cache.get('good')).toBeUndefined()
  })

  it('counts with increment and keeps sets with addToSet / getSet', async () => {
    options = makeOptions()
    cache = make()
    expect(await cache.increment('views')).toBe(1)
    expect(await cache.increment('views', 4)).toBe(5)
    expect(await cache.get<number>('views')).toBe(5)
    expect(await cache.addToSet('visitors', ['u1', 'u2'])).toBe(2)
    expect(await cache.addToSet('visitors', ['u2', 'u3'])).toBe(1)
    expect((await cache.getSet('visitors')).sort()).toEqual(['u1', 'u2', 'u3'])
    expect(await cache.getSet('nobody')).toEqual([])
    if (withRedis) {
      expect(await raw.type(`${options.prefix}views`)).toBe('string')
      expect(await raw.type(`${options.prefix}visitors`)).toBe('set')
      expect(await raw.pttl(`${options.prefix}views`)).toBeGreaterThan(0)
      expect(await raw.pttl(`${options.prefix}visitors`)).toBeGreaterThan(0)
      // Shared: a second instance sees the same counter.
      expect(await make().increment('views')).toBe(6)
    }
  })

  it('clears its own entries and nothing else in Redis', async () => {
    options = makeOptions()
    cache = make()
    const foreign = `${uniquePrefix('foreign')}keep`
    if (withRedis) await raw.set(foreign, 'x', 'PX', 60_000)
    await cache.set('a', 1, { tags: ['t'] })
    await cache.increment('c')
    await cache.clear()
    expect(await cache.get('a')).toBeUndefined()
    expect(cache.getLocalCacheStats().entries).toBe(0)
    if (withRedis) {
      expect(await keysUnder(raw, `${options.prefix}`)).toEqual([])
      expect(await raw.get(foreign)).toBe('x')
      await raw.del(foreign)
    }
  })

  it('emits set, hit, miss, delete and invalidate events', async () => {
    options = makeOptions()
    cache = make()
    const seen: string[] = []
    for (const name of ['set', 'hit', 'miss', 'delete', 'invalidate'] as const) {
      cache.on(name, (payload: object) => seen.push(`${name}:${JSON.stringify(payload)}`))
    }
    await cache.get('e')
    await cache.set('e', 1, { tags: ['t'] })
    await cache.get('e')
    await cache.delete('e')
    await cache.invalidateByTag('t')
    expect(seen[0]).toBe('miss:{"key":"e"}')
    expect(seen[1]).toBe('set:{"key":"e","tags":["t"]}')
    expect(seen[2]).toMatch(/^hit:\{"key":"e","tier":"l[12]","stale":false\}$/)
    expect(seen[3]).toBe('delete:{"keys":["e"]}')
    expect(seen[4]).toMatch(/^invalidate:\{"kind":"tag","tags":\["t"\]/)
  })

  it('reports L1 size in entries and bytes', async () => {
    options = makeOptions()
    cache = make()
    await cache.set('big', 'x'.repeat(10_000))
    const stats = cache.getLocalCacheStats()
    if (options.local === false) {
      expect(stats).toMatchObject({ enabled: false, entries: 0 })
    } else {
      expect(stats.entries).toBe(1)
      expect(stats.totalSize).toBeGreaterThan(1000)
    }
  })
})

describe('CacheManager L1 bounds', () => {
  it('evicts least recently used entries past maxEntries, keeping the hot one', async () => {
    const cache = new CacheManager({ local: { maxEntries: 3 } })
    await cache.set('hot', 0)
    for (let i = 0; i < 10; i++) {
      await cache.set(`cold:${i}`, i)
      expect(await cache.get('hot')).toBe(0)
    }
    const stats = cache.getLocalCacheStats()
    expect(stats.entries).toBe(3)
    expect(stats.evictions).toBe(8)
    await cache.close()
  })

  it('stays under maxBytes', async () => {
    const cache = new CacheManager({ local: { maxBytes: 20_000 } })
    for (let i = 0; i < 20; i++) await cache.set(`k${i}`, 'y'.repeat(3_000))
    const stats = cache.getLocalCacheStats()
    expect(stats.totalSize).toBeLessThanOrEqual(20_000)
    expect(stats.entries).toBeGreaterThan(2)
    expect(stats.entries).toBeLessThan(20)
    expect(await cache.get('k19')).toBe('y'.repeat(3_000))
    await cache.close()
  })

  it('bounds L1 lifetime by local.ttl while L2 keeps the entry', async () => {
    const prefix = uniquePrefix('localttl')
    // Long enough that the reads right after a set or a promotion fall within it on a loaded
    // machine (50 ms did not); the waits below poll for its end.
    const cache = new CacheManager({ redis: REDIS_URL, prefix, local: { ttl: 1_000 } })
    await cache.set('k', 'v', { ttl: '1m' })
    expect(await cache.get('k')).toBe('v')
    expect(cache.getMetrics().l1Hits).toBe(1)
    await waitFor(
      async () => {
        expect(await cache.get('k')).toBe('v')
        return cache.getMetrics().l2Hits > 0
      },
      { what: 'an L2 hit once L1 let the entry go' },
    )
    // Promoted back into L1, again for at most local.ttl.
    const l2Hits = cache.getMetrics().l2Hits
    expect(await cache.get('k')).toBe('v')
    expect(cache.getMetrics().l2Hits).toBe(l2Hits)
    await waitFor(
      async () => {
        await cache.get('k')
        return cache.getMetrics().l2Hits > l2Hits
      },
      { what: 'the promoted copy to expire from L1 too' },
    )
    await cache.clear()
    await cache.close()
  })

  it('shares references only when asked to', async () => {
    const shared = new CacheManager({ local: { shareReferences: true } })
    await shared.set('o', { n: 1 })
    const a = await shared.get<{ n: number }>('o')
    expect(await shared.get('o')).toBe(a)
    const isolated = new CacheManager()
    await isolated.set('o', { n: 1 })
    expect(await isolated.get('o')).not.toBe(await isolated.get('o'))
    await shared.close()
    await isolated.close()
  })
})

describe('CacheManager across instances on one Redis', () => {
  it('sees the other instance writes and deletes in L2', async () => {
    const prefix = uniquePrefix('two')
    const a = new CacheManager({ redis: REDIS_URL, prefix })
    const b = new CacheManager({ redis: REDIS_URL, prefix, local: false })
    await a.set('shared', { v: 1 }, { tags: ['t'] })
    expect(await b.get('shared')).toEqual({ v: 1 })
    await b.set('from-b', 'hello')
    expect(await a.get('from-b')).toBe('hello')
    await a.delete('shared')
    expect(await b.get('shared')).toBeUndefined()
    await b.set('shared', { v: 2 }, { tags: ['t'] })
    await a.invalidateByTag('t')
    expect(await b.get('shared')).toBeUndefined()
    await a.clear()
    await Promise.all([a.close(), b.close()])
  })

  it('treats a corrupted value in Redis as a miss and counts an error', async () => {
    const prefix = uniquePrefix('corrupt')
    const cache = new CacheManager({ redis: REDIS_URL, prefix })
    const errors: string[] = []
    cache.on('error', ({ error }) => errors.push((error as { code?: string }).code ?? 'none'))
    await raw.set(`${prefix}bad`, Buffer.from([0xc1, 0x7f, 1, 2, 3]), 'PX', 60_000)
    await raw.set(`${prefix}json`, '{"a":1}', 'PX', 60_000)
    expect(await cache.get('bad')).toBeUndefined()
    expect(await cache.get('json')).toBeUndefined()
    expect(await cache.getBatch(['bad', 'json'])).toEqual([undefined, undefined])
    const metrics = cache.getMetrics()
    expect(metrics.corruptedValues).toBe(4)
    expect(metrics.errors).toBe(4)
    expect(errors).toEqual([
      'ERR_CORRUPTED_VALUE',
      'ERR_CORRUPTED_VALUE',
      'ERR_CORRUPTED_VALUE',
      'ERR_CORRUPTED_VALUE',
    ])
    // The loader repairs it.
    expect(await cache.getOrCompute('bad', () => 'fixed')).toBe('fixed')
    expect(await new CacheManager({ redis: REDIS_URL, prefix, local: false }).get('bad')).toBe(
      'fixed',
    )
    await cache.clear()
    await cache.close()
  })

  it('reads a hostile value in Redis (a cycle, shared references) as a miss the loader repairs', async () => {
    const prefix = uniquePrefix('hostile')
    const cache = new CacheManager({ redis: REDIS_URL, prefix })
    const cloning = new Packr({ moreTypes: true, useRecords: false, structuredClone: true })
    const header = Buffer.from([0xc1, 0x20, 1, 2, 3, 4, 0, 0, 0, 1])
    const cyclic: Record<string, unknown> = { id: 1 }
    cyclic.self = cyclic
    let shared: Record<string, unknown> = { leaf: 1 }
    for (let level = 0; level < 40; level++) shared = { a: shared, b: shared }
    const entry = (value: unknown) => Buffer.concat([header, cloning.pack([value, 1e15, [], 0])])
    await raw.set(`${prefix}cyclic`, entry(cyclic), 'PX', 60_000)
    await raw.set(`${prefix}shared`, entry(shared), 'PX', 60_000)
    expect(await cache.get('cyclic')).toBeUndefined()
    expect(await cache.getOrCompute('shared', () => 'loaded')).toBe('loaded')
    expect(await cache.getOrCompute('cyclic', () => 'loaded too')).toBe('loaded too')
    expect(await cache.get('cyclic')).toBe('loaded too')
    // At least once per call that met a hostile value (a miss may read it twice: the fill reads it again).
    expect(cache.getMetrics().corruptedValues).toBeGreaterThanOrEqual(3)
    await cache.clear()
    await cache.close()
  })

  it('refuses to store a value larger than maxValueBytes', async () => {
    const cache = new CacheManager({
      redis: REDIS_URL,
      prefix: uniquePrefix('max-value'),
      maxValueBytes: 1024,
    })
    await expect(cache.set('big', 'x'.repeat(2000))).rejects.toMatchObject({
      code: 'ERR_UNSERIALIZABLE',
      message: expect.stringContaining('maxValueBytes (1024)'),
    })
    expect(await cache.get('big')).toBeUndefined()
    await cache.set('small', 'x'.repeat(500))
    expect(await cache.get('small')).toBe('x'.repeat(500))
    await cache.clear()
    await cache.close()
  })

  it('compresses large values in Redis and reads them back', async () => {
    const prefix = uniquePrefix('compress')
    const cache = new CacheManager({ redis: REDIS_URL, prefix, compressionThreshold: 256 })
    const big = { text: 'abc'.repeat(5_000), rows: Array.from({ length: 100 }, (_, i) => ({ i })) }
    await cache.set('big', big)
    const stored = await raw.getBuffer(`${prefix}big`)
    expect(stored!.length).toBeLessThan(5_000)
    const reader = new CacheManager({ redis: REDIS_URL, prefix, local: false })
    expect(await reader.get('big')).toEqual(big)
    await cache.clear()
    await Promise.all([cache.close(), reader.close()])
  })
})

describe('CacheManager.initialize and fromEnv', () => {
  it('switches presets relative to the constructor options, keeping Redis where the preset allows', async () => {
    const prefix = uniquePrefix('presets')
    const cache = new CacheManager({ redis: REDIS_URL, prefix, local: { maxEntries: 50 } })
    cache.initialize(CACHE_PRESETS.MEMORY_ONLY)
    await cache.set('mem', 1)
    expect(await raw.exists(`${prefix}mem`)).toBe(0)
    cache.initialize(CACHE_PRESETS.DISTRIBUTED)
    await cache.set('dist', 2)
    expect(await raw.exists(`${prefix}dist`)).toBe(1)
    expect(cache.getLocalCacheStats().enabled).toBe(false)
    const ttl = await raw.pttl(`${prefix}dist`)
    expect(ttl).toBeGreaterThan(7_000_000)
    cache.initialize(CACHE_PRESETS.AGGRESSIVE)
    await cache.set('aggr', 3)
    expect(await raw.pttl(`${prefix}aggr`)).toBeLessThanOrEqual(300_000)
    expect(cache.getLocalCacheStats()).toMatchObject({ enabled: true, maxEntries: 50 })
    await cache.clear()
    await cache.close()
  })

  it('reads REDIS_URL, CACHE_PREFIX and CACHE_TTL from the environment', async () => {
    const prefix = uniquePrefix('env')
    const cache = CacheManager.fromEnv({ REDIS_URL, CACHE_PREFIX: prefix, CACHE_TTL: '120000' })
    await cache.set('k', 'v')
    const ttl = await raw.pttl(`${prefix}k`)
    expect(ttl).toBeGreaterThan(100_000)
    expect(ttl).toBeLessThanOrEqual(120_000)
    await cache.clear()
    await cache.close()
    expect(() => CacheManager.fromEnv({ CACHE_TTL: 'soon' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ENV', field: 'CACHE_TTL' }),
    )
  })
})

describe('CacheManager with Redis answering errors or not at all', () => {
  it('does not count a WRONGTYPE reply as Redis being down', async () => {
    const prefix = uniquePrefix('wrongtype')
    const cache = new CacheManager({
      redis: REDIS_URL,
      prefix,
      circuitBreaker: { failureThreshold: 2 },
    })
    let degraded = 0
    cache.on('degraded', () => degraded++)
    cache.on('error', () => undefined)
    await cache.addToSet('members', ['a'])
    for (let i = 0; i < 5; i++) expect(await cache.get('members')).toBeUndefined()
    expect(degraded).toBe(0)
    expect(cache.getMetrics().degraded).toBe(false)
    expect(await cache.getSet('members')).toEqual(['a'])
    await cache.clear()
    await cache.close()
  })

  it('keeps counting and collecting in memory while Redis cannot be reached', async () => {
    const cache = new CacheManager({ redis: 'redis://127.0.0.1:1', commandTimeout: 50 })
    cache.on('error', () => undefined)
    expect(await cache.increment('n')).toBe(1)
    expect(await cache.increment('n', 2)).toBe(3)
    expect(await cache.addToSet('s', ['a', 'b'])).toBe(2)
    expect(await cache.addToSet('s', ['b', 'c'])).toBe(1)
    expect((await cache.getSet('s')).sort()).toEqual(['a', 'b', 'c'])
    await cache.close()
  })
})

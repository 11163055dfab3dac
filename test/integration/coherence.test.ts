import { afterEach, describe, expect, it } from 'vitest'
import { CacheManager, type CacheOptions, MemoryBus, MemoryBusHub } from '../../src/index.js'
import { REDIS_URL, rawRedis, uniquePrefix } from '../support/redis.js'
import { deferred, waitFor } from '../support/wait.js'

/**
 * Two instances in one process, each with its own L1, on one Redis, joined by an in-process bus
 * (MemoryBus) whose hub can delay or cut delivery: what crosses between them and what happens
 * when the bus cannot be trusted. Real processes are in cross-instance.test.ts.
 */
const open: CacheManager[] = []
afterEach(async () => {
  for (const cache of open.splice(0)) {
    await cache.clear().catch(() => undefined)
    await cache.close()
  }
})

function pair(extra: CacheOptions = {}, hub = new MemoryBusHub()) {
  const prefix = uniquePrefix('coherence')
  const channel = prefix
  const busA = new MemoryBus({ hub, channel })
  const busB = new MemoryBus({ hub, channel })
  const a = new CacheManager({ redis: REDIS_URL, prefix, bus: busA, ...extra })
  const b = new CacheManager({ redis: REDIS_URL, prefix, bus: busB, ...extra })
  open.push(a, b)
  return { a, b, hub, busA, busB, prefix }
}

/** Reads `key` on `cache` until it is served from L1 (so the test starts from a warm L1). */
async function warm(cache: CacheManager, key: string): Promise<void> {
  await cache.get(key)
  const before = cache.getMetrics().l1Hits
  await cache.get(key)
  expect(cache.getMetrics().l1Hits).toBe(before + 1)
}

describe('the bus keeps other instances coherent', () => {
  const invalidations: [string, (c: CacheManager) => Promise<unknown>, unknown][] = [
    ['delete', (c) => c.delete('product:1'), undefined],
    ['set', (c) => c.set('product:1', { price: 2 }, { tags: ['products'] }), { price: 2 }],
    ['invalidateByTag', (c) => c.invalidateByTag('products'), undefined],
    ['invalidateByPattern glob', (c) => c.invalidateByPattern('product:*'), undefined],
    ['invalidateByPattern RegExp', (c) => c.invalidateByPattern(/^product:\d$/), undefined],
    ['clear', (c) => c.clear(), undefined],
  ]

  it.each(invalidations)(
    '%s on one instance drops the other instance L1 copy',
    async (_n, act, after) => {
      const { a, b } = pair()
      await a.set('product:1', { price: 1 }, { tags: ['products'] })
      await warm(b, 'product:1')
      await act(a)
      // MemoryBus delivers synchronously: by the time the write resolved, B has dropped its copy.
      expect(await b.get('product:1')).toEqual(after)
      expect(b.getMetrics().busReceived).toBeGreaterThan(0)
    },
  )

  it('re-emits the other instance invalidations as events marked remote', async () => {
    const { a, b } = pair()
    await a.set('k', 1, { tags: ['t'] })
    await warm(b, 'k')
    const seen: unknown[] = []
    b.on('delete', (event) => seen.push(event))
    b.on('invalidate', (event) => seen.push(event))
    await a.delete('k')
    await a.invalidateByTag('t')
    await a.invalidateByPattern('x:*')
    await a.clear()
    expect(seen).toEqual([
      { keys: ['k'], remote: true },
      // B's copy went with the delete, so the tag finds nothing left in B's L1.
      { kind: 'tag', tags: ['t'], removed: 0, remote: true },
      { kind: 'pattern', pattern: 'x:*', removed: 0, remote: true },
      { kind: 'clear', remote: true },
    ])
    // The first set reached B too, as a delete of a copy B did not have yet.
    expect(b.getMetrics().busReceived).toBe(5)
  })

  it('without a bus, the other instance keeps serving its stale copy (what the bus prevents)', async () => {
    const prefix = uniquePrefix('nobus')
    const a = new CacheManager({ redis: REDIS_URL, prefix, bus: false })
    const b = new CacheManager({ redis: REDIS_URL, prefix, bus: false })
    open.push(a, b)
    await a.set('k', 'old')
    await warm(b, 'k')
    await a.set('k', 'new')
    expect(await b.get('k')).toBe('old')
  })

  it('strict mode never serves a replaced or deleted value, even without a bus', async () => {
    const prefix = uniquePrefix('strict')
    const a = new CacheManager({ redis: REDIS_URL, prefix, bus: false })
    const b = new CacheManager({ redis: REDIS_URL, prefix, bus: false, consistency: 'strict' })
    open.push(a, b)
    await a.set('k', 'v1')
    await warm(b, 'k')
    for (let version = 2; version <= 20; version++) {
      await a.set('k', `v${version}`)
      expect(await b.get('k')).toBe(`v${version}`)
      expect(await b.getOrCompute('k', () => 'loaded')).toBe(`v${version}`)
    }
    await b.getBatch(['k'])
    await a.set('k', 'batch')
    expect(await b.getBatch(['k'])).toEqual(['batch'])
    await a.delete('k')
    expect(await b.get('k')).toBeUndefined()
    expect(await b.has('k')).toBe(false)
    expect(await b.getBatch(['k'])).toEqual([undefined])
    // And an unchanged entry is still served from L1 (after one stamp check).
    await a.set('stable', 's')
    await b.get('stable')
    const l1Hits = b.getMetrics().l1Hits
    expect(await b.get('stable')).toBe('s')
    expect(b.getMetrics().l1Hits).toBe(l1Hits + 1)
  })
})

describe('initialize() and the bus', () => {
  it('initialize({ bus: false }) unlinks the bus: the other instance writes no longer reach L1', async () => {
    const { a, b } = pair()
    await a.set('k', 'old')
    b.initialize({ bus: false })
    await warm(b, 'k')
    await a.set('k', 'new')
    expect(await b.get('k')).toBe('old')
  })
})

describe('missed invalidations are not silent (guarantee 4)', () => {
  it('a partitioned bus flushes L1, caps what L1 takes meanwhile, and flushes again on recovery', async () => {
    const { a, b, hub, busB } = pair({ untrustedLocalTtl: 200 })
    const events: string[] = []
    b.on('untrusted', ({ reason }) => events.push(`untrusted: ${reason}`))
    b.on('trusted', () => events.push('trusted'))
    await a.set('k', 'v1')
    await warm(b, 'k')
    hub.partition(busB)
    expect(events).toEqual([expect.stringMatching(/^untrusted: /)])
    expect(b.getLocalCacheStats().entries).toBe(0)
    expect(b.getMetrics()).toMatchObject({ busTrusted: false, busTrustLost: 1 })
    // A write B never hears of:
    await a.set('k', 'v2')
    // B reads from Redis, and keeps it in L1 only briefly...
    expect(await b.get('k')).toBe('v2')
    await a.set('k', 'v3')
    await waitFor(async () => (await b.get('k')) === 'v3', { what: 'the capped L1 copy to expire' })
    hub.heal(busB)
    await waitFor(() => events.includes('trusted'), { what: 'trust to come back' })
    expect(b.getLocalCacheStats().entries).toBe(0)
  })

  it('a fill in flight when trust is lost does not store its value in L1', async () => {
    const { b, hub, busB } = pair()
    const gate = deferred()
    const pending = b.getOrCompute('slow', async () => {
      await gate.promise
      return 'read before the partition'
    })
    await waitFor(() => b.getMetrics().loaderCalls === 1, { what: 'the loader to start' })
    hub.partition(busB)
    gate.resolve()
    expect(await pending).toBe('read before the partition')
    expect(b.getLocalCacheStats().entries).toBe(0)
    expect(b.getMetrics().fencedFills).toBe(1)
  })
})

describe('fills across instances', () => {
  it('runs one loader for concurrent misses on two instances (lease), both get the value', async () => {
    const { a, b } = pair()
    const gate = deferred()
    let calls = 0
    const loader = async () => {
      calls++
      await gate.promise
      return { id: 1 }
    }
    const all = [
      ...Array.from({ length: 50 }, () => a.getOrCompute('cold', loader)),
      ...Array.from({ length: 50 }, () => b.getOrCompute('cold', loader)),
    ]
    await waitFor(() => calls === 1, { what: 'the lease holder to start loading' })
    gate.resolve()
    const values = await Promise.all(all)
    expect(calls).toBe(1)
    for (const value of values) expect(value).toEqual({ id: 1 })
  })

  it('a fill overtaken by another instance write is not stored anywhere (fence in Redis)', async () => {
    const { a, b, prefix } = pair()
    const gate = deferred()
    const pending = a.getOrCompute('row', async () => {
      await gate.promise
      return 'old'
    })
    await waitFor(() => a.getMetrics().loaderCalls === 1, { what: 'the loader to start' })
    await b.set('row', 'new')
    gate.resolve()
    expect(await pending).toBe('old')
    expect(a.getMetrics().fencedFills).toBe(1)
    expect(await a.get('row')).toBe('new')
    expect(await b.get('row')).toBe('new')
    const raw = rawRedis()
    const reader = new CacheManager({ redis: REDIS_URL, prefix, bus: false, local: false })
    open.push(reader)
    expect(await reader.get('row')).toBe('new')
    expect(await raw.exists(`${prefix}__sc:lease:row`)).toBe(0)
    await raw.quit()
  })

  it('a loader slower than fenceWindow does not store (its fence may have expired)', async () => {
    const { a } = pair({ fenceWindow: 30 })
    const value = await a.getOrCompute('slow', async () => {
      await new Promise((resolve) => setTimeout(resolve, 80))
      return 'late'
    })
    expect(value).toBe('late')
    expect(a.getMetrics().fencedFills).toBe(1)
    expect(await a.get('slow')).toBeUndefined()
  })

  it('a crashed lease holder delays the others by at most one lease', async () => {
    const prefix = uniquePrefix('lease')
    const raw = rawRedis()
    // A lease taken by an instance that died: nobody will release it.
    await raw.set(`${prefix}__sc:lease:orphan`, 'dead-instance', 'PX', 300)
    const cache = new CacheManager({ redis: REDIS_URL, prefix, lease: 300 })
    open.push(cache)
    const started = Date.now()
    expect(await cache.getOrCompute('orphan', () => 'loaded')).toBe('loaded')
    const waited = Date.now() - started
    expect(waited).toBeGreaterThanOrEqual(200)
    expect(waited).toBeLessThan(2_000)
    await raw.quit()
  })
})

describe('probabilistic early refresh (XFetch)', () => {
  it('refreshes a hot key before it expires, once at a time, and never with earlyRefresh: false', async () => {
    const prefix = uniquePrefix('xfetch')
    const cache = new CacheManager({ redis: REDIS_URL, prefix, earlyRefresh: 1 })
    const off = new CacheManager({ prefix: uniquePrefix('xfetch-off'), earlyRefresh: false })
    open.push(cache, off)
    let loads = 0
    // A loader that takes ~40 ms against a 150 ms TTL: XFetch should refresh well before expiry.
    const loader = async () => {
      loads++
      await new Promise((resolve) => setTimeout(resolve, 40))
      return loads
    }
    await cache.getOrCompute('hot', loader, { ttl: 150 })
    await waitFor(async () => {
      await cache.getOrCompute('hot', loader, { ttl: 150 })
      // The refresh really ran the loader (with Redis, it must not settle for the fresh value).
      return cache.getMetrics().earlyRefreshes > 0 && loads >= 2
    })
    // Hits never waited for a miss: the refresh ran in the background while they were served.
    expect(cache.getMetrics().misses).toBe(1)
    let offLoads = 0
    await off.getOrCompute('hot', async () => ++offLoads, { ttl: '1m' })
    for (let i = 0; i < 200; i++)
      await off.getOrCompute('hot', async () => ++offLoads, { ttl: '1m' })
    expect(off.getMetrics().earlyRefreshes).toBe(0)
    expect(offLoads).toBe(1)
  })
})

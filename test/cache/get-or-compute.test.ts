import { afterEach, describe, expect, it } from 'vitest'
import { CacheManager, type CacheOptions } from '../../src/index.js'
import { REDIS_URL, uniquePrefix } from '../support/redis.js'
import { deferred, waitFor } from '../support/wait.js'

const modes: [string, () => CacheOptions][] = [
  ['memory only', () => ({})],
  ['L1 + Redis', () => ({ redis: REDIS_URL, prefix: uniquePrefix('goc') })],
]

describe.each(modes)('getOrCompute (%s)', (_mode, makeOptions) => {
  const open: CacheManager[] = []
  function make(extra: CacheOptions = {}): CacheManager {
    const cache = new CacheManager({ ...makeOptions(), ...extra })
    open.push(cache)
    return cache
  }
  afterEach(async () => {
    for (const cache of open.splice(0)) {
      await cache.clear()
      await cache.close()
    }
  })

  it('calls the loader once for 200 concurrent callers of one cold key', async () => {
    const cache = make()
    const gate = deferred()
    let calls = 0
    const loader = async () => {
      calls++
      await gate.promise
      return { id: 7, tags: ['a'] }
    }
    const all = Array.from({ length: 200 }, () => cache.getOrCompute('cold', loader))
    await waitFor(() => calls === 1, { what: 'the loader to start' })
    gate.resolve()
    const results = await Promise.all(all)
    expect(calls).toBe(1)
    for (const result of results) expect(result).toEqual({ id: 7, tags: ['a'] })
    // Every caller got its own copy.
    expect(new Set(results).size).toBe(200)
    expect(await cache.getOrCompute('cold', loader)).toEqual({ id: 7, tags: ['a'] })
    expect(calls).toBe(1)
    expect(cache.getMetrics().loaderCalls).toBe(1)
  })

  it('caches the loader result with its tags, so invalidateByTag forces a reload', async () => {
    const cache = make()
    let version = 0
    const load = () => ++version
    expect(await cache.getOrCompute('v', load, { tags: ['versions'] })).toBe(1)
    expect(await cache.getOrCompute('v', load, { tags: ['versions'] })).toBe(1)
    await cache.invalidateByTag('versions')
    expect(await cache.getOrCompute('v', load, { tags: ['versions'] })).toBe(2)
  })

  it('serves the stale value while one background refresh runs (stale-while-revalidate)', async () => {
    const cache = make()
    let version = 0
    const refreshGate = deferred()
    const load = async () => {
      version++
      if (version > 1) await refreshGate.promise
      return version
    }
    // Stored for 30 ms, so that it goes stale at once; the stale reads ask for a minute, which
    // is what their refresh stores: a loaded machine cannot let the refreshed value go stale
    // too before the test reads it (and refresh again).
    expect(await cache.getOrCompute('swr', load, { ttl: 30, staleWhileRevalidate: '1m' })).toBe(1)
    const options = { ttl: 60_000, staleWhileRevalidate: '1m' }
    await waitFor(async () => !(await cache.has('swr')), { what: 'the entry to go stale' })
    const stale = await Promise.all(
      Array.from({ length: 20 }, () => cache.getOrCompute('swr', load, options)),
    )
    expect(stale).toEqual(Array(20).fill(1))
    // One refresh for the 20 stale reads (it may first ask Redis for a lease).
    await waitFor(() => version === 2, { what: 'the background refresh to start' })
    expect(cache.getMetrics().staleHits).toBe(20)
    refreshGate.resolve()
    await waitFor(async () => (await cache.get('swr')) === 2, { what: 'the refresh to land' })
    expect(await cache.getOrCompute('swr', load, options)).toBe(2)
    expect(version).toBe(2)
  })

  it('serves the stale value when the loader throws (stale-if-error), and rethrows without one', async () => {
    const cache = make()
    const errors: string[] = []
    cache.on('error', ({ operation }) => errors.push(operation))
    expect(await cache.getOrCompute('sie', () => 'good', { ttl: 30, staleIfError: '1m' })).toBe(
      'good',
    )
    await waitFor(async () => !(await cache.has('sie')), { what: 'the entry to go stale' })
    const failing = () => {
      throw new Error('database down')
    }
    expect(await cache.getOrCompute('sie', failing, { ttl: 30, staleIfError: '1m' })).toBe('good')
    expect(errors).toEqual(['getOrCompute'])
    await expect(
      cache.getOrCompute('never-cached', failing, { staleIfError: true }),
    ).rejects.toThrow('database down')
    expect(cache.getMetrics().loaderErrors).toBe(2)
  })

  it('does not serve a value older than the staleIfError window', async () => {
    const cache = make()
    await cache.getOrCompute('old', () => 'v1', { ttl: 20, staleIfError: 20 })
    await new Promise((resolve) => setTimeout(resolve, 80))
    await expect(
      cache.getOrCompute('old', () => Promise.reject(new Error('boom')), {
        ttl: 20,
        staleIfError: 20,
      }),
    ).rejects.toThrow('boom')
  })

  it('bounds the wait with timeout, and the late value still fills the cache', async () => {
    const cache = make()
    const gate = deferred<string>()
    const started = Date.now()
    await expect(
      cache.getOrCompute('slow', () => gate.promise, { timeout: 50 }),
    ).rejects.toMatchObject({
      code: 'ERR_LOADER_TIMEOUT',
    })
    expect(Date.now() - started).toBeLessThan(1_000)
    expect(cache.getMetrics().loaderTimeouts).toBe(1)
    gate.resolve('late')
    await waitFor(async () => (await cache.get('slow')) === 'late', { what: 'the late fill' })
  })

  it('fences a fill that an invalidation overtook: the caller gets its value, the cache keeps nothing', async () => {
    const cache = make()
    const gate = deferred()
    const pending = cache.getOrCompute(
      'product:1',
      async () => {
        await gate.promise
        return { price: 42 }
      },
      { tags: ['products'] },
    )
    await waitFor(() => cache.getMetrics().loaderCalls === 1, { what: 'loader start' })
    // The write happens while the loader holds the old row.
    await cache.delete('product:1')
    gate.resolve()
    expect(await pending).toEqual({ price: 42 })
    expect(await cache.get('product:1')).toBeUndefined()
    expect(cache.getMetrics().fencedFills).toBe(1)
  })

  it('fences against tag, pattern and clear invalidations too, but not unrelated ones', async () => {
    const cache = make()
    const cases: [string, (c: CacheManager) => Promise<unknown>, boolean][] = [
      ['tag', (c) => c.invalidateByTag('t'), false],
      ['pattern', (c) => c.invalidateByPattern('fill:*'), false],
      ['clear', (c) => c.clear(), false],
      ['other tag', (c) => c.invalidateByTag('unrelated'), true],
      ['other key', (c) => c.delete('elsewhere'), true],
    ]
    for (const [name, invalidate, kept] of cases) {
      const gate = deferred()
      const key = `fill:${name}`
      const before = cache.getMetrics().loaderCalls
      const pending = cache.getOrCompute(
        key,
        async () => {
          await gate.promise
          return name
        },
        { tags: ['t'] },
      )
      await waitFor(() => cache.getMetrics().loaderCalls > before, { what: 'loader start' })
      await invalidate(cache)
      gate.resolve()
      expect(await pending).toBe(name)
      expect(await cache.get(key), name).toBe(kept ? name : undefined)
      await cache.clear()
    }
  })

  it('a read that starts after a write does not join a load that began before it (guarantee 1)', async () => {
    const cache = make()
    let db = 1
    const gate = deferred()
    const load = async () => {
      const read = db
      if (read === 1) await gate.promise
      return read
    }
    const early = cache.getOrCompute('row', load, { tags: ['rows'] })
    await waitFor(() => cache.getMetrics().loaderCalls === 1, { what: 'the first load' })
    db = 2
    await cache.delete('row')
    // Began after the write was acknowledged: must not get the value read before it.
    expect(await cache.getOrCompute('row', load, { tags: ['rows'] })).toBe(2)
    gate.resolve()
    expect(await early).toBe(1)
    expect(await cache.get('row')).toBe(2)
    // The same through a tag invalidation.
    const gate2 = deferred()
    db = 3
    const load2 = async () => {
      const read = db
      if (read === 3) await gate2.promise
      return read
    }
    await cache.delete('row')
    const early2 = cache.getOrCompute('row', load2, { tags: ['rows'] })
    await waitFor(() => cache.getMetrics().loaderCalls === 3, { what: 'the third load' })
    db = 4
    await cache.invalidateByTag('rows')
    expect(await cache.getOrCompute('row', load2, { tags: ['rows'] })).toBe(4)
    gate2.resolve()
    expect(await early2).toBe(3)
  })

  it('passes straight through to the loader when disabled', async () => {
    const cache = make({ enabled: false })
    let calls = 0
    expect(await cache.getOrCompute('k', () => ++calls)).toBe(1)
    expect(await cache.getOrCompute('k', () => ++calls)).toBe(2)
    await cache.set('k', 'v')
    expect(await cache.get('k')).toBeUndefined()
  })
})

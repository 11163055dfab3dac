import { afterAll, describe, expect, it } from 'vitest'
import { localOnly } from '../../src/cache/call-options.js'
import { CacheManager } from '../../src/index.js'
import { deleteKeysUnder, REDIS_URL, rawRedis, uniquePrefix } from '../support/redis.js'
import { deferred, waitFor } from '../support/wait.js'

// A loader's value marked localOnly stays in the process that loaded it: L1, never Redis (used
// for fills a read replica answered, which other instances must not take as theirs).

describe('localOnly fills (real Redis, two instances)', () => {
  const prefix = uniquePrefix('local_only')
  const caches: CacheManager[] = []
  const instance = () => {
    const cache = new CacheManager({ redis: REDIS_URL, prefix })
    caches.push(cache)
    return cache
  }

  afterAll(async () => {
    for (const cache of caches) await cache.close()
    const redis = rawRedis()
    await deleteKeysUnder(redis, prefix)
    redis.disconnect()
  })

  it('keeps the value in L1 only; another instance loads for itself', async () => {
    const a = instance()
    const b = instance()
    const value = { id: 1, owner: 'from a replica' }
    const loaded = await a.getOrCompute(
      'account:1',
      () => localOnly(value) as unknown as typeof value,
    )
    expect(loaded).toEqual(value) // the caller gets the value, not the mark
    expect(await a.get('account:1')).toEqual(value) // kept in A's L1
    expect(await b.get('account:1')).toBeUndefined() // never written to Redis
    let loads = 0
    const fromB = await b.getOrCompute('account:1', () => {
      loads++
      return { id: 1, owner: 'from the primary' }
    })
    expect(fromB.owner).toBe('from the primary')
    expect(loads).toBe(1)
    // B's plain fill is shared: a third instance takes it from Redis.
    expect(await instance().get('account:1')).toEqual({ id: 1, owner: 'from the primary' })
  })

  it('is fenced like any fill: an invalidation that reaches it while it loads keeps it out of L1', async () => {
    const a = instance()
    const b = instance()
    /** A localOnly fill of `key` tagged Account, its loader held until `during` has run. */
    const heldFill = async (key: string, during: () => Promise<unknown>) => {
      const gate = deferred()
      const loadersBefore = a.getMetrics().loaderCalls
      const pending = a.getOrCompute(
        key,
        async () => {
          await gate.promise
          return localOnly({ key }) as unknown as { key: string }
        },
        { tags: ['Account'] },
      )
      await waitFor(() => a.getMetrics().loaderCalls === loadersBefore + 1, {
        what: 'the loader to start',
      })
      await during()
      gate.resolve()
      expect(await pending).toEqual({ key }) // the caller gets its value either way
    }

    // Control: nothing happens while it loads, so the fill is kept.
    await heldFill('account:2', async () => {})
    expect(a.getMetrics().fencedFills).toBe(0)
    expect(await a.get('account:2')).toEqual({ key: 'account:2' })

    // This instance invalidates the tag while it loads: what the loader read may predate that.
    await heldFill('account:3', () => a.invalidateByTag('Account'))
    expect(a.getMetrics().fencedFills).toBe(1)
    expect(await a.get('account:3')).toBeUndefined()

    // Another instance deletes the key while it loads, and its notice arrives before the load ends.
    await heldFill('account:4', async () => {
      const received = a.getMetrics().busReceived
      await b.delete('account:4')
      await waitFor(() => a.getMetrics().busReceived > received, { what: "b's notice" })
    })
    expect(a.getMetrics().fencedFills).toBe(2)
    expect(await a.get('account:4')).toBeUndefined()
  })

  it('is invalidated by tag', async () => {
    const a = instance()
    await a.getOrCompute('account:5', () => localOnly({ id: 5 }) as unknown as { id: number }, {
      tags: ['Account'],
    })
    expect(await a.get('account:5')).toEqual({ id: 5 })
    await a.invalidateByTag('Account')
    expect(await a.get('account:5')).toBeUndefined()
  })

  it('a disabled cache hands back the value itself', async () => {
    const cache = new CacheManager({ enabled: false })
    caches.push(cache)
    expect(await cache.getOrCompute('k', () => localOnly(5) as unknown as number)).toBe(5)
  })
})

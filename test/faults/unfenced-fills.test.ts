/**
 * A fill whose first round trip to Redis gets no fence point (it timed out, the breaker was open,
 * the L2 has no coordination) must not store its value in Redis: a write another instance made
 * during the load would be overwritten by the value read before it, for the whole TTL.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { CacheInvalidation, CacheManager } from '../../src/index.js'
import { deleteKeysUnder, REDIS_URL, rawRedis, uniquePrefix } from '../support/redis.js'
import { TcpProxy } from '../support/tcp-proxy.js'

const raw = rawRedis()
let proxy: TcpProxy
const open: { close(): Promise<void> }[] = []
const prefixes: string[] = []

beforeAll(async () => {
  proxy = await TcpProxy.to(REDIS_URL)
})

afterEach(async () => {
  proxy.delayMs = 0
  await Promise.all(open.splice(0).map((cache) => cache.close()))
  for (const prefix of prefixes.splice(0)) await deleteKeysUnder(raw, prefix)
})

afterAll(async () => {
  await proxy.close()
  raw.disconnect()
})

function instances() {
  const prefix = uniquePrefix('unfenced')
  prefixes.push(prefix)
  // A reaches Redis through the proxy (its link gets the latency spike); B directly.
  const a = new CacheManager({ redis: proxy.url('redis'), prefix, commandTimeout: '100ms' })
  const b = new CacheManager({ redis: REDIS_URL, prefix })
  open.push(a, b)
  return { a, b, prefix }
}

describe('a fill without a fence point from Redis', () => {
  it('after a latency spike on its first round trip, does not overwrite a write made during its load', async () => {
    const { a, b, prefix } = instances()
    await a.set('warm', 1)
    proxy.delayMs = 300
    const value = await a.getOrCompute('product:1', async () => {
      // The load read the old row; meanwhile another instance writes the new one.
      proxy.delayMs = 0
      await b.set('product:1', 'new')
      return 'old'
    })
    expect(value).toBe('old')
    // Commands on A's connection run in order: once this answers, any store A sent has run.
    await a.get('warm')
    await a.close()
    expect(await raw.getBuffer(`${prefix}product:1`)).not.toBeNull()
    const fresh = new CacheManager({ redis: REDIS_URL, prefix, local: false })
    open.push(fresh)
    expect(await fresh.get('product:1')).toBe('new')
  })

  it('cache warming does not overwrite a write another instance made during its computation', async () => {
    const prefix = uniquePrefix('warm-fenced')
    prefixes.push(prefix)
    // No bus on A: the notice of B's write has not reached it (a slow or lost delivery).
    const a = new CacheManager({ redis: REDIS_URL, prefix, bus: false })
    const b = new CacheManager({ redis: REDIS_URL, prefix })
    const warming = new CacheInvalidation(a)
    open.push(a, b, { close: () => warming.close() })
    await a.set('featured', 'first')
    const value = await warming.warmCacheEntry('featured', async () => {
      await b.set('featured', 'new')
      return 'old'
    })
    expect(value).toBe('old')
    const fresh = new CacheManager({ redis: REDIS_URL, prefix, local: false })
    open.push(fresh)
    expect(await fresh.get('featured')).toBe('new')
  })
})

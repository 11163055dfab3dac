/**
 * Invalidations that could not reach Redis live only in the process that made them. `close()`
 * tries once more to deliver them, for a bounded time, and says so loudly when it cannot: every
 * instance may read the values they were to remove from Redis until those expire.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { CacheManager } from '../../src/index.js'
import { deleteKeysUnder, REDIS_URL, rawRedis, uniquePrefix } from '../support/redis.js'
import { TcpProxy } from '../support/tcp-proxy.js'
import { waitFor } from '../support/wait.js'

const raw = rawRedis()
let proxy: TcpProxy
const prefixes: string[] = []

beforeAll(async () => {
  proxy = await TcpProxy.to(REDIS_URL)
})
afterEach(async () => {
  proxy.heal()
  for (const prefix of prefixes.splice(0)) await deleteKeysUnder(raw, prefix)
})
afterAll(async () => {
  await proxy.close()
  raw.disconnect()
})

/** A cache on the proxy holding `product:1`, whose invalidation Redis then misses. */
async function invalidatedWhileCut() {
  const prefix = uniquePrefix('close-pending')
  prefixes.push(prefix)
  const cache = new CacheManager({ redis: proxy.url('redis'), prefix, bus: false })
  const errors: { operation: string; message: string }[] = []
  cache.on('error', ({ error, operation }) =>
    errors.push({ operation, message: (error as Error).message }),
  )
  await cache.set('product:1', 'old', { tags: ['products'] })
  proxy.partition()
  await cache.invalidateByTag('products')
  await waitFor(() => cache.getMetrics().degraded, { what: 'degraded' })
  return { cache, prefix, errors }
}

it('delivers what Redis missed when it is back by the time the cache closes', async () => {
  const { cache, prefix, errors } = await invalidatedWhileCut()
  proxy.heal()
  await cache.close()
  expect(errors.filter((e) => e.operation === 'close')).toEqual([])
  const other = new CacheManager({ redis: REDIS_URL, prefix, local: false })
  expect(await other.get('product:1')).toBeUndefined()
  await other.close()
})

it('says so, and counts it, when it cannot deliver them within its bound', async () => {
  const { cache, errors } = await invalidatedWhileCut()
  const before = cache.getMetrics().errors
  const started = performance.now()
  await cache.close()
  expect(performance.now() - started).toBeLessThan(3_000)
  expect(errors.filter((e) => e.operation === 'close')).toEqual([
    {
      operation: 'close',
      message: expect.stringContaining('1 invalidation(s) that never reached Redis'),
    },
  ])
  expect(cache.getMetrics().errors).toBeGreaterThan(before)
})

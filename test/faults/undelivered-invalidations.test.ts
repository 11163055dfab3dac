/**
 * Invalidations that could not reach Redis live only in the process that made them:
 *
 * - `close()` tries once more to deliver them, for a bounded time, and says so loudly when it
 *   cannot: every instance may read the values they were to remove from Redis until those expire;
 * - in strict mode a write whose invalidation Redis does not take at once waits for it, bounded by
 *   `max(1 s, 4 × commandTimeout)`: within the bound it returns only once Redis took it; past the
 *   bound it returns (the write itself is done) and says so, an error event and count.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { CacheManager, type CacheOptions } from '../../src/index.js'
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

/** A cache on the proxy holding `product:1`, then cut from Redis; its error events, kept. */
async function cacheCutFromRedis(options: CacheOptions = {}) {
  const prefix = uniquePrefix('undelivered')
  prefixes.push(prefix)
  const cache = new CacheManager({ redis: proxy.url('redis'), prefix, bus: false, ...options })
  const errors: { operation: string; code: string; message: string }[] = []
  cache.on('error', ({ error, operation }) =>
    errors.push({ operation, code: (error as { code: string }).code, message: error.message }),
  )
  // Connected first: a cold connection on a loaded machine can take longer than the 100 ms strict
  // timeout, and a write that timed out would be treated as not applied (and undone later).
  await waitFor(
    async () => {
      await cache.get('warm-up')
      return cache.getMetrics().l2Misses > 0
    },
    { what: 'a first answer from Redis' },
  )
  await cache.set('product:1', 'old', { tags: ['products'] })
  proxy.partition()
  return { cache, prefix, errors }
}

/** {@link cacheCutFromRedis}, then an invalidation Redis misses. */
async function invalidatedWhileCut() {
  const cut = await cacheCutFromRedis()
  await cut.cache.invalidateByTag('products')
  await waitFor(() => cut.cache.getMetrics().degraded, { what: 'degraded' })
  return cut
}

const strict: CacheOptions = { consistency: 'strict', commandTimeout: '100ms' }

it('close() delivers what Redis missed when it is back by the time the cache closes', async () => {
  const { cache, prefix, errors } = await invalidatedWhileCut()
  proxy.heal()
  await cache.close()
  expect(errors.filter((e) => e.operation === 'close')).toEqual([])
  const other = new CacheManager({ redis: REDIS_URL, prefix, local: false })
  expect(await other.get('product:1')).toBeUndefined()
  await other.close()
})

it('close() says so, and counts it, when it cannot deliver them within its bound', async () => {
  const { cache, errors } = await invalidatedWhileCut()
  const before = cache.getMetrics().errors
  const started = performance.now()
  await cache.close()
  expect(performance.now() - started).toBeLessThan(3_000)
  expect(errors.filter((e) => e.operation === 'close')).toEqual([
    expect.objectContaining({
      operation: 'close',
      message: expect.stringContaining('1 invalidation(s) that never reached Redis'),
    }),
  ])
  expect(cache.getMetrics().errors).toBeGreaterThan(before)
})

it('strict: a write during a short cut returns only once Redis took its invalidation', async () => {
  const { cache, prefix, errors } = await cacheCutFromRedis(strict)
  const deleted = cache.delete('product:1')
  await waitFor(() => cache.getMetrics().degraded, { what: 'degraded' })
  proxy.heal()
  await deleted
  expect(await raw.exists(`${prefix}product:1`)).toBe(0)
  expect(errors.filter((e) => e.operation === 'settle')).toEqual([])
  await cache.close()
})

it('strict: a write during a cut longer than the bound returns, and says its invalidation is queued', async () => {
  const { cache, prefix, errors } = await cacheCutFromRedis(strict)
  const before = cache.getMetrics().errors
  await cache.delete('product:1') // resolves: bounded by 1 s here
  expect(errors).toContainEqual(
    expect.objectContaining({ operation: 'settle', code: 'ERR_L2_UNAVAILABLE' }),
  )
  expect(cache.getMetrics().errors).toBeGreaterThan(before)
  expect(await raw.exists(`${prefix}product:1`)).toBe(1) // not taken yet: the cut goes on
  proxy.heal()
  await waitFor(async () => (await raw.exists(`${prefix}product:1`)) === 0, {
    what: 'the queued invalidation to be replayed',
  })
  await cache.close()
})

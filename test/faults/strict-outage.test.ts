/**
 * Strict mode: a write whose invalidation Redis does not take at once waits for it, bounded by
 * `max(1 s, 4 × commandTimeout)`. Within the bound the write returns only once Redis took it;
 * past the bound it returns (the write itself is done) and says so: an error event and count.
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

/** A strict cache on the proxy holding `product:1`, cut from Redis. */
async function strictCacheCut() {
  const prefix = uniquePrefix('strict-outage')
  prefixes.push(prefix)
  const cache = new CacheManager({
    redis: proxy.url('redis'),
    prefix,
    bus: false,
    consistency: 'strict',
    commandTimeout: '100ms',
  })
  const errors: { operation: string; code: string }[] = []
  cache.on('error', ({ error, operation }) =>
    errors.push({ operation, code: (error as { code: string }).code }),
  )
  await cache.set('product:1', 'old')
  proxy.partition()
  return { cache, prefix, errors }
}

it('a write during a short cut returns only once Redis took its invalidation', async () => {
  const { cache, prefix, errors } = await strictCacheCut()
  const deleted = cache.delete('product:1')
  await waitFor(() => cache.getMetrics().degraded, { what: 'degraded' })
  proxy.heal()
  await deleted
  expect(await raw.exists(`${prefix}product:1`)).toBe(0)
  expect(errors.filter((e) => e.operation === 'settle')).toEqual([])
  await cache.close()
})

it('a write during a cut longer than the bound returns, and says its invalidation is queued', async () => {
  const { cache, prefix, errors } = await strictCacheCut()
  const before = cache.getMetrics().errors
  await cache.delete('product:1') // resolves: bounded by 1 s here
  expect(errors).toContainEqual({ operation: 'settle', code: 'ERR_L2_UNAVAILABLE' })
  expect(cache.getMetrics().errors).toBeGreaterThan(before)
  expect(await raw.exists(`${prefix}product:1`)).toBe(1) // not taken yet: the cut goes on
  proxy.heal()
  await waitFor(async () => (await raw.exists(`${prefix}product:1`)) === 0, {
    what: 'the queued invalidation to be replayed',
  })
  await cache.close()
})

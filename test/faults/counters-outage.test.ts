/**
 * A counter used while Redis is unreachable goes on from the last value Redis gave it in this
 * process, not from 0: a rate limiter must not forget its count during an outage.
 */
import { afterAll, expect, it } from 'vitest'
import { CacheManager } from '../../src/index.js'
import { deleteKeysUnder, REDIS_URL, rawRedis, uniquePrefix } from '../support/redis.js'
import { TcpProxy } from '../support/tcp-proxy.js'

const raw = rawRedis()
const prefix = uniquePrefix('counters-outage')
let proxy: TcpProxy | undefined
afterAll(async () => {
  await proxy?.close()
  await deleteKeysUnder(raw, prefix)
  raw.disconnect()
})

it('counts on from the last shared value during an outage', async () => {
  proxy = await TcpProxy.to(REDIS_URL)
  const cache = new CacheManager({ redis: proxy.url('redis'), prefix })
  for (let i = 0; i < 5; i++) await cache.increment('requests:user-1')
  expect(await raw.get(`${prefix}requests:user-1`)).toBe('5')

  proxy.partition()
  // Each call finds Redis gone (until the breaker opens, then skips it) and counts locally.
  for (const expected of [6, 7, 8, 9])
    expect(await cache.increment('requests:user-1')).toBe(expected)
  expect(cache.getMetrics().degraded).toBe(true)
  // A counter never seen here starts from 0, as before.
  expect(await cache.increment('requests:user-2')).toBe(1)
  proxy.heal()
  await cache.close()
})

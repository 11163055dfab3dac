/**
 * Invalidations an instance could not send during an outage are replayed to Redis when it is
 * back, and announced on the bus then: another instance that reloaded the old value from Redis
 * in between (after it noticed the lost notice and flushed) must drop it too.
 */
import { afterAll, expect, it } from 'vitest'
import { CacheManager } from '../../src/index.js'
import { deleteKeysUnder, REDIS_URL, rawRedis, uniquePrefix } from '../support/redis.js'
import { TcpProxy } from '../support/tcp-proxy.js'
import { waitFor } from '../support/wait.js'

const raw = rawRedis()
const prefix = uniquePrefix('replayed')
let proxy: TcpProxy | undefined
afterAll(async () => {
  await proxy?.close()
  await deleteKeysUnder(raw, prefix)
  raw.disconnect()
})

it('a replayed invalidation reaches an instance that reloaded the old value before the replay', async () => {
  proxy = await TcpProxy.to(REDIS_URL)
  // A replays 1.5 s after it is cut off; B notices A's lost notice well before (heartbeats 100 ms).
  const a = new CacheManager({
    redis: proxy.url('redis'),
    prefix,
    bus: { heartbeat: '100ms' },
    circuitBreaker: { openDuration: '1500ms' },
  })
  const b = new CacheManager({ redis: REDIS_URL, prefix, bus: { heartbeat: '100ms' } })
  await waitFor(() => a.getMetrics().busTrusted && b.getMetrics().busTrusted, { what: 'buses' })
  await a.set('product:1', 'old', { tags: ['products'] })
  expect(await b.get('product:1')).toBe('old')

  proxy.partition()
  await a.invalidateByTag('products') // queued: Redis unreachable, its notice lost
  await waitFor(() => a.getMetrics().degraded, { what: 'A degraded' })
  const lost = b.getMetrics().busTrustLost
  proxy.heal()
  // B learns of the lost notice from A's next heartbeat, flushes, and reads Redis again: still
  // the old value, since A has not replayed yet.
  await waitFor(() => b.getMetrics().busTrustLost > lost, { what: 'B noticing the gap' })
  expect(a.getMetrics().degraded).toBe(true)
  expect(await b.get('product:1')).toBe('old')

  await waitFor(() => !a.getMetrics().degraded, { what: 'A replayed', timeoutMs: 10_000 })
  await waitFor(async () => (await b.get('product:1')) === undefined, {
    what: "the replay's notice on B",
  })
  await Promise.all([a.close(), b.close()])
})

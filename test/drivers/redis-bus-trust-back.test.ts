import { performance } from 'node:perf_hooks'
import type { Redis } from 'ioredis'
import { afterEach, expect, it } from 'vitest'
import { RedisBus } from '../../src/drivers/redis-bus.js'
import { closeClient, openClient } from '../../src/drivers/redis-client.js'
import { REDIS_URL, uniquePrefix } from '../support/redis.js'
import { TcpProxy } from '../support/tcp-proxy.js'
import { waitFor } from '../support/wait.js'

// A cut that takes the publishing connection and the subscriber's down together: the subscriber
// may be back first. Its proof heartbeat then cannot be published; trust must come back once the
// publisher is, not at the next heartbeat interval (until then the cache caps and then flushes L1,
// and may serve for up to `untrustedLocalTtl` what an invalidation lost in the cut removed).

const open: { close(): Promise<unknown> }[] = []
afterEach(async () => {
  for (const item of open.splice(0).reverse()) await item.close()
})

it('trust comes back as soon as the publisher is, when the subscriber was back first', async () => {
  const proxy = await TcpProxy.to(REDIS_URL)
  open.push(proxy)
  // The library's client defaults (fail fast while offline), reconnecting only after 1.5 s.
  const { client } = openClient({
    options: { host: '127.0.0.1', port: proxy.port, retryStrategy: () => 1_500 },
  })
  const publisher = client as Redis
  open.push({ close: () => closeClient(publisher, 200) })
  // No heartbeat interval ends within the test: only the retry of the proof can bring trust back.
  const bus = new RedisBus({
    client: publisher,
    channel: `${uniquePrefix('bus-trust-back')}__sc:bus`,
    heartbeatMs: 30_000,
    reconnectMaxDelayMs: 20,
  })
  open.push(bus)
  await bus.start()
  expect(bus.trusted).toBe(true)

  proxy.partition()
  await waitFor(() => !bus.trusted && publisher.status !== 'ready', { what: 'the cut seen' })
  proxy.heal()
  await waitFor(() => bus.stats.subscriptions === 2, { what: 'the subscriber back' })
  // The scenario: subscribed again while the publisher is still down.
  expect(publisher.status).not.toBe('ready')
  await waitFor(() => publisher.status === 'ready', { what: 'the publisher back' })
  const publisherBack = performance.now()
  await waitFor(() => bus.trusted, { what: 'trust back', timeoutMs: 3_000, intervalMs: 1 })
  // One proof retry (at most 200 ms apart) plus a round trip, with room for a slow machine.
  expect(performance.now() - publisherBack).toBeLessThan(1_000)
  expect(bus.trustReason).toMatch(/own heartbeat/)
})

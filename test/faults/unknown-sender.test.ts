/**
 * A receiver that has no record of a sender (it started, or forgot it, while the sender was cut
 * from Redis) must still notice what that sender published meanwhile: its first frame after the
 * receiver's grace period, numbered past 1, is a gap, which flushes the receiver's L1.
 */
import type { Redis } from 'ioredis'
import { afterAll, afterEach, expect, it } from 'vitest'
import { decodeFrame, encodeHeartbeat, SequenceTracker } from '../../src/drivers/bus-codec.js'
import { RedisBus } from '../../src/drivers/redis-bus.js'
import { closeClient, openClient } from '../../src/drivers/redis-client.js'
import { REDIS_URL, uniquePrefix } from '../support/redis.js'
import { TcpProxy } from '../support/tcp-proxy.js'
import { waitFor } from '../support/wait.js'

const open: { close(): Promise<unknown> }[] = []
let proxy: TcpProxy | undefined

afterEach(async () => {
  for (const item of open.splice(0).reverse()) await item.close()
})
afterAll(async () => {
  await proxy?.close()
})

function bus(url: string, channel: string): RedisBus {
  const { client } = openClient({ url })
  open.push({ close: () => closeClient(client, 200) })
  const b = new RedisBus({ client: client as Redis, channel, heartbeatMs: 100 })
  open.push(b)
  return b
}

it('a sender cut from Redis before the receiver started is caught when it comes back', async () => {
  proxy = await TcpProxy.to(REDIS_URL)
  const channel = `${uniquePrefix('unknown-sender')}__sc:bus`
  const a = bus(proxy.url('redis'), channel)
  await a.start()
  proxy.partition()
  await waitFor(() => !a.trusted, { what: 'A cut from Redis' })
  // A invalidates something while cut: the notice is lost, its number used.
  expect(await a.publish({ type: 'delete', keys: ['product:1'] })).toBe(false)

  // B starts meanwhile and never hears of A until its grace after subscribing is over.
  const b = bus(REDIS_URL, channel)
  const edges: boolean[] = []
  b.onTrustChange((trusted) => edges.push(trusted))
  await b.start()
  const graceOver = Date.now() + 3_000
  await waitFor(() => Date.now() > graceOver, { what: "B's grace", timeoutMs: 5_000 })
  expect(b.stats.sequenceGaps).toBe(0)

  proxy.heal()
  await waitFor(() => b.stats.sequenceGaps === 1, { what: 'the gap noticed', timeoutMs: 10_000 })
  // A trust blip: L1 is flushed on its falling edge, and trusted again at once.
  await waitFor(() => edges.join() === 'true,false,true', { what: 'the blip' })
})

it('senders are told apart by epoch: a restart under the same instanceId starts afresh', () => {
  const tracker = new SequenceTracker()
  tracker.clear(1_000)
  // Within the grace: baselines, whatever the numbers.
  expect(tracker.heartbeat('api-1', 'e1', 40, 10)).toBe('ok')
  expect(tracker.message('api-1', 'e1', 41, 20)).toBe('ok')
  expect(tracker.message('api-1', 'e1', 43, 30)).toBe('gap')
  // After it: a restart numbers from 1 again under a new epoch, which is no gap and no duplicate.
  expect(tracker.message('api-1', 'e2', 1, 2_000)).toBe('ok')
  expect(tracker.heartbeat('api-2', 'e9', 0, 2_000)).toBe('ok')
  // A sender first heard of with messages already numbered lost them for us.
  expect(tracker.heartbeat('api-3', 'e3', 7, 2_000)).toBe('gap')
  expect(tracker.message('api-4', 'e4', 2, 2_000)).toBe('gap')
  // And one forgotten while silent is caught again when it comes back.
  tracker.prune(3_000)
  expect(tracker.heartbeat('api-1', 'e2', 1, 4_000)).toBe('gap')
  const frame = decodeFrame(encodeHeartbeat({ id: 'api-1', epoch: 'e2' }, 1, 5))
  expect(frame).toMatchObject({ kind: 'heartbeat', origin: 'api-1', epoch: 'e2', seq: 1 })
})

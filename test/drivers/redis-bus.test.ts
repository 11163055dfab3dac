import { performance } from 'node:perf_hooks'
import type { Redis } from 'ioredis'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import type { BusMessage } from '../../src/drivers/bus.js'
import { RedisBus, type RedisBusOptions } from '../../src/drivers/redis-bus.js'
import { closeClient, openClient } from '../../src/drivers/redis-client.js'
import { ErrorCodes, ValidationError } from '../../src/errors.js'
import { REDIS_URL, rawRedis, uniquePrefix } from '../support/redis.js'
import { RedisServer } from '../support/redis-server.js'
import { settlesWithin, settlesWithoutWaiting } from '../support/settles.js'
import { TcpProxy } from '../support/tcp-proxy.js'
import { measureStalls, waitFor } from '../support/wait.js'

// The Redis invalidation bus against real servers: the shared one, a throwaway redis-server
// (killed with SIGKILL and restarted), and a TCP proxy that silently stops delivering to the
// subscriber. Detection and recovery times are measured and printed in one summary line.

const raw = rawRedis()
const open: { close(): Promise<unknown> }[] = []
const measured: Record<string, number> = {}

afterEach(async () => {
  for (const item of open.splice(0).reverse()) await item.close()
})
afterAll(() => {
  raw.disconnect()
  const line = Object.entries(measured)
    .map(([what, ms]) => `${what} ${ms.toFixed(1)} ms`)
    .join(', ')
  if (line) console.info(`[redis-bus] measured: ${line}`)
})

/** A publisher client with the library's own defaults (what the L2 driver would pass). */
function publisher(url = REDIS_URL): Redis {
  const { client } = openClient({ url })
  open.push({ close: () => closeClient(client, 200) })
  return client as Redis
}

/** The publisher each bus was built with. */
const publisherOf = new WeakMap<RedisBus, Redis>()

function bus(client: Redis, channel: string, extra: Partial<RedisBusOptions> = {}): RedisBus {
  const b = new RedisBus({ client, channel, ...extra })
  publisherOf.set(b, client)
  open.push(b)
  return b
}

/** Records what a bus hands to its handlers and its trust edges. */
function record(b: RedisBus) {
  const messages: { message: BusMessage; origin: string }[] = []
  const trust: { trusted: boolean; reason: string; at: number }[] = []
  b.onMessage((message, origin) => messages.push({ message, origin }))
  b.onTrustChange((trusted, reason) => trust.push({ trusted, reason, at: performance.now() }))
  return { messages, trust }
}

async function pair(name: string, extra: Partial<RedisBusOptions> = {}, url = REDIS_URL) {
  const channel = `${uniquePrefix(name)}__sc:bus`
  const a = bus(publisher(url), channel, extra)
  const b = bus(publisher(url), channel, extra)
  const ra = record(a)
  const rb = record(b)
  await Promise.all([a.start(), b.start()])
  expect(a.trusted && b.trusted).toBe(true)
  return { channel, a, b, ra, rb }
}

const ALL_MESSAGES: BusMessage[] = [
  { type: 'delete', keys: ['product:1', 'ünï:cödé 🚀', 'a"b\\c', '\ud800 lone surrogate'] },
  { type: 'tags', tags: ['products', 'featured'] },
  { type: 'pattern', glob: 'product:*' },
  { type: 'pattern', regexp: { source: '^user:\\d+$', flags: 'iu' } },
  { type: 'clear' },
  { type: 'filled', key: 'product:42' },
]

describe('RedisBus: delivery', () => {
  it('delivers every message type to the other bus, never to itself', async () => {
    const { a, b, ra, rb } = await pair('bus-delivery')
    for (const message of ALL_MESSAGES) expect(await a.publish(message)).toBe(true)
    // A RegExp object satisfies { source, flags } and arrives as a plain pair.
    expect(await b.publish({ type: 'pattern', regexp: /^cart:/g })).toBe(true)

    await waitFor(() => rb.messages.length === ALL_MESSAGES.length, { what: 'b to receive all' })
    expect(rb.messages.map((m) => m.message)).toEqual(ALL_MESSAGES)
    expect(new Set(rb.messages.map((m) => m.origin))).toEqual(new Set([a.instanceId]))
    await waitFor(() => ra.messages.length === 1, { what: 'a to receive one' })
    expect(ra.messages[0]).toEqual({
      message: { type: 'pattern', regexp: { source: '^cart:', flags: 'g' } },
      origin: b.instanceId,
    })
    // Own messages came back on the channel but were not handed over.
    expect(ra.messages).toHaveLength(1)
    expect(a.stats).toMatchObject({ published: ALL_MESSAGES.length, received: 1 })
    expect(b.stats).toMatchObject({ published: 1, received: ALL_MESSAGES.length })
    expect(a.stats.sequenceGaps + b.stats.sequenceGaps).toBe(0)
    expect(ra.trust.map((t) => t.trusted)).toEqual([true])
    expect(a.instanceId).not.toBe(b.instanceId)
  })

  it('keeps heartbeats away from message handlers', async () => {
    const { a, b, ra, rb } = await pair('bus-heartbeats', {
      heartbeatMs: 20,
      heartbeatTimeoutMs: 10_000,
    })
    await waitFor(() => a.stats.heartbeatsSent >= 5 && b.stats.heartbeatsSent >= 5, {
      what: 'heartbeats',
    })
    expect(ra.messages).toEqual([])
    expect(rb.messages).toEqual([])
    expect(a.trusted && b.trusted).toBe(true)
  })

  it('validates what it is asked to publish (a caller bug throws at once)', async () => {
    const b = bus(publisher(), `${uniquePrefix('bus-validate')}__sc:bus`)
    const bad = [
      null,
      { type: 'nope' },
      { type: 'delete', keys: 'k' },
      { type: 'delete', keys: [1] },
      { type: 'tags' },
      { type: 'pattern' },
      { type: 'pattern', glob: '*', regexp: { source: 'a', flags: '' } },
      { type: 'pattern', regexp: { source: '(', flags: '' } },
      { type: 'pattern', regexp: { source: 'a', flags: 'q' } },
      { type: 'filled' },
    ]
    for (const message of bad) {
      let thrown: unknown
      try {
        void b.publish(message as BusMessage)
      } catch (error) {
        thrown = error
      }
      expect(thrown, JSON.stringify(message)).toBeInstanceOf(ValidationError)
      expect((thrown as ValidationError).code).toBe(ErrorCodes.INVALID_OPTION)
    }
    // Nothing to say: resolves at once, publishes nothing, uses no sequence number.
    expect(await b.publish({ type: 'delete', keys: [] })).toBe(true)
    expect(await b.publish({ type: 'tags', tags: [] })).toBe(true)
    expect(b.stats.published).toBe(0)

    expect(() => new RedisBus({ client: {} as Redis, channel: 'c' })).toThrow(/client/)
    expect(() => new RedisBus({ client: raw, channel: '' })).toThrow(/channel/)
    expect(() => new RedisBus({ client: raw, channel: 'c', heartbeatMs: 5 })).toThrow(/heartbeatMs/)
    expect(() => new RedisBus({ client: raw, channel: 'c', instanceId: 'a b' })).toThrow(
      /instanceId/,
    )
  })
})

describe('RedisBus: what others put on the channel', () => {
  it('counts and ignores garbage; a readable envelope with an unreadable body costs a trust blip', async () => {
    const { channel, a, b, ra } = await pair('bus-malformed')
    const garbage = [
      'not json',
      '[1,2]',
      '42',
      '{}',
      '{"o":"x"}',
      '{"o":"","s":1}',
      '{"o":"x","s":-1}',
    ]
    for (const payload of garbage) await raw.publish(channel, payload)
    await raw.publish(channel, Buffer.from([0xff, 0xfe, 0x00]))
    await waitFor(() => a.stats.malformed === garbage.length + 1, { what: 'garbage counted' })
    expect(ra.trust.map((t) => t.trusted)).toEqual([true]) // garbage is not from a peer

    // From a peer (origin, sequence number readable) but with a body we cannot apply: the
    // invalidation it carried is lost, so the L1 must flush.
    const unreadable = [
      '{"v":2,"o":"peer","s":1,"t":"d","k":["x"]}',
      '{"v":1,"o":"peer","s":2,"t":"zz"}',
      '{"v":1,"o":"peer","s":3,"t":"d","k":"x"}',
      '{"v":1,"o":"peer","s":4,"t":"p","r":["(",""]}',
    ]
    for (const payload of unreadable) await raw.publish(channel, payload)
    await waitFor(() => a.stats.malformed === garbage.length + 1 + unreadable.length, {
      what: 'unreadable counted',
    })
    expect(ra.messages).toEqual([])
    expect(ra.trust.map((t) => t.trusted)).toEqual([
      true,
      ...unreadable.flatMap(() => [false, true]),
    ])
    expect(ra.trust[1]!.reason).toMatch(/unreadable message 1 from peer: format version 2/)
    expect(a.trusted).toBe(true)

    // Still works.
    await b.publish({ type: 'clear' })
    await waitFor(() => ra.messages.length === 1, { what: 'a message after the garbage' })
  })

  it('turns a gap in a peer’s sequence numbers into a trust blip, and delivers late messages', async () => {
    const { channel, a, ra } = await pair('bus-gap')
    const frame = (s: number, extra = `"t":"d","k":["k${s}"]`) =>
      `{"v":1,"o":"peer","s":${s},${extra}}`
    await raw.publish(channel, frame(1)) // baseline
    await raw.publish(channel, frame(2))
    await raw.publish(channel, frame(4)) // 3 was lost
    await waitFor(() => ra.messages.length === 3, { what: 'three messages' })
    expect(a.stats.sequenceGaps).toBe(1)
    expect(ra.trust.map((t) => t.trusted)).toEqual([true, false, true])
    expect(ra.trust[1]!.reason).toMatch(/sequence gap: message 4 from peer/)

    await raw.publish(channel, frame(3)) // a retry that arrives late: applied, no new blip
    await waitFor(() => ra.messages.length === 4, { what: 'the late one' })
    expect(a.stats.outOfOrder).toBe(1)
    expect(ra.trust).toHaveLength(3)

    // A heartbeat saying "I have sent up to 6" reveals that 5 and 6 never came.
    await raw.publish(channel, frame(6, '"t":"h","n":1'))
    await waitFor(() => a.stats.sequenceGaps === 2, { what: 'gap seen by heartbeat' })
    expect(ra.trust.map((t) => t.trusted)).toEqual([true, false, true, false, true])
    expect(ra.messages).toHaveLength(4)
  })

  it('lets the others notice, within a heartbeat, a publish that gave up', async () => {
    const heartbeatMs = 50
    const { a, b, rb } = await pair('bus-gave-up', {
      heartbeatMs,
      heartbeatTimeoutMs: 10_000,
      publishTimeoutMs: 300,
    })
    // b must know a before the loss: the first frame of an origin sets its baseline, so a lost
    // message before b ever heard of a would be invisible (and harmless: b's trust edge at its
    // subscription covers what was sent before it).
    expect(await a.publish({ type: 'delete', keys: ['first'] })).toBe(true)
    await waitFor(() => rb.messages.length === 1, { what: 'b to hear of a' })
    rb.messages.length = 0
    const client = publisherOf.get(a)!
    const original = client.publish.bind(client) as (...args: unknown[]) => Promise<number>
    let failing = true
    const spy = vi.spyOn(client, 'publish').mockImplementation(((...args: unknown[]) =>
      // Fail the invalidation (every attempt), let heartbeats through.
      failing && String(args[1]).includes('"t":"d"')
        ? Promise.reject(new Error('injected'))
        : original(...args)) as never)
    try {
      const stalls = measureStalls()
      const started = performance.now()
      const publishing = a.publish({ type: 'delete', keys: ['lost'] })
      // Gives up within publishTimeoutMs (told apart from a hang by timer order, not wall time).
      expect(await settlesWithin(publishing, 2 * 300)).toBe(true)
      expect(await publishing).toBe(false)
      const gaveUpAfter = performance.now() - started
      failing = false
      expect(a.stats).toMatchObject({ publishFailures: 1, publishRetries: 2, published: 1 })
      await waitFor(() => b.stats.sequenceGaps >= 1, {
        what: 'b to see the gap',
        timeoutMs: 15_000,
      })
      await stalls.stop()
      // Heartbeats carry the last sequence number used, so b may see the gap before a gives up.
      // The heartbeat that tells b, and b hearing it, may each run late by up to the longest
      // stall of this event loop.
      const noticedAfter = rb.trust[1]!.at - started
      measured['gap of a failed publish seen by peer, from publish() (hb 50)'] = noticedAfter
      expect(noticedAfter).toBeLessThan(gaveUpAfter + heartbeatMs * 4 + 2 * stalls.maxMs())
      expect(rb.trust.map((t) => t.trusted)).toEqual([true, false, true])
      expect(rb.messages).toEqual([])
      // The next message flows normally.
      expect(await a.publish({ type: 'delete', keys: ['next'] })).toBe(true)
      await waitFor(() => rb.messages.length === 1, { what: 'the next message' })
      expect(b.stats.sequenceGaps).toBe(1)
    } finally {
      spy.mockRestore()
    }
  }, 30_000)
})

/** Clients connected to `server` whose name says they are a bus subscriber. */
async function busConnections(server: RedisServer): Promise<string[]> {
  const { Redis } = await import('ioredis')
  const admin = new Redis(server.url, { maxRetriesPerRequest: 0, lazyConnect: true })
  admin.on('error', () => {})
  try {
    await admin.connect()
    const list = (await admin.call('CLIENT', 'LIST')) as string
    return list.split('\n').filter((line) => /name=stratacache-bus-/.test(line))
  } finally {
    admin.disconnect()
  }
}

describe('RedisBus: faults on a throwaway redis-server', () => {
  let server: RedisServer
  afterEach(async () => {
    await server?.stop()
  })

  it('kill -9: both buses untrusted at once, publish gives up in bound; restart: trusted, messages flow', async () => {
    server = await RedisServer.start()
    const heartbeatMs = 100
    const { a, b, ra, rb } = await pair(
      'bus-kill',
      // A long heartbeat timeout: this test is about connection events, not the watchdog.
      { heartbeatMs, heartbeatTimeoutMs: 10_000, reconnectMaxDelayMs: 200 },
      server.url,
    )
    expect((await busConnections(server)).length).toBe(2)

    const killedAt = performance.now()
    await server.kill()
    await waitFor(() => !a.trusted && !b.trusted, { what: 'both untrusted', intervalMs: 1 })
    const lost = Math.max(ra.trust[1]!.at, rb.trust[1]!.at) - killedAt
    measured['kill -9 -> both untrusted'] = lost
    // Told by the connection itself (the reasons below), not by the heartbeat watchdog (10 s
    // here): well before the watchdog could have said so, however slow the machine.
    expect(lost).toBeLessThan(10_000 / 4)
    expect(ra.trust[1]!.reason).toMatch(/subscriber (connection closed|error)/)
    expect(rb.trust[1]!.reason).toMatch(/subscriber (connection closed|error)/)
    expect(a.stats.trustLost).toBe(1)

    const stalls = measureStalls()
    const publishStarted = performance.now()
    expect(await a.publish({ type: 'delete', keys: ['while-down'] })).toBe(false)
    const gaveUp = performance.now() - publishStarted
    await stalls.stop()
    measured['publish while down -> false'] = gaveUp
    // Within publishTimeoutMs, whose timer may run late by up to the longest stall of this loop.
    expect(gaveUp).toBeLessThan(a.publishTimeoutMs + 100 + stalls.maxMs())
    expect(a.stats.publishFailures).toBe(1)
    // Still untrusted a while later: nothing comes back by itself while the server is down.
    await waitFor(() => a.stats.heartbeatsSent >= 10, { what: 'heartbeats while down' })
    expect(a.trusted || b.trusted).toBe(false)

    const restartedAt = performance.now()
    await server.restart()
    await waitFor(() => a.trusted && b.trusted, { what: 'trust back', timeoutMs: 8_000 })
    const back = Math.max(ra.trust[2]!.at, rb.trust[2]!.at) - restartedAt
    measured['restart -> both trusted'] = back
    expect(ra.trust.map((t) => t.trusted)).toEqual([true, false, true])
    expect(ra.trust[2]!.reason).toMatch(/own heartbeat/)
    expect(a.stats.subscriptions).toBe(2)

    expect(await a.publish({ type: 'tags', tags: ['after'] })).toBe(true)
    expect(await b.publish({ type: 'clear' })).toBe(true)
    await waitFor(() => rb.messages.length === 1 && ra.messages.length === 1, {
      what: 'messages after the restart',
    })
    expect(rb.messages[0]!.message).toEqual({ type: 'tags', tags: ['after'] })
    // The message lost while down is not reported as a gap after the new subscription: the
    // rising edge already flushed for it.
    expect(b.stats.sequenceGaps).toBe(0)
  })

  it('CLIENT KILL TYPE pubsub: untrusted at once, back after resubscribing', async () => {
    server = await RedisServer.start()
    const { a, b, ra, rb } = await pair(
      'bus-client-kill',
      { heartbeatMs: 100, heartbeatTimeoutMs: 10_000, reconnectMaxDelayMs: 200 },
      server.url,
    )
    const { Redis } = await import('ioredis')
    const admin = new Redis(server.url, { maxRetriesPerRequest: 0 })
    open.push({ close: async () => admin.disconnect() })
    const killedAt = performance.now()
    expect(await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub')).toBe(2)
    await waitFor(() => !a.trusted && !b.trusted, { what: 'both untrusted', intervalMs: 1 })
    measured['CLIENT KILL pubsub -> untrusted'] = ra.trust[1]!.at - killedAt
    expect(ra.trust[1]!.reason).toMatch(/subscriber connection closed/)
    await waitFor(() => a.trusted && b.trusted, { what: 'trust back' })
    measured['CLIENT KILL pubsub -> trusted again'] =
      Math.max(ra.trust[2]!.at, rb.trust[2]!.at) - killedAt
    await a.publish({ type: 'filled', key: 'k' })
    await waitFor(() => rb.messages.length === 1, { what: 'message after resubscribing' })
  })

  it('start() with the server down resolves in bound, untrusted; trusted once it is up', async () => {
    server = await RedisServer.start()
    await server.kill()
    const b = bus(publisher(server.url), `${uniquePrefix('bus-start-down')}__sc:bus`, {
      startTimeoutMs: 300,
      heartbeatMs: 100,
      reconnectMaxDelayMs: 200,
    })
    const rb = record(b)
    // Resolves within startTimeoutMs (told apart from a hang by timer order, not wall time).
    expect(await settlesWithin(b.start(), 2 * 300)).toBe(true)
    expect(b.trusted).toBe(false)
    expect(b.trustReason).toMatch(/subscri/)
    await server.restart()
    await waitFor(() => b.trusted, { what: 'trusted after the server came up', timeoutMs: 8_000 })
    expect(rb.trust.map((t) => t.trusted)).toEqual([true])
  })

  it('close() releases the subscriber connection, and is fast while the server is down', async () => {
    server = await RedisServer.start()
    const { channel, a, b } = await pair('bus-close', { reconnectMaxDelayMs: 200 }, server.url)
    expect((await busConnections(server)).length).toBe(2)
    const t0 = performance.now()
    await a.close()
    measured['close() while up'] = performance.now() - t0
    await waitFor(async () => (await busConnections(server)).length === 1, {
      what: 'a subscriber gone from CLIENT LIST',
    })
    expect(a.trusted).toBe(false)
    expect(await a.publish({ type: 'clear' })).toBe(false)
    await a.close() // idempotent

    // A bus that stays open, with the same reconnect settings: it shows when b would be back.
    const witness = bus(publisher(server.url), channel, { reconnectMaxDelayMs: 200 })
    await witness.start()
    expect((await busConnections(server)).length).toBe(2)

    await server.kill()
    await waitFor(() => !b.trusted && !witness.trusted, { what: 'b and the witness untrusted' })
    const pending = b.publish({ type: 'clear' })
    const t1 = performance.now()
    const closing = b.close()
    // Fast: close() waits on nothing (no timer, no reply from the dead server)...
    expect(await settlesWithoutWaiting(closing)).toBe(true)
    measured['close() while down'] = performance.now() - t1
    // ...and the publish it interrupts gives up.
    expect(await pending).toBe(false)
    await server.restart()
    // It does not come back: closed means closed. By the time the witness is subscribed again,
    // a reconnect attempt of b's (same backoff) would have been made.
    await waitFor(() => witness.trusted, { what: 'the witness back', timeoutMs: 8_000 })
    expect((await busConnections(server)).length).toBe(1)
    expect(b.subscriberStatus).not.toBe('ready')
  })
})

describe('RedisBus: a subscription that dies silently', () => {
  it('is caught by the heartbeat within 3 intervals, and repaired by reconnecting the subscriber', async () => {
    const proxy = await TcpProxy.to(REDIS_URL)
    open.push(proxy)
    const heartbeatMs = 100
    const url = proxy.url('redis')
    const { a, b, ra, rb } = await pair(
      'bus-silent',
      { heartbeatMs, reconnectMaxDelayMs: 200 },
      url,
    )

    const stalls = measureStalls()
    const cutAt = performance.now()
    expect(proxy.silenceSubscribers()).toBe(2)
    // Messages now vanish without any connection event.
    await a.publish({ type: 'delete', keys: ['unheard'] })
    await waitFor(() => !a.trusted && !b.trusted, {
      what: 'heartbeat watchdog',
      intervalMs: 2,
      timeoutMs: 3_000,
    })
    const detected = Math.max(ra.trust[1]!.at, rb.trust[1]!.at) - cutAt
    await stalls.stop()
    measured['silent subscription death -> untrusted (hb 100)'] = detected
    expect(detected).toBeGreaterThanOrEqual(2 * heartbeatMs - 5)
    // The heartbeat and watchdog timers may each run late by up to the longest stall of this loop.
    expect(detected).toBeLessThan(3 * heartbeatMs + 100 + 2 * stalls.maxMs())
    expect(ra.trust[1]!.reason).toMatch(/heartbeat missing.*reconnecting the subscriber/)
    expect(rb.messages).toEqual([])
    expect(a.stats.heartbeatsMissed).toBeGreaterThanOrEqual(1)

    await waitFor(() => a.trusted && b.trusted, { what: 'trust back' })
    measured['silent subscription death -> trusted again'] =
      Math.max(ra.trust[2]!.at, rb.trust[2]!.at) - cutAt
    expect(a.stats.subscriptions).toBe(2)
    await a.publish({ type: 'delete', keys: ['heard'] })
    await waitFor(() => rb.messages.length === 1, { what: 'message after repair' })
    expect(rb.messages[0]!.message).toEqual({ type: 'delete', keys: ['heard'] })
  })
})

describe('RedisBus: a cut that takes the publisher down too', () => {
  // A cut that takes the publishing connection and the subscriber's down together: the subscriber
  // may be back first. Its proof heartbeat then cannot be published; trust must come back once the
  // publisher is, not at the next heartbeat interval (until then the cache caps and then flushes L1,
  // and may serve for up to `untrustedLocalTtl` what an invalidation lost in the cut removed).
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
})

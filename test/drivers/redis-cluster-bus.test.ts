/**
 * The invalidation bus on a real Redis Cluster (three masters, three replicas, started for this
 * file) uses sharded pub/sub: two caches exchange invalidations through SSUBSCRIBE on the master
 * owning the channel's slot, and no node sees a PUBLISH. When that slot migrates to another
 * master, Redis unsubscribes the subscriber: the bus loses trust, subscribes on the new owner,
 * regains trust, and messages flow again. The control, a plain SSUBSCRIBE connection without the
 * bus's handling, goes deaf at the same moment without anything telling it. A manual failover
 * (the master demoted: unsubscribed too) and, last, the owner killed (its connection closes):
 * the same, on the replica the cluster promotes.
 */
import { Redis } from 'ioredis'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { BusMessage } from '../../src/drivers/bus.js'
import { RedisBus } from '../../src/drivers/redis-bus.js'
import { slotOf } from '../../src/drivers/redis-key-layout.js'
import { CacheManager, type CacheOptions } from '../../src/index.js'
import { uniquePrefix } from '../support/redis.js'
import { RedisClusterServer } from '../support/redis-cluster-server.js'
import { waitFor } from '../support/wait.js'

let cluster: RedisClusterServer
const open: { close(): Promise<void> | void }[] = []
const nodes = new Map<number, Redis>()

beforeAll(async () => {
  cluster = await RedisClusterServer.start()
}, 60_000)

afterAll(async () => {
  for (const item of open.reverse()) await item.close()
  for (const client of nodes.values()) client.disconnect()
  await cluster?.stop()
})

function node(port: number): Redis {
  let client = nodes.get(port)
  if (client === undefined) {
    client = new Redis({ port, host: '127.0.0.1' })
    client.on('error', () => {}) // the killed master's, reconnecting
    nodes.set(port, client)
  }
  return client
}

function cache(options: CacheOptions): CacheManager {
  const c = new CacheManager({ redis: { cluster: cluster.nodes }, ...options })
  open.push(c)
  return c
}

/** The master port serving `slot`, as `node` sees it. */
async function ownerOf(slot: number, port: number): Promise<number> {
  const ranges = await node(port).cluster('SLOTS')
  return ranges.find(([start, end]) => slot >= start && slot <= end)![2]![1]
}

/** Calls of `command` (e.g. `publish`) on the node at `port` since its last CONFIG RESETSTAT. */
async function calls(port: number, command: string): Promise<number> {
  const stats = (await node(port).info('commandstats')) as string
  return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0)
}

it('two caches exchange invalidations over SSUBSCRIBE/SPUBLISH, never PUBLISH', async () => {
  const masters = await cluster.masterPorts()
  const ports = cluster.nodes.map((n) => n.port)
  for (const port of ports) await node(port).config('RESETSTAT')
  const prefix = uniquePrefix('cl-sbus')
  const channel = `${prefix}__sc:bus`
  const a = cache({ prefix })
  const b = cache({ prefix })
  await a.get('warm-up')
  await b.get('warm-up')
  await waitFor(() => a.getMetrics().busTrusted && b.getMetrics().busTrusted, {
    what: 'both buses trusted',
  })

  await a.set('p:1', 'v1', { tags: ['products'] })
  expect(await b.get('p:1')).toBe('v1') // now in b's L1
  await a.set('p:1', 'v2', { tags: ['products'] })
  await waitFor(async () => (await b.get('p:1')) === 'v2', { what: 'b to see the new value' })
  // A tag invalidation's notice is published by the driver itself.
  expect(await b.get('p:1')).toBe('v2')
  await a.invalidateByTag('products')
  await waitFor(async () => (await b.get('p:1')) === undefined, { what: 'the tag to reach b' })

  const owner = await ownerOf(slotOf(channel), masters[0]!)
  const shard = (await node(owner).call('PUBSUB', 'SHARDCHANNELS', channel)) as string[]
  expect(shard).toEqual([channel])
  expect(await node(owner).call('PUBSUB', 'SHARDNUMSUB', channel)).toEqual([channel, 2])
  for (const port of ports) {
    expect(await node(port).pubsub('CHANNELS', channel), `SUBSCRIBE on ${port}`).toEqual([])
    expect(await calls(port, 'publish'), `PUBLISH on ${port}`).toBe(0)
  }
  // Control: the same counters see the bus's traffic, on the owner only.
  expect(await calls(owner, 'spublish')).toBeGreaterThan(2)
  expect(await calls(owner, 'ssubscribe')).toBe(2)
}, 30_000)

/** Moves `slot` (holding no keys) from the master on `from` to the one on `to`. */
/**
 * Two started buses on `channel`, each on a cluster client of its own; what the second one hears
 * and its trust edges are recorded.
 */
async function busPair(channel: string) {
  const buses = [cluster.client(), cluster.client()].map(
    (client) => new RedisBus({ client, channel, heartbeatMs: 100 }),
  )
  open.push(...buses)
  const heard: BusMessage[] = []
  const edges: { trusted: boolean; reason: string }[] = []
  buses[1]!.onMessage((message) => heard.push(message))
  buses[1]!.onTrustChange((trusted, reason) => edges.push({ trusted, reason }))
  await Promise.all(buses.map((bus) => bus.start()))
  return { buses, heard, edges }
}

async function migrate(slot: number, from: number, to: number, masters: number[]): Promise<void> {
  const [fromId, toId] = await Promise.all([from, to].map((p) => node(p).cluster('MYID')))
  await node(to).cluster('SETSLOT', slot, 'IMPORTING', fromId as string)
  await node(from).cluster('SETSLOT', slot, 'MIGRATING', toId as string)
  expect(await node(from).cluster('COUNTKEYSINSLOT', slot)).toBe(0)
  for (const port of [to, from, ...masters.filter((p) => p !== to && p !== from)]) {
    await node(port).cluster('SETSLOT', slot, 'NODE', toId as string)
  }
}

it('a migration of the channel slot: trust lost, resubscribed on the new owner, trust back', async () => {
  const masters = await cluster.masterPorts()
  const channel = `${uniquePrefix('cl-sbus-move')}__sc:bus`
  const slot = slotOf(channel)
  const { buses, heard, edges } = await busPair(channel)
  expect(buses.every((bus) => bus.trusted)).toBe(true)

  const from = await ownerOf(slot, masters[0]!)
  const to = masters.find((p) => p !== from)!
  // Control: a bare SSUBSCRIBE on the owner, as a subscriber without the bus's handling.
  const bare = new Redis({ port: from, host: '127.0.0.1' })
  open.push({ close: () => bare.disconnect() })
  const bareErrors: string[] = []
  bare.on('error', (error: Error) => bareErrors.push(error.message))
  const bareHeard: string[] = []
  bare.on('smessage', (_channel: string, raw: string) => bareHeard.push(raw))
  await bare.ssubscribe(channel)

  expect(await buses[0]!.publish({ type: 'delete', keys: ['before'] })).toBe(true)
  await waitFor(() => heard.length === 1 && bareHeard.length > 0, { what: 'before the move' })
  // Concurrent publishes all go through the one master, in order: no sequence gap (a PUBLISH went
  // to any node, and the cluster's forwarding reordered them: a trust blip for each "gap").
  const burst = Array.from({ length: 200 }, (_, i) => ({
    type: 'delete' as const,
    keys: [`c${i}`],
  }))
  await Promise.all(burst.map((message) => buses[0]!.publish(message)))
  await waitFor(() => heard.length === 201, { what: 'the burst' })
  expect(heard.slice(1)).toEqual(burst)
  expect(buses[1]!.stats).toMatchObject({ sequenceGaps: 0, outOfOrder: 0 })
  heard.length = 0
  edges.length = 0

  const movedAt = performance.now()
  await migrate(slot, from, to, masters)
  await waitFor(() => edges.some((e) => e.trusted), { timeoutMs: 10_000, what: 'trust back' })
  // The other bus lost its subscription too, and comes back on its own schedule.
  await waitFor(() => buses.every((bus) => bus.trusted), { timeoutMs: 10_000, what: 'both back' })
  console.info(
    `[cluster bus] slot ${slot} moved ${from} -> ${to}: trust back after ` +
      `${Math.round(performance.now() - movedAt)} ms; edges ${JSON.stringify(edges)}`,
  )
  // Trust went first, for the gap itself, not for a heartbeat missed later.
  expect(edges[0]!.trusted).toBe(false)
  expect(edges[0]!.reason).toMatch(/sunsubscribe/)
  expect(buses[1]!.subscriberStatus).toContain(`:${to}`)
  expect(await node(to).call('PUBSUB', 'SHARDNUMSUB', channel)).toEqual([channel, 2])
  expect(await node(from).call('PUBSUB', 'SHARDNUMSUB', channel)).toEqual([channel, 0])

  const bareBefore = bareHeard.length
  expect(await buses[0]!.publish({ type: 'delete', keys: ['after'] })).toBe(true)
  await waitFor(() => heard.length === 1, { what: 'a message after the move' })
  expect(heard[0]).toEqual({ type: 'delete', keys: ['after'] })
  // The control heard nothing since (not even the heartbeats going to the new owner) and was
  // told nothing but an unexpected-reply error that nothing acts on: without the trust loss, its
  // cache would have kept serving what the missed invalidations were about.
  expect(bareHeard.length).toBe(bareBefore)
  expect(bareErrors.join()).toMatch(/sunsubscribe/)
  expect(buses[1]!.trusted).toBe(true)
}, 30_000)

it('a manual failover of the channel master: trust lost (Redis unsubscribes), the bus follows the promoted replica', async () => {
  const masters = await cluster.masterPorts()
  const channel = `${uniquePrefix('cl-sbus-failover')}__sc:bus`
  const { buses, heard, edges } = await busPair(channel)
  edges.length = 0
  const owner = await ownerOf(slotOf(channel), masters[0]!)
  const ownerId = (await node(owner).cluster('MYID')) as string
  const replicaLine = ((await node(owner).cluster('REPLICAS', ownerId)) as string[])[0]!
  const replica = Number(/:(\d+)@/.exec(replicaLine)![1])
  await node(replica).cluster('FAILOVER')
  await waitFor(async () => (await ownerOf(slotOf(channel), owner)) === replica, {
    timeoutMs: 10_000,
    what: 'the replica to take over',
  })
  await waitFor(() => buses[1]!.subscriberStatus.includes(`:${replica}`) && buses[1]!.trusted, {
    timeoutMs: 10_000,
    what: 'subscribed on the new master',
  })
  console.info(
    `[cluster bus] CLUSTER FAILOVER ${owner} -> ${replica}: edges ${JSON.stringify(edges)}`,
  )
  // Trust goes before anything is heard again: by Redis's sunsubscribe, or first by the heartbeat
  // watchdog when publishing fails during the switch (which one wins is timing).
  expect(edges[0]).toMatchObject({
    trusted: false,
    reason: expect.stringMatching(/sunsubscribe|heartbeat missing/),
  })
  expect(await buses[0]!.publish({ type: 'clear' })).toBe(true)
  await waitFor(() => heard.length === 1, { what: 'a message after the failover' })
}, 30_000)

it("the channel's master killed: trust lost, resubscribed on the promoted replica", async () => {
  const masters = await cluster.masterPorts()
  const channel = `${uniquePrefix('cl-sbus-kill')}__sc:bus`
  const { buses, heard, edges } = await busPair(channel)
  expect(buses.every((bus) => bus.trusted)).toBe(true)
  const owner = await ownerOf(slotOf(channel), masters[0]!)
  expect(buses[1]!.subscriberStatus).toContain(`:${owner}`)
  edges.length = 0

  const killedAt = performance.now()
  await cluster.kill(owner)
  await waitFor(() => edges.some((e) => e.trusted), { timeoutMs: 20_000, what: 'trust back' })
  console.info(
    `[cluster bus] master ${owner} killed: trust back after ` +
      `${Math.round(performance.now() - killedAt)} ms; first edge ${JSON.stringify(edges[0])}`,
  )
  expect(edges[0]).toMatchObject({ trusted: false, reason: expect.stringMatching(/closed/) })
  const promoted = await ownerOf(slotOf(channel), masters.find((p) => p !== owner)!)
  expect(promoted).not.toBe(owner)
  expect(buses[1]!.subscriberStatus).toContain(`:${promoted}`)
  expect(await buses[0]!.publish({ type: 'clear' })).toBe(true)
  await waitFor(() => heard.length === 1, { what: 'a message after the failover' })
}, 40_000)

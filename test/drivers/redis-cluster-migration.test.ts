/**
 * Hash slots migrated under load on a real Redis Cluster (`CLUSTER SETSLOT ... MIGRATING` /
 * `IMPORTING`, `MIGRATE` in batches, then `SETSLOT ... NODE`): while each slot is migrating, its
 * keys first on the old master then on the new one (reached through ASK), a strict writer keeps
 * writing and a strict instance keeps reading. No strict read is older than a write acknowledged before it began;
 * a control instance without bus or strict mode is caught serving old copies by the same check.
 */
import { Redis } from 'ioredis'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { slotOf } from '../../src/drivers/redis-key-layout.js'
import { CacheManager, type CacheOptions } from '../../src/index.js'
import { uniquePrefix } from '../support/redis.js'
import { RedisClusterServer } from '../support/redis-cluster-server.js'
import { waitFor } from '../support/wait.js'

let cluster: RedisClusterServer
const open: CacheManager[] = []
const nodes = new Map<number, Redis>()

beforeAll(async () => {
  cluster = await RedisClusterServer.start()
}, 60_000)

afterAll(async () => {
  for (const cache of open) await cache.close()
  for (const node of nodes.values()) node.disconnect()
  await cluster?.stop()
})

function cache(options: CacheOptions): CacheManager {
  const c = new CacheManager({ redis: { cluster: cluster.nodes }, ...options })
  open.push(c)
  return c
}

function node(port: number): Redis {
  let client = nodes.get(port)
  if (client === undefined) {
    client = new Redis({ port, host: '127.0.0.1' })
    nodes.set(port, client)
  }
  return client
}

/**
 * Moves `slot` from the master on `from` to the one on `to` as `redis-cli --cluster reshard`
 * does (keys in batches of 10), calling `between` once the slot is MIGRATING with every key still
 * on `from`, and again once every key is on `to` before the slot is handed over (ASK redirects).
 */
async function migrate(
  slot: number,
  from: number,
  to: number,
  between: () => Promise<unknown>,
): Promise<number> {
  const [fromId, toId] = await Promise.all([from, to].map((p) => node(p).cluster('MYID')))
  await node(to).cluster('SETSLOT', slot, 'IMPORTING', fromId as string)
  await node(from).cluster('SETSLOT', slot, 'MIGRATING', toId as string)
  await between()
  let moved = 0
  for (;;) {
    const keys = (await node(from).cluster('GETKEYSINSLOT', slot, 10)) as string[]
    if (keys.length === 0) break
    await node(from).migrate('127.0.0.1', to, '', 0, 5_000, 'KEYS', ...keys)
    moved += keys.length
  }
  await between()
  for (const port of [to, from]) await node(port).cluster('SETSLOT', slot, 'NODE', toId as string)
  return moved
}

it('slots migrated under load: no strict read older than an acknowledged write', async () => {
  const prefix = uniquePrefix('cl-migrate')
  // Strict writers: an eventual one acknowledges a write Redis refused with its invalidation only
  // queued (docs/GUARANTEES.md, guarantee 3), which a strict reader may then see as stale.
  const writer = cache({ prefix, consistency: 'strict' })
  const strict = cache({ prefix, consistency: 'strict', bus: false })
  const control = cache({ prefix, bus: false })
  const keys = Array.from({ length: 12 }, (_, i) => `m:${i}`)
  const acked = new Map<string, number>()
  let stop = false
  const counts = { reads: 0, stale: 0, controlStale: 0, writes: 0 }

  const writing = (async () => {
    for (let version = 1; !stop; version++) {
      for (const key of keys) {
        await writer.set(key, version, { tags: ['m'] })
        acked.set(key, version)
        counts.writes++
      }
      // A degraded cache answers without I/O: let timers and sockets run between rounds.
      await new Promise(setImmediate)
    }
  })()
  const reading = (async () => {
    while (!stop) {
      for (const key of keys) {
        const floor = acked.get(key) ?? 0
        const [got, copy] = await Promise.all([strict.get<number>(key), control.get<number>(key)])
        counts.reads++
        if (typeof got === 'number' && got < floor) counts.stale++
        if (typeof copy === 'number' && copy < floor) counts.controlStale++
      }
      await new Promise(setImmediate)
    }
  })()

  await waitFor(() => counts.writes > 100, { timeoutMs: 10_000, what: 'the load to start' })
  const masters = await cluster.masterPorts()
  const slots = [...new Set(keys.map((key) => slotOf(prefix + key)))]
  let moved = 0
  for (const slot of slots) {
    const owner = await ownerOf(slot, masters)
    const target = masters.find((p) => p !== owner)!
    // Between two keys moved, the writer writes every key again and the reader reads them all.
    const between = () => {
      const writes = counts.writes + keys.length
      const reads = counts.reads + keys.length
      return waitFor(() => counts.writes >= writes && counts.reads >= reads, {
        timeoutMs: 10_000,
        what: 'writes and reads during the migration',
      })
    }
    moved += await migrate(slot, owner, target, between)
  }
  stop = true
  await Promise.all([writing, reading])

  console.info(
    `[cluster migration] ${slots.length} slots, ${moved} keys moved; ${counts.writes} writes, ` +
      `${counts.reads} reads: strict stale ${counts.stale}, control stale ${counts.controlStale}`,
  )
  expect(moved).toBeGreaterThan(slots.length) // entries, versions, leases... moved
  expect(counts.reads).toBeGreaterThan(100)
  expect(counts.stale).toBe(0)
  expect(counts.controlStale).toBeGreaterThan(0)
  // Quiet: every instance with a way to know reads the last write; the tag still finds them all.
  await waitFor(() => !writer.getMetrics().degraded && !strict.getMetrics().degraded, {
    timeoutMs: 10_000,
    what: 'both caches to be healthy',
  })
  for (const key of keys) expect(await strict.get(key), key).toBe(acked.get(key))
  await writer.invalidateByTag('m')
  const reader = cache({ prefix, local: false, bus: false })
  expect(await reader.getBatch(keys)).toEqual(keys.map(() => undefined))
}, 60_000)

/** The master port serving `slot`, asked of a node. */
async function ownerOf(slot: number, masters: number[]): Promise<number> {
  const ranges = await node(masters[0]!).cluster('SLOTS')
  const range = ranges.find(([start, end]) => slot >= start && slot <= end)!
  return range[2]![1]
}

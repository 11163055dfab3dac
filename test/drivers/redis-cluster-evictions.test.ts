/**
 * The eviction watch on a real Redis Cluster (three masters, three replicas, its own for this
 * file): one master given a `maxmemory` and `allkeys-random`, then flooded with filler keys of
 * its own slots, evicts some; every cache on the cluster drops its entries (one of them clears,
 * through the degraded path), as on a standalone server (`faults/eviction-policy.test.ts`).
 */
import type { Cluster } from 'ioredis'
import { expect, it } from 'vitest'
import { clusterLayout, slotOf } from '../../src/drivers/redis-key-layout.js'
import type { CacheManager } from '../../src/index.js'
import { uniquePrefix } from '../support/redis.js'
import { useCluster } from '../support/redis-cluster-server.js'
import { waitFor } from '../support/wait.js'

const fixture = useCluster({ closeCaches: 'file' })

function cache(prefix: string, local = true): CacheManager {
  return fixture.cache({ prefix, bus: false, local })
}

type Node = ReturnType<Cluster['nodes']>[number]

/** `host:port` of a node. */
function addressOf(node: Node): string {
  return `${node.options.host}:${node.options.port}`
}

/** `evicted_keys` of one node. */
async function evictedKeys(node: Node): Promise<number> {
  return Number(/evicted_keys:(\d+)/.exec(await node.info('stats'))![1])
}

/**
 * An entry whose tag set is deleted as an eviction would (eviction picks keys at random, which a
 * test cannot aim), so that invalidateByTag misses it: read back by a reader without L1 (the
 * control: the entry outlived its invalidation).
 */
async function hideEntry(prefix: string, [writer, reader]: CacheManager[]): Promise<void> {
  await writer!.set('product:1', 'old', { tags: ['product'] })
  expect(await fixture.raw.del(clusterLayout(prefix).tagSet('product'))).toBe(1)
  await writer!.invalidateByTag('product')
  expect(await reader!.get('product:1')).toBe('old')
}

/**
 * A real eviction on `node`, so that its count of evicted keys grows: `maxmemory` just above
 * what it uses, `allkeys-random`, and filler keys of its own slots until some are evicted.
 */
async function evictOn(node: Node): Promise<void> {
  const address = addressOf(node)
  const fillers: string[] = []
  for (let n = 0; fillers.length < 64; n++) {
    const name = `filler:${n}`
    if (fixture.raw.slots[slotOf(name)]![0] === address) fillers.push(name)
  }
  const before = await evictedKeys(node)
  const used = Number(/used_memory:(\d+)/.exec(await node.info('memory'))![1])
  await node.config('SET', 'maxmemory', String(used + 256 * 1024))
  await node.config('SET', 'maxmemory-policy', 'allkeys-random')
  const filler = Buffer.alloc(16 * 1024)
  for (const name of fillers) await node.set(name, filler).catch(() => {})
  await node.config('SET', 'maxmemory', '0')
  await node.config('SET', 'maxmemory-policy', 'noeviction')
  expect(await evictedKeys(node)).toBeGreaterThan(before)
}

/** A master that does not hold the entry (which must be dropped by the cache, not evicted). */
function otherMaster(prefix: string): Node {
  const owner = fixture.raw.slots[slotOf(`${prefix}product:1`)]![0]!
  return fixture.raw.nodes('master').find((n) => addressOf(n) !== owner)!
}

/** Evicts on `node`, then waits for the entry to be dropped, and both caches to recover. */
async function expectDropped(prefix: string, caches: CacheManager[], node: Node): Promise<void> {
  const [writer, reader] = caches as [CacheManager, CacheManager]
  const degraded: string[] = []
  for (const c of caches) c.on('degraded', ({ reason }) => degraded.push(reason))
  await evictOn(node)
  expect(await fixture.raw.exists(`${prefix}product:1`)).toBe(1)
  await waitFor(async () => (await reader.get('product:1')) === undefined, {
    timeoutMs: 5_000,
    what: 'the entry to be dropped',
  })
  await waitFor(() => degraded.length > 0, { what: 'the degraded event' })
  expect(degraded[0]).toMatch(
    new RegExp(`evicted \\d+ keys \\(maxmemory reached on ${addressOf(node)}\\)`),
  )
  await waitFor(() => !writer.getMetrics().degraded && !reader.getMetrics().degraded, {
    what: 'both caches recovered',
  })
}

it('drops its entries once a master reports evictions: an evicted tag set hid one from its invalidation', async () => {
  const prefix = uniquePrefix('cl-evicted')
  const caches = [cache(prefix), cache(prefix, false)]
  await hideEntry(prefix, caches)
  await expectDropped(prefix, caches, otherMaster(prefix))
})

it('follows the topology: evictions on a replica promoted after the caches started are seen', async () => {
  const prefix = uniquePrefix('cl-evicted-moved')
  const caches = [cache(prefix), cache(prefix, false)]
  await caches[0]!.set('warm', 1)
  const noticed = caches.map(() => false)
  for (const [i, c] of caches.entries()) {
    c.on('degraded', ({ reason }) => {
      if (reason.includes('new master')) noticed[i] = true
    })
  }
  const mastersBefore = await fixture.cluster.masterPorts()
  const victim = otherMaster(prefix)
  await fixture.cluster.kill(victim.options.port!)
  await fixture.cluster.waitHealthy()
  const promoted = (await fixture.cluster.masterPorts()).find(
    (port) => !mastersBefore.includes(port),
  )!
  expect(promoted).toBeDefined()
  const node = await waitFor(
    async () => {
      await fixture.raw.refreshSlotsCache()
      return fixture.raw.nodes('master').find((n) => n.options.port === promoted)
    },
    { what: 'the promoted replica in the slot map', timeoutMs: 10_000, intervalMs: 100 },
  )
  // The caches notice the new master (and redo their recent writes), then recover.
  await waitFor(() => caches.every((c, i) => noticed[i] && !c.getMetrics().degraded), {
    what: 'both caches recovered from the failover',
    timeoutMs: 15_000,
  })
  // Both caches' watches read the promoted master's counts (two looks each, every second).
  const infoCalls = async () =>
    Number(/cmdstat_info:calls=(\d+)/.exec(await node.info('commandstats'))?.[1] ?? 0)
  const callsThen = await infoCalls()
  await waitFor(async () => (await infoCalls()) >= callsThen + 9, {
    what: "the caches' watches to read the promoted master",
    timeoutMs: 10_000,
    intervalMs: 100,
  })
  await hideEntry(prefix, caches)
  await expectDropped(prefix, caches, node)
})

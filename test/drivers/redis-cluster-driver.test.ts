/**
 * The Redis driver on a real Redis Cluster, below the cache: the key layout checked against the
 * server's own `CLUSTER KEYSLOT`, the fence through `coordination`, and a tag invalidation cut
 * halfway (a node failing) that its replay finishes. Its own cluster: the last test kills a node.
 */
import type { Cluster } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RedisDriver } from '../../src/drivers/redis-driver.js'
import { clusterLayout, slotOf } from '../../src/drivers/redis-key-layout.js'
import { uniquePrefix } from '../support/redis.js'
import { RedisClusterServer } from '../support/redis-cluster-server.js'
import { waitFor } from '../support/wait.js'

let cluster: RedisClusterServer
let raw: Cluster

beforeAll(async () => {
  cluster = await RedisClusterServer.start()
  raw = cluster.client()
  await raw.ping()
}, 60_000)

afterAll(async () => {
  await cluster?.stop()
})

const awkward = ['plain', 'with{brace}', '{}empty', 'a}b{c', '{x}{y}', 'é✓', 'k:'.repeat(50)]

describe('the Cluster key layout', () => {
  it('computes slots as the server does', async () => {
    for (const name of [...awkward, 'p:{t}k', 'p:__sc:lease:{0}with{brace}']) {
      expect(slotOf(name), name).toBe(Number(await raw.cluster('KEYSLOT', name)))
    }
  })

  it("puts each key's own keys in its entry's slot, and each tag's in one slot", () => {
    for (const prefix of ['app:', 'app:{tenant}:']) {
      const l = clusterLayout(prefix)
      for (const key of awkward) {
        const slot = slotOf(l.entry(key))
        for (const name of [l.lease(key), l.waiters(key), l.keyVersion(key), l.allVersion(key)]) {
          expect(slotOf(name), name).toBe(slot)
        }
        const tagSlot = slotOf(l.tagSet(key))
        expect(slotOf(l.tagVersion(key))).toBe(tagSlot)
        expect(slotOf(l.tagDraining(key))).toBe(tagSlot)
      }
    }
    // Control: without the layout's hash tags, a key's lease would land elsewhere.
    expect(slotOf('app:__sc:lease:plain')).not.toBe(slotOf('app:plain'))
  })
})

describe('RedisDriver on a Redis Cluster', () => {
  it('fences through coordination: a store after a delete of its key is refused', async () => {
    const driver = new RedisDriver({ cluster: cluster.nodes, prefix: uniquePrefix('cl-drv') })
    const fence = driver.coordination!
    const first = await fence.beginFill('k', 1_000, 'token-1', 'if-absent')
    expect(first.lease).toBe(true)
    expect(
      await fence.storeFill('k', Buffer.from('v'), 10_000, ['t'], first.since, 'token-1'),
    ).toBe('stored')
    const second = await fence.beginFill('k', 1_000, 'token-2', 'always')
    await driver.delete(['k'])
    const outcome = await fence.storeFill(
      'k',
      Buffer.from('old'),
      10_000,
      [],
      second.since,
      'token-2',
    )
    expect(outcome).toBe('fenced')
    expect(await driver.get('k')).toBeUndefined()
    await driver.close()
  })

  it('clear() as the very first command waits for the slot map, then bumps every slot', async () => {
    const prefix = uniquePrefix('cl-first')
    const driver = new RedisDriver({ cluster: cluster.nodes, prefix })
    await driver.clear()
    const versions = clusterLayout(prefix)
    for (const key of awkward) expect(await raw.exists(versions.allVersion(key)), key).toBe(1)
    await driver.close()
  })

  it('a tag invalidation cut by a failed node fails, and its replay removes the rest', async () => {
    const prefix = uniquePrefix('cl-cut')
    const driver = new RedisDriver({ cluster: cluster.nodes, prefix, tagBatch: 10 })
    const keys = Array.from({ length: 60 }, (_, i) => `k:${i}`)
    for (const key of keys) await driver.set(key, Buffer.from(key), 60_000, ['t'])
    const tagSlot = slotOf(clusterLayout(prefix).tagSet('t'))
    const tagOwner = raw.slots[tagSlot]![0]!
    // A master that holds some entries but not the tag: its entries cannot be deleted.
    const victim = raw
      .nodes('master')
      .map((node) => `${node.options.host}:${node.options.port}`)
      .find(
        (owner) =>
          owner !== tagOwner && keys.some((key) => raw.slots[slotOf(prefix + key)]![0] === owner),
      )!
    const unwatch = driver.watchServer(() => {})
    await cluster.kill(Number(victim.split(':')[1]))
    await expect(driver.deleteByTags(['t'])).rejects.toThrow()
    await cluster.waitHealthy()
    // The replay (what the resilient layer does, once the driver sees the promoted replica)
    // finds what is left in the draining set.
    await waitFor(
      () =>
        driver.deleteByTags(['t']).then(
          () => true,
          () => false,
        ),
      { timeoutMs: 15_000, intervalMs: 100, what: 'the replayed invalidation to succeed' },
    )
    for (const key of keys) expect(await driver.get(key), key).toBeUndefined()
    unwatch()
    await driver.close()
  }, 60_000)
})

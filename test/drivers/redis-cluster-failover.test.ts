import { expect, it } from 'vitest'
import { RedisDriver } from '../../src/drivers/redis-driver.js'
import { slotOf } from '../../src/drivers/redis-key-layout.js'
import type { CacheOptions } from '../../src/index.js'
import { uniquePrefix } from '../support/redis.js'
import { useCluster } from '../support/redis-cluster-server.js'
import { waitFor } from '../support/wait.js'

const fixture = useCluster()
const cache = (options: CacheOptions) => fixture.cache(options)

it('a master killed: degraded, strict serves nothing stale, the replayed delete lands on the promoted replica', async () => {
  const prefix = uniquePrefix('cl-failover')
  const writer = cache({ prefix })
  const strict = cache({ prefix, consistency: 'strict', bus: false })
  // The driver's failover watch, seen directly (the cache, already degraded by the outage when
  // it fires, would not emit a second event).
  const driver = new RedisDriver({ cluster: fixture.cluster.nodes, prefix })
  // A replaced master is repaired by redoing recent changes: the facade records them for it.
  expect(driver.needsRecentChanges).toBe(true)
  const changes: string[] = []
  const unwatch = driver.watchServer((reason) => changes.push(reason))
  await waitFor(() => driver.client.status === 'ready', { what: 'the watching driver to connect' })
  await writer.set('k', 'v1')
  expect(await strict.get('k')).toBe('v1')
  const owner = fixture.raw.slots[slotOf(`${prefix}k`)]![0]!
  const port = Number(owner.split(':')[1])
  // v1 is on the replica before the kill: only the replayed delete can remove it there.
  const master = fixture.raw.nodes('master').find((node) => node.options.port === port)!
  expect(await master.call('WAIT', 1, 5_000)).toBe(1)
  await fixture.cluster.kill(port)

  // The delete cannot reach k's master: the cache says so (degraded), and queues it.
  await writer.delete('k')
  await waitFor(() => writer.getMetrics().degraded, { what: 'the writer to be degraded' })
  // Strict mode does not serve its L1 copy of k, which it cannot check. (Until the replica takes
  // over, the whole cluster answers CLUSTERDOWN: cluster-require-full-coverage is on by default.)
  expect(await strict.get('k')).toBeUndefined()

  // The replica takes over; the writer notices the new master and replays the delete.
  await fixture.cluster.waitHealthy()
  await waitFor(() => changes.some((reason) => reason.includes('new master')), {
    timeoutMs: 15_000,
    what: 'the failover to be noticed',
  })
  unwatch()
  await driver.close()
  // Recovered: the breaker closes only once the queued invalidations are replayed.
  await waitFor(() => !writer.getMetrics().degraded, {
    timeoutMs: 15_000,
    what: 'the writer to recover',
  })
  const reader = cache({ prefix, local: false, bus: false })
  expect(await reader.get('k')).toBeUndefined()
  expect(await strict.get('k')).toBeUndefined()
  await writer.set('k', 'v2')
  // The strict instance may itself be redoing its writes after noticing the failover (degraded
  // for a moment): it reads v2 once it is back, and never the deleted v1 meanwhile.
  const seen: unknown[] = []
  await waitFor(
    async () => {
      seen.push(await strict.get('k'))
      return seen.at(-1) === 'v2'
    },
    { timeoutMs: 15_000, intervalMs: 20, what: 'the strict instance to read v2' },
  )
  expect(seen).not.toContain('v1')
}, 60_000)

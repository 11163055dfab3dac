import { expect, it } from 'vitest'
import { slotOf } from '../../src/drivers/redis-key-layout.js'
import { analyze } from '../support/consistency/checker.js'
import { clock, recordKey } from '../support/consistency/protocol.js'
import { FAILOVER_LOAD, FailoverLoad } from '../support/failover-load.js'
import { uniquePrefix } from '../support/redis.js'
import { useCluster } from '../support/redis-cluster-server.js'
import { waitFor } from '../support/wait.js'

/**
 * A strict write waits for Redis up to `max(1 s, 4 × commandTimeout)`: 6 s here. It must outlast
 * the failover: `cluster-node-timeout` (1 s) until the master is marked failed, then the replica's
 * election (about 0.5 to 1 s more), then ioredis's next look at the slot map.
 */
const COMMAND_TIMEOUT_MS = 1_500
const STRICT_WAIT_MS = Math.max(1_000, 4 * COMMAND_TIMEOUT_MS)
const RECORDS = 12

const fixture = useCluster({ closeCaches: 'file' })

/** `host:port` of the master serving each record's key, by record id. */
function mastersOf(prefix: string): Map<number, number> {
  const owners = new Map<number, number>()
  for (let id = 1; id <= RECORDS; id++) {
    const owner = fixture.raw.slots[slotOf(`${prefix}${recordKey(id)}`)]![0]!
    owners.set(id, Number(owner.split(':')[1]))
  }
  return owners
}

it('strict caches serve nothing stale through a master killed under load, and all recover on the new topology', async () => {
  // A prefix whose records lie on all three masters, at least two on each.
  let prefix = uniquePrefix('cl-load')
  for (;;) {
    const counts = new Map<number, number>()
    for (const port of mastersOf(prefix).values()) counts.set(port, (counts.get(port) ?? 0) + 1)
    if (counts.size === 3 && [...counts.values()].every((n) => n >= 2)) break
    prefix = uniquePrefix('cl-load')
  }
  const owners = mastersOf(prefix)
  const victim = owners.get(1)!
  const onVictim = [...owners].filter(([, port]) => port === victim).map(([id]) => id)

  const caches = (['strict', 'strict', 'eventual'] as const).map((consistency) =>
    fixture.cache({ prefix, consistency, commandTimeout: `${COMMAND_TIMEOUT_MS}ms` }),
  )
  await waitFor(() => caches.every((c) => c.getMetrics().busTrusted), {
    timeoutMs: 10_000,
    what: 'buses trusted',
  })
  const load = new FailoverLoad(caches, { ...FAILOVER_LOAD, records: RECORDS })
  load.start()
  const writes = () => load.instances.reduce((n, i) => n + i.writes.count, 0)
  const reads = () => load.instances.reduce((n, i) => n + i.reads.count, 0)
  await waitFor(() => writes() >= 30, { what: 'load under way' })

  const killedAt = clock()
  await fixture.cluster.kill(victim)
  // The replica takes over: every remaining node sees the cluster whole again.
  await fixture.cluster.waitHealthy()
  const promotedAt = clock()
  expect(await fixture.cluster.masterPorts()).not.toContain(victim)

  const notDegraded = () => caches.every((c) => !c.getMetrics().degraded)
  await waitFor(notDegraded, { what: 'every cache recovered', timeoutMs: 20_000 })
  // The load goes on on the new topology, the killed master's records included.
  const readsThen = reads()
  const writesThen = writes()
  await waitFor(() => reads() >= readsThen + 1_000 && writes() >= writesThen + 50, {
    what: 'load on the new topology',
    timeoutMs: 20_000,
  })
  await load.stop()
  await waitFor(notDegraded, { what: 'every cache recovered', timeoutMs: 20_000 })
  const recoveredAt = Math.max(...load.instances.map((i) => i.degraded.at(-1)?.[1] ?? killedAt))

  // The strict reads, checked against the strict writes: an eventual write is acknowledged once
  // its invalidation is queued (degraded), before Redis has it, which no reader can see. Against
  // every write, for the record; the eventual reads against every write.
  const records = load.instances.map((i) => ({
    index: i.index,
    reads: i.reads.toArray(),
    writes: i.writes.toArray(),
  }))
  const none = new Float64Array(0)
  const strictOnly = (r: (typeof records)[number]) =>
    r.index < 2 ? r : { ...r, reads: none, writes: none }
  const strict = analyze(records.map(strictOnly), RECORDS)
  const strictVsAll = analyze(
    records.map((r) => (r.index < 2 ? r : { ...r, reads: none })),
    RECORDS,
  )
  const eventual = analyze(
    records.map((r) => (r.index === 2 ? r : { ...r, reads: none })),
    RECORDS,
  )
  expect(strict.staleReads, strict.worst.join('\n')).toBe(0)
  expect(await load.staleEntries()).toEqual([])
  expect(load.failures.map((f) => f.error)).toEqual([])
  for (const instance of load.instances) {
    expect(instance.unsettled).toBe(0)
    // Nothing hangs past the strict wait (plus a margin for the event loop under load).
    expect(instance.slowestWriteMs).toBeLessThan(STRICT_WAIT_MS + 1_000)
    expect(instance.slowestReadMs).toBeLessThan(STRICT_WAIT_MS + 1_000)
  }
  // The strict caches did notice the outage (degraded), and the failover took less than their wait.
  for (const instance of load.instances.slice(0, 2))
    expect(instance.degraded.length).toBeGreaterThan(0)
  expect(promotedAt - killedAt).toBeLessThan(STRICT_WAIT_MS)

  const row = (name: string, i: number[]) =>
    [
      name,
      i.map((n) => load.degradedMs(load.instances[n]!, killedAt).toFixed(0)).join(' / '),
      `${Math.max(...i.map((n) => load.instances[n]!.slowestWriteMs)).toFixed(0)} / ${Math.max(...i.map((n) => load.instances[n]!.slowestReadMs)).toFixed(0)}`,
    ].join(' | ')
  console.info(
    [
      `[cluster failover under load] master ${victim} killed (records ${onVictim.join(', ')} on it), commandTimeout ${COMMAND_TIMEOUT_MS} ms (strict wait ${STRICT_WAIT_MS} ms)`,
      `replica promoted, cluster whole: ${(promotedAt - killedAt).toFixed(0)} ms after the kill; last recovery: ${(recoveredAt - killedAt).toFixed(0)} ms`,
      'caches | degraded (ms) | slowest write / read (ms)',
      row('strict', [0, 1]),
      row('eventual', [2]),
      `reads ${strict.reads} strict + ${eventual.reads} eventual, writes ${strict.writes} strict + ${eventual.writes - strict.writes} eventual`,
      `stale reads: strict ${strict.staleReads} (${strictVsAll.staleReads} against the eventual cache's queued writes too), eventual ${eventual.staleReads}${eventual.staleReads > 0 ? ` (max ${eventual.lateness.max.toFixed(0)} ms late)` : ''}, failed calls ${load.failures.length}`,
    ].join('\n'),
  )
}, 90_000)

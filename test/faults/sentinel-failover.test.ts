/**
 * Redis Sentinel: one master, one replica, three sentinels (private processes), two caches in
 * strict mode connected through the sentinels, reads and writes under load, and the master failed
 * over, by `SENTINEL FAILOVER` (the old master still running) and by `kill -9`. Just before, the
 * replica is cut from its master: what the master acknowledges from then on (a delete of a probe
 * key, the load's invalidations) never reaches the server that takes its place.
 *
 * What must hold: no call fails (strict writes wait for the new master, reads load meanwhile);
 * both caches reach the new master, notice it is another server, clear the prefix and
 * recover; no read is stale, during the failover or after; the lost delete is done again; the bus
 * carries invalidations again. How long it all took is printed.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { CacheManager } from '../../src/index.js'
import { clock } from '../support/consistency/protocol.js'
import { FailoverLoad } from '../support/failover-load.js'
import { uniquePrefix } from '../support/redis.js'
import { SentinelGroup } from '../support/redis-sentinel-servers.js'
import { waitFor } from '../support/wait.js'

const DOWN_AFTER_MS = 1_000
/**
 * A strict write waits for Redis up to `max(1 s, 4 × commandTimeout)`: 6 s here. It must outlast
 * the failover (`down-after-milliseconds` + the election, about 2.4 s after the kill below) plus
 * the client's next reconnection attempt (its backoff reaches 2 s): writes waited up to 3.7 s.
 */
const COMMAND_TIMEOUT = '1500ms'

interface Failover {
  name: string
  cause(group: SentinelGroup): Promise<void>
}

const FAILOVERS: Failover[] = [
  { name: 'SENTINEL FAILOVER, the old master still running', cause: (g) => g.failover() },
  { name: 'the master killed (kill -9)', cause: (g) => g.killMaster() },
]

const rows: string[][] = []
let group: SentinelGroup | undefined
let caches: CacheManager[] = []

afterEach(async () => {
  await Promise.all(caches.map((c) => c.close()))
  caches = []
  await group?.stop()
  group = undefined
})

afterAll(() => {
  const header = [
    'failover',
    'switch (ms after the cause)',
    'degraded per cache (ms)',
    'last recovery (ms after the cause)',
    'slowest write / read (ms)',
    'reads',
    'writes',
    'stale reads',
    'failed calls',
  ]
  console.info(`[sentinel]\n${[header, ...rows].map((row) => row.join(' | ')).join('\n')}`)
})

describe.each(FAILOVERS)('Sentinel: $name', (failover) => {
  it('strict caches serve nothing stale, move to the new master, and the bus works again', async () => {
    group = await SentinelGroup.start({ downAfterMs: DOWN_AFTER_MS })
    const prefix = uniquePrefix('sentinel')
    caches = [0, 1].map(
      (i) =>
        new CacheManager({
          redis: {
            sentinels: group!.sentinels,
            name: group!.name,
            connectionName: `sentinel-cache-${i}`,
          },
          prefix,
          consistency: 'strict',
          commandTimeout: COMMAND_TIMEOUT,
        }),
    )
    const [a, b] = caches as [CacheManager, CacheManager]
    await waitFor(() => caches.every((c) => c.getMetrics().busTrusted), { what: 'buses trusted' })

    await a.set('probe', 'old')
    const oldMaster = group.client((await group.master()).port)
    expect(await oldMaster.wait(1, 2_000)).toBe(1) // the replica has it
    const load = new FailoverLoad(caches)
    load.start()
    const writes = () => load.instances.reduce((n, i) => n + i.writes.count, 0)
    const reads = () => load.instances.reduce((n, i) => n + i.reads.count, 0)
    await waitFor(() => writes() >= 20, { what: 'load under way' })

    // From here on the master acknowledges what its replica will never see.
    group.replicationLink.partition()
    const replica = group.client((await group.replica()).port)
    await a.delete('probe')
    expect(await replica.exists(`${prefix}probe`)).toBe(1)
    const cutWrites = writes()
    await waitFor(() => writes() >= cutWrites + 10, { what: 'writes the replica misses' })

    const { switched } = await group.nextSwitch()
    const causedAt = clock()
    await failover.cause(group)
    const { at: switchedAt, port } = await switched

    // Both caches (their commands and their bus) reach the new master...
    const newMaster = group.client(port)
    await waitFor(
      async () => {
        const list = (await newMaster.client('LIST')) as string
        return caches.every((_, i) => list.includes(`name=sentinel-cache-${i} `))
      },
      { what: 'both caches on the new master', timeoutMs: 15_000, intervalMs: 20 },
    )
    // ...notice it is another server and clear the prefix: the delete it never got goes with it.
    await waitFor(async () => (await newMaster.exists(`${prefix}probe`)) === 0, {
      what: 'the lost delete done again',
      timeoutMs: 20_000,
    })
    const notDegraded = () => caches.every((c) => !c.getMetrics().degraded)
    await waitFor(notDegraded, { what: 'both caches recovered', timeoutMs: 20_000 })
    const readsThen = reads()
    await waitFor(() => reads() >= readsThen + 500, { what: 'load on the new master' })
    await load.stop()
    await waitFor(notDegraded, { what: 'both caches recovered', timeoutMs: 20_000 })
    const recoveredAt = Math.max(...load.instances.map((i) => i.degraded.at(-1)?.[1] ?? causedAt))

    const analysis = load.analysis()
    expect(analysis.staleReads, analysis.worst.join('\n')).toBe(0)
    expect(await load.staleEntries()).toEqual([])
    expect(load.failures.map((f) => f.error)).toEqual([])
    for (const instance of load.instances) expect(instance.unsettled).toBe(0)
    expect(await b.get('probe')).toBeUndefined()

    // The bus: an invalidation on one instance reaches the other's L1.
    await waitFor(() => caches.every((c) => c.getMetrics().busTrusted), { what: 'buses trusted' })
    await a.set('bus-probe', 1)
    expect(await b.get('bus-probe')).toBe(1)
    const dropped: string[] = []
    b.on('delete', ({ keys, remote }) => {
      if (remote) dropped.push(...keys)
    })
    await a.delete('bus-probe')
    await waitFor(() => dropped.includes('bus-probe'), { what: "the bus to drop b's L1 copy" })
    expect(b.getMetrics().busTrusted).toBe(true)

    rows.push([
      failover.name,
      (switchedAt - causedAt).toFixed(0),
      load.instances.map((i) => load.degradedMs(i, causedAt).toFixed(0)).join(' / '),
      (recoveredAt - causedAt).toFixed(0),
      `${Math.max(...load.instances.map((i) => i.slowestWriteMs)).toFixed(0)} / ${Math.max(...load.instances.map((i) => i.slowestReadMs)).toFixed(0)}`,
      String(analysis.reads),
      String(analysis.writes),
      String(analysis.staleReads),
      String(load.failures.length),
    ])
  }, 90_000)
})

import { PrismaPg } from '@prisma/adapter-pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PrismaClient } from '../../prisma/generated/client.js'
import { withReadReplicas } from '../../src/database/replicas/read-replicas.js'
import { ValidationError } from '../../src/errors.js'
import { CacheManager, MemoryBus, MemoryBusHub } from '../../src/index.js'
import { withCache } from '../../src/prisma/index.js'
import type { PostgresServer } from '../support/postgres-server.js'
import { deleteKeysUnder, REDIS_URL, rawRedis, uniquePrefix } from '../support/redis.js'
import {
  type ReplicaCluster,
  type Shop,
  shop,
  startReplicaCluster,
} from '../support/replica-cluster.js'
import { waitFor } from '../support/wait.js'

// Other instances (through the cache bus and a shared Redis), a replica that is down, and
// option validation; routing and freshness within one instance are in replicas.test.ts.
describe('withReadReplicas (a real streaming replica on loopback)', () => {
  let cluster: ReplicaCluster
  let primary: PostgresServer
  let replica: PostgresServer
  let cache: CacheManager
  let app: Shop
  /** What tests with instances of their own leave to close, before the servers stop. */
  const cleanups: (() => Promise<void>)[] = []
  const replay = (on: boolean) => cluster.replay(on)
  const caughtUp = () => cluster.caughtUp()

  beforeAll(async () => {
    cluster = await startReplicaCluster()
    ;({ primary, replica, cache, app } = cluster)
  }, 60_000)

  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup()
    await cluster?.close()
  })

  it('learns of other instances’ writes through the cache bus', async () => {
    const hub = new MemoryBusHub()
    const cacheA = new CacheManager({ bus: new MemoryBus({ hub, channel: 'replicas' }) })
    const cacheB = new CacheManager({ bus: new MemoryBus({ hub, channel: 'replicas' }) })
    const a = shop(primary, replica, cacheA)
    const b = shop(primary, replica, cacheB)
    try {
      await caughtUp()
      await a.prisma.$readReplicas.poll()
      expect((await a.prisma.account.findUnique({ where: { id: 3 } }))?.owner).toBe('owner 3')
      await replay(false)
      const notices: unknown[] = []
      cacheA.on('invalidate', (event) => notices.push(event))
      await b.prisma.account.update({ where: { id: 3 }, data: { owner: 'moved' } })
      await waitFor(() => notices.length > 0, { what: 'the bus notice on instance A' })
      const read = await a.served(() => a.prisma.account.findUnique({ where: { id: 3 } }))
      expect(read.result?.owner).toBe('moved')
      expect(read.replica).toBe(0)
    } finally {
      await replay(true)
      await a.prisma.$disconnect()
      await b.prisma.$disconnect()
      await cacheA.close()
      await cacheB.close()
    }
  })

  type Instance = ReturnType<typeof shop>
  /**
   * Two instances sharing Redis, their bus 400 ms slow: A writes account `id`, and B fills it from
   * the paused replica before A's invalidation reaches it (with `sharedFills`, the old row lands
   * in Redis). `duringLag` runs then; afterwards replay resumes and B hears of the write.
   */
  async function laggedFillAcrossInstances(
    id: number,
    options: { repairLaggedFills?: boolean; sharedFills?: boolean },
    duringLag?: (a: Instance, b: Instance) => Promise<void>,
  ) {
    const prefix = uniquePrefix('replicas')
    const hub = new MemoryBusHub({ delayMs: 400 })
    const caches = [0, 1].map(
      () =>
        new CacheManager({
          redis: REDIS_URL,
          prefix,
          bus: new MemoryBus({ hub, channel: prefix }),
        }),
    )
    const [a, b] = caches.map((c) => shop(primary, replica, c as CacheManager, options))
    if (a === undefined || b === undefined) throw new Error('two instances')
    const read = async (instance: typeof a) =>
      (await instance.prisma.account.findUnique({ where: { id } }))?.owner
    cleanups.push(async () => {
      for (const instance of [a, b]) await instance.prisma.$disconnect()
      for (const c of caches) await c.close()
      const redis = rawRedis()
      await deleteKeysUnder(redis, prefix)
      redis.disconnect()
    })
    let heard = false
    caches[1]?.on('invalidate', (event) => {
      if (event.remote === true) heard = true
    })
    await caughtUp()
    await b.prisma.$readReplicas.poll()
    await replay(false)
    try {
      await a.prisma.account.update({ where: { id }, data: { owner: `moved ${id}` } })
      // B has not heard of the write yet: its fill reads the lagging replica (the bus delay).
      expect(await read(b)).toBe(`owner ${id}`)
      await duringLag?.(a, b)
    } finally {
      await replay(true)
    }
    await caughtUp()
    await waitFor(() => heard, { what: 'the notice reaching B' })
    return { a, b, read }
  }
  it('shared Redis: the old row a lagging replica gave another instance is invalidated once replayed', async () => {
    const { a, b, read } = await laggedFillAcrossInstances(4, { sharedFills: true })
    await waitFor(async () => (await read(a)) === 'moved 4' && (await read(b)) === 'moved 4', {
      what: 'both instances reading the write',
      timeoutMs: 3_000,
    })
    expect(a.prisma.$readReplicas.stats().laggedFillRepairs).toBeGreaterThan(0)
  })

  it('shared Redis, default: the writer reads its write even while another instance filled from a lagging replica', async () => {
    // B keeps its replica fill in its own L1 (sharedFills off): A misses in Redis, reads the primary.
    await laggedFillAcrossInstances(1, {}, async (a) => {
      const read = await a.prisma.account.findUnique({ where: { id: 1 } }).withCacheInfo()
      expect({ owner: read.data?.owner, status: read.info.cacheStatus }).toEqual({
        owner: 'moved 1',
        status: 'miss',
      })
    })
  })

  it('shared Redis, repairLaggedFills off: that old row outlives the replica catching up', async () => {
    const { a } = await laggedFillAcrossInstances(2, {
      sharedFills: true,
      repairLaggedFills: false,
    })
    // The replica has replayed the write and B has its notice, yet Redis serves the old row
    // (until the entry's TTL, 10 s for this model).
    const stale = await a.prisma.account.findUnique({ where: { id: 2 } }).withCacheInfo()
    expect(stale.data?.owner).toBe('owner 2')
    expect(stale.info.cacheStatus).toBe('hit')
  })

  it('a replica that is down: reads are served by the primary, and the replica comes back', async () => {
    const { prisma, served } = app
    await caughtUp()
    await replica.stop()
    try {
      const read = await served(() => prisma.category.findMany({ cacheStrategy: false }))
      expect(read.result).toHaveLength(3)
      expect(read.primary).toBe(1)
      await prisma.$readReplicas.poll()
      const [status] = prisma.$readReplicas.status()
      expect(status?.healthy).toBe(false)
      expect(status?.failures).toBeGreaterThan(0)
      const down = await served(() => prisma.note.count({ cacheStrategy: false }))
      expect({ primary: down.primary, replica: down.replica }).toEqual({ primary: 1, replica: 0 })
    } finally {
      await replica.start()
    }
    const uncached = () => prisma.note.count({ cacheStrategy: false })
    await waitFor(async () => (await served(uncached)).replica === 1, {
      what: 'reads back on the restarted replica',
      timeoutMs: 10_000,
    })
    expect(prisma.$readReplicas.status()[0]?.healthy).toBe(true)
  }, 20_000)

  it('validates its options and its place among the extensions', () => {
    const bad = (options: unknown, field: string) => {
      const error = (() => {
        try {
          withReadReplicas(options as never)
        } catch (caught) {
          return caught
        }
      })()
      expect(error).toBeInstanceOf(ValidationError)
      expect((error as ValidationError).field).toBe(field)
    }
    bad(undefined, 'options')
    bad({ replicas: [] }, 'options.replicas')
    bad({ replicas: [app.replicaClient, {}] }, 'options.replicas[1]')
    bad({ replicas: [app.replicaClient, app.replicaClient] }, 'options.replicas')
    bad({ replicas: [app.replicaClient], pollInterval: -1 }, 'options.pollInterval')
    bad({ replicas: [app.replicaClient], pollTimeout: 'soon' }, 'options.pollTimeout')
    bad({ replicas: [app.replicaClient], pick: 'random' }, 'options.pick')
    bad({ replicas: [app.replicaClient], cache: {} }, 'options.cache')
    bad({ replicas: [app.replicaClient], namespace: '' }, 'options.namespace')
    bad({ replicas: [app.replicaClient], repairLaggedFills: 'yes' }, 'options.repairLaggedFills')
    bad({ replicas: [app.replicaClient], replica: 'x' }, 'options.replica')
    const cached = new PrismaClient({
      adapter: new PrismaPg({ connectionString: primary.url() }),
    }).$extends(withCache({ cache, env: false }))
    expect(() => cached.$extends(withReadReplicas({ replicas: [app.replicaClient] }))).toThrow(
      /withReadReplicas: must be applied before withCache/,
    )
    expect(() => app.prisma.$primary('no' as never)).toThrow(ValidationError)
    expect(() => app.prisma.$readReplicas.noteWrite(['Nope'])).toThrow(/models\[0\]: Nope/)
    expect(() => app.prisma.$readReplicas.noteWrite([])).toThrow(/^models: must list/)
  })
})

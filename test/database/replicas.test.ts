import { Prisma as PrismaExtension } from '@prisma/client/extension'
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest'
import { withReadReplicas } from '../../src/database/replicas/read-replicas.js'
import { CacheManager } from '../../src/index.js'
import { withCache } from '../../src/prisma/index.js'
import type { PostgresServer } from '../support/postgres-server.js'
import { checker } from '../support/replica-checker.js'
import {
  countedClient,
  type ReplicaCluster,
  type Shop,
  startReplicaCluster,
} from '../support/replica-cluster.js'
import { waitFor } from '../support/wait.js'

interface NaiveHookParams {
  model?: string
  operation: string
  args: unknown
  query(args: unknown): Promise<unknown>
  __internalParams?: { transaction?: unknown }
}
type NaiveRead = (args: unknown) => Promise<unknown>

// Routing and freshness within one instance, and the checker; other instances, a replica that
// is down and option validation are in replicas-instances.test.ts.
describe('withReadReplicas (a real streaming replica on loopback)', () => {
  let cluster: ReplicaCluster
  let primary: PostgresServer
  let replica: PostgresServer
  let app: Shop
  let replicaSql: pg.Pool
  const replay = (on: boolean) => cluster.replay(on)
  const caughtUp = () => cluster.caughtUp()

  beforeAll(async () => {
    cluster = await startReplicaCluster()
    ;({ primary, replica, app, replicaSql } = cluster)
  }, 60_000)

  afterAll(async () => {
    await cluster?.close()
  })

  it('sends reads to the replica once it has replayed the writes they depend on', async () => {
    await waitFor(async () => (await app.served(() => app.prisma.note.count())).replica === 1, {
      what: 'a read served by the replica',
    })
    const {
      result,
      primary: p,
      replica: r,
    } = await app.served(() =>
      app.prisma.category.findMany({ orderBy: { id: 'asc' }, cacheStrategy: false }),
    )
    expect(result.map((c) => c.slug)).toEqual(['audio', 'video', 'cables'])
    expect({ primary: p, replica: r }).toEqual({ primary: 0, replica: 1 })
  })

  it('never answers or caches data older than an acknowledged write while the replica lags', async () => {
    const { prisma, served } = app
    expect((await prisma.account.findUnique({ where: { id: 1 } }))?.balance).toBe(100) // cached
    await replay(false)
    try {
      await prisma.account.update({ where: { id: 1 }, data: { balance: 200 } })
      // The replica really lags: reading it would return the old balance.
      const stale = await replicaSql.query('SELECT balance FROM "Account" WHERE id = 1')
      expect(stale.rows[0].balance).toBe(100)

      const fill = await served(() =>
        prisma.account.findUnique({ where: { id: 1 } }).withCacheInfo(),
      )
      expect(fill.result.info.cacheStatus).toBe('miss')
      expect(fill.result.data?.balance).toBe(200)
      expect({ primary: fill.primary, replica: fill.replica }).toEqual({ primary: 1, replica: 0 })
      const hit = await prisma.account.findUnique({ where: { id: 1 } }).withCacheInfo()
      expect(hit.info.cacheStatus).toBe('hit')
      expect(hit.data?.balance).toBe(200)
      const list = await served(() => prisma.account.findMany({ orderBy: { id: 'asc' } }))
      expect(list.result[0]?.balance).toBe(200)
      expect(list.replica).toBe(0)

      // Data no write touched is still read from the (lagging) replica.
      const other = await served(() => prisma.category.count({ cacheStrategy: false }))
      expect(other.result).toBe(3)
      expect({ primary: other.primary, replica: other.replica }).toEqual({ primary: 0, replica: 1 })
      const stats = prisma.$readReplicas.stats()
      expect(
        stats.primaryReasons.replicasBehind + stats.primaryReasons.writePending,
      ).toBeGreaterThan(0)
    } finally {
      await replay(true)
    }
    // Caught up: reads of the written model go to the replica again, and see the write.
    const again = await waitFor(
      async () => {
        const read = await served(() =>
          prisma.account.findMany({ where: { id: 1 }, cacheStrategy: false }),
        )
        return read.replica === 1 ? read : undefined
      },
      { what: 'account reads back on the replica' },
    )
    expect(again?.result[0]?.balance).toBe(200)
  })

  it('keeps reads reaching a written model, through a relation or a transaction, on the primary', async () => {
    const { prisma, served } = app
    await prisma.product.create({
      data: {
        sku: 'P-1',
        name: 'Speaker',
        price: '10.00',
        category: { connect: { slug: 'video' } },
      },
    })
    await caughtUp()
    await replay(false)
    try {
      await prisma.product.update({ where: { sku: 'P-1' }, data: { price: '12.00' } })
      const withProducts = await served(() =>
        prisma.category.findUnique({ where: { slug: 'video' }, include: { products: true } }),
      )
      expect(withProducts.result?.products[0]?.price.toString()).toBe('12')
      expect(withProducts.replica).toBe(0)
      // Without the relation the read depends on Category only, which no write touched.
      const alone = await served(() => prisma.category.findUnique({ where: { slug: 'video' } }))
      expect(alone.replica).toBe(1)

      await prisma.$transaction(async (tx) => {
        await tx.category.update({ where: { slug: 'audio' }, data: { name: 'Audio!' } })
      })
      const read = await served(() => prisma.category.findUnique({ where: { slug: 'audio' } }))
      expect(read.result?.name).toBe('Audio!')
      expect(read.replica).toBe(0)
      await prisma.$transaction([prisma.note.create({ data: { title: 'third' } })])
      const notes = await served(() => prisma.note.count())
      expect(notes.result).toBe(3)
      expect(notes.replica).toBe(0)
      // A raw write names its table: Account reads go to the primary as well.
      await prisma.$executeRaw`UPDATE "Account" SET balance = balance + 1 WHERE id = 2`
      const raw = await served(() => prisma.account.findUnique({ where: { id: 2 } }))
      expect(raw.result?.balance).toBe(101)
      expect(raw.replica).toBe(0)
    } finally {
      await replay(true)
    }
  })

  it('noteWrite: a write made behind Prisma’s back keeps its model on the primary until replayed', async () => {
    const { prisma, served } = app
    await caughtUp()
    await replay(false)
    try {
      await primary.query(`UPDATE "Note" SET title = 'edited by hand' WHERE id = 1`)
      prisma.$readReplicas.noteWrite(['Note'])
      const read = await served(() =>
        prisma.note.findMany({ where: { id: 1 }, cacheStrategy: false }),
      )
      expect(read.result[0]?.title).toBe('edited by hand')
      expect(read.replica).toBe(0)
    } finally {
      await replay(true)
    }
  })

  it.each([
    ['round-robin', [3, 3]],
    ['least-lag', [6, 0]], // both at the same position: the first of the most advanced
  ] as const)('picks among the replicas fresh enough: %s', async (pick, reads) => {
    const onReplicas = { n: 0 }
    const clients = [countedClient(replica, onReplicas), countedClient(replica, onReplicas)]
    const base = countedClient(primary, { n: 0 })
    // No background polls: the positions stay those of the poll below.
    const options = { replicas: clients, pollInterval: '1h', pick }
    const prisma = base.$extends(withReadReplicas(options))
    try {
      await caughtUp()
      await prisma.$readReplicas.poll()
      const [first, second] = prisma.$readReplicas.status()
      expect(first?.replayLsn).toBe(second?.replayLsn)
      for (let i = 0; i < 6; i++) await prisma.category.count()
      expect(prisma.$readReplicas.status().map((status) => status.reads)).toEqual(reads)
      expect(onReplicas.n).toBe(6)
    } finally {
      await prisma.$disconnect()
    }
  })

  it('$primary(fn) sends the reads fn makes to the primary', async () => {
    const { prisma, served } = app
    await caughtUp()
    const read = await served(() =>
      prisma.$primary(() => prisma.category.findMany({ cacheStrategy: false })),
    )
    expect(read.result).toHaveLength(3)
    expect({ primary: read.primary, replica: read.replica }).toEqual({ primary: 1, replica: 0 })
    expectTypeOf(read.result).toEqualTypeOf<
      { id: number; name: string; slug: string; parentId: number | null }[]
    >()
  })

  it('concurrent writers and readers: no read after an acknowledged write returns an older value', async () => {
    await caughtUp()
    const before = app.prisma.$readReplicas.stats()
    const { violations, reads } = await checker(app.prisma, replay)
    expect(violations).toEqual([])
    expect(reads).toBeGreaterThan(50)
    const after = app.prisma.$readReplicas.stats()
    // The replica did serve reads meanwhile (notes, and accounts between writes).
    expect(after.replicaReads - before.replicaReads).toBeGreaterThan(0)
    // One probe of the primary covers every write that returned before it was sent.
    expect(after.probes - before.probes).toBeLessThanOrEqual(after.writes - before.writes)
  }, 20_000)

  it('the same checker catches a router that ignores replication lag', async () => {
    const onReplica = { n: 0 }
    const replicaClient = countedClient(replica, onReplica)
    /** What the official read-replicas extension does: every read outside a transaction. */
    const everyReadToReplica = (params: NaiveHookParams): Promise<unknown> => {
      const { model, operation, args, query } = params
      if (
        model === undefined ||
        params.__internalParams?.transaction !== undefined ||
        !/^(find|count)/.test(operation)
      ) {
        return query(args)
      }
      const { __stratacacheLoad: _, ...rest } = (args ?? {}) as Record<string, unknown>
      const delegates = replicaClient as unknown as Record<string, Record<string, NaiveRead>>
      return delegates[model.charAt(0).toLowerCase() + model.slice(1)]![operation]!(rest)
    }
    const naive = PrismaExtension.defineExtension((client) =>
      client.$extends({ query: { $allOperations: everyReadToReplica as never } }),
    )
    const naiveCache = new CacheManager()
    const base = countedClient(primary, { n: 0 })
    const prisma = base.$extends(naive).$extends(withCache({ cache: naiveCache, env: false }))
    const forChecker = Object.assign(prisma, {
      $primary: <T>(fn: () => T) => Promise.resolve(fn()).then((v) => v as Awaited<T>),
    }) as unknown as typeof app.prisma
    try {
      const { violations } = await checker(forChecker, replay)
      expect(violations.length).toBeGreaterThan(0)
    } finally {
      await base.$disconnect()
      await replicaClient.$disconnect()
      await naiveCache.close()
    }
  }, 20_000)
})

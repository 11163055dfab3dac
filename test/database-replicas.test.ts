import { PrismaPg } from '@prisma/adapter-pg'
import { Prisma as PrismaExtension } from '@prisma/client/extension'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest'
import { PrismaClient } from '../prisma/generated/client.js'
import { applyMigrations } from '../scripts/migrations.js'
import { withReadReplicas } from '../src/database/replicas/read-replicas.js'
import { ValidationError } from '../src/errors.js'
import { CacheManager, MemoryBus, MemoryBusHub } from '../src/index.js'
import { withCache } from '../src/prisma/index.js'
import { captureSql } from '../src/prisma/sql-capture.js'
import { PostgresServer } from './support/postgres-server.js'
import { deleteKeysUnder, REDIS_URL, rawRedis, uniquePrefix } from './support/redis.js'
import { waitFor } from './support/wait.js'

interface NaiveHookParams {
  model?: string
  operation: string
  args: unknown
  query(args: unknown): Promise<unknown>
  __internalParams?: { transaction?: unknown }
}
type NaiveRead = (args: unknown) => Promise<unknown>

/** The router's own bookkeeping statements, not reads anyone asked for. */
const BOOKKEEPING = /pg_last_wal_replay_lsn|pg_current_wal_insert_lsn/

/** A Prisma client on `server` whose statements (bookkeeping aside) are counted in `count`. */
function countedClient(server: PostgresServer, count: { n: number }): PrismaClient {
  const adapter = captureSql(new PrismaPg({ connectionString: server.url(), max: 6 }), {
    onStatement: (statement) => {
      if (!BOOKKEEPING.test(statement.sql)) count.n++
    },
  })
  return new PrismaClient({ adapter })
}

function shop(
  primary: PostgresServer,
  replica: PostgresServer,
  cache: CacheManager,
  repairLaggedFills = true,
) {
  const onPrimary = { n: 0 }
  const onReplica = { n: 0 }
  const replicaClient = countedClient(replica, onReplica)
  const prisma = countedClient(primary, onPrimary)
    .$extends(
      withReadReplicas({ replicas: [replicaClient], cache, pollInterval: 10, repairLaggedFills }),
    )
    .$extends(withCache({ cache, env: false }))
  /** Runs `fn` and tells which server ran the statements it caused. */
  async function served<T>(fn: () => PromiseLike<T>) {
    const before = { primary: onPrimary.n, replica: onReplica.n }
    const result = await fn()
    return { result, primary: onPrimary.n - before.primary, replica: onReplica.n - before.replica }
  }
  return { prisma, served, replicaClient }
}

describe('withReadReplicas (a real streaming replica on loopback)', () => {
  let primary: PostgresServer
  let replica: PostgresServer
  let cache: CacheManager
  let app: ReturnType<typeof shop>
  let replicaSql: pg.Pool
  /** What tests with instances of their own leave to close, before the servers stop. */
  const cleanups: (() => Promise<void>)[] = []

  /** Replay on the replica: paused (it lags behind every write from now on) or running. */
  async function replay(on: boolean) {
    await replicaSql.query(on ? 'SELECT pg_wal_replay_resume()' : 'SELECT pg_wal_replay_pause()')
    if (!on) {
      await waitFor(
        async () =>
          (await replicaSql.query('SELECT pg_get_wal_replay_pause_state() AS s')).rows[0].s ===
          'paused',
        { what: 'replay paused' },
      )
    }
  }

  /** Until the replica has replayed everything the primary has written so far. */
  async function caughtUp() {
    const [position] = await primary.query<{ lsn: string }>(
      'SELECT pg_current_wal_insert_lsn() AS lsn',
    )
    await waitFor(
      async () =>
        (
          await replicaSql.query('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS ok', [
            position?.lsn,
          ])
        ).rows[0].ok,
      { what: 'replica caught up', timeoutMs: 10_000 },
    )
    await app.prisma.$readReplicas.poll()
  }

  beforeAll(async () => {
    primary = await PostgresServer.start()
    replica = await primary.replica()
    const admin = new pg.Pool({ connectionString: primary.url(), max: 2 })
    await applyMigrations(admin)
    await admin.end()
    replicaSql = new pg.Pool({ connectionString: replica.url(), max: 2 })
    // Idle connections are cut when the test stops the replica.
    replicaSql.on('error', () => {})
    cache = new CacheManager()
    app = shop(primary, replica, cache)
    const { prisma } = app
    await prisma.category.createMany({
      data: ['audio', 'video', 'cables'].map((slug) => ({ name: slug, slug })),
    })
    await prisma.account.createMany({
      data: [1, 2, 3, 4].map((i) => ({ owner: `owner ${i}`, balance: 100 })),
    })
    await prisma.note.createMany({ data: [{ title: 'first' }, { title: 'second' }] })
    await caughtUp()
  }, 60_000)

  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup()
    await app?.prisma.$disconnect()
    await replicaSql?.end()
    await cache?.close()
    await replica?.destroy()
    await primary?.destroy()
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

  /**
   * Writers increment balances and note each acknowledged value; readers (cached and uncached)
   * check every read against the value acknowledged before it started; replay is paused and
   * resumed underneath. `route` says where reads go: the router, or every read to the replica.
   */
  async function checker(prisma: typeof app.prisma) {
    const acknowledged = new Map<number, number>()
    for (const account of await prisma.$primary(() =>
      prisma.account.findMany({ cacheStrategy: false }),
    )) {
      acknowledged.set(account.id, account.balance)
    }
    const violations: string[] = []
    let reads = 0
    let stop = false
    const writer = async (seed: number) => {
      for (let i = 0; i < 40; i++) {
        const id = ((seed + i) % 4) + 1
        const { balance } = await prisma.account.update({
          where: { id },
          data: { balance: { increment: 1 } },
        })
        acknowledged.set(id, Math.max(acknowledged.get(id) ?? 0, balance))
      }
    }
    const reader = async (seed: number) => {
      for (let i = 0; !stop; i++) {
        const id = ((seed + i) % 4) + 1
        const floor = acknowledged.get(id) ?? 0
        const account =
          i % 2 === 0
            ? await prisma.account.findUnique({ where: { id } })
            : (await prisma.account.findMany({ where: { id }, cacheStrategy: false }))[0]
        reads++
        if ((account?.balance ?? -1) < floor) {
          violations.push(`account ${id}: read ${account?.balance}, acknowledged ${floor}`)
        }
        await prisma.note.findMany({ cacheStrategy: false })
      }
    }
    const toggler = async () => {
      for (let on = false; !stop; on = !on) {
        await replay(on)
        await new Promise((resolve) => setTimeout(resolve, 15))
      }
      await replay(true)
    }
    const toggling = toggler()
    const readers = Promise.all([1, 2, 3, 4, 5, 6].map(reader))
    await Promise.all([1, 2, 3].map(writer))
    stop = true
    await Promise.all([readers, toggling])
    return { violations, reads }
  }

  it('concurrent writers and readers: no read after an acknowledged write returns an older value', async () => {
    await caughtUp()
    const before = app.prisma.$readReplicas.stats()
    const { violations, reads } = await checker(app.prisma)
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
      const { violations } = await checker(forChecker)
      expect(violations.length).toBeGreaterThan(0)
    } finally {
      await base.$disconnect()
      await replicaClient.$disconnect()
      await naiveCache.close()
    }
  }, 20_000)

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

  /**
   * Two instances sharing Redis, their bus 400 ms slow: B fills account `id` from the paused
   * replica before A's invalidation reaches it, so the old row lands in Redis. Then replay resumes.
   */
  async function laggedFillAcrossInstances(id: number, repairLaggedFills: boolean) {
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
    const [a, b] = caches.map((c) => shop(primary, replica, c as CacheManager, repairLaggedFills))
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
    } finally {
      await replay(true)
    }
    await caughtUp()
    await waitFor(() => heard, { what: 'the notice reaching B' })
    return { a, b, read }
  }
  it('shared Redis: the old row a lagging replica gave another instance is invalidated once replayed', async () => {
    const { a, b, read } = await laggedFillAcrossInstances(4, true)
    await waitFor(async () => (await read(a)) === 'moved 4' && (await read(b)) === 'moved 4', {
      what: 'both instances reading the write',
      timeoutMs: 3_000,
    })
    expect(a.prisma.$readReplicas.stats().laggedFillRepairs).toBeGreaterThan(0)
  })

  it('shared Redis, repairLaggedFills off: that old row outlives the replica catching up', async () => {
    const { a } = await laggedFillAcrossInstances(2, false)
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

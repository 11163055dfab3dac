import { PrismaPg } from '@prisma/adapter-pg'
import pg from 'pg'
import { PrismaClient } from '../../prisma/generated/client.js'
import { applyMigrations } from '../../scripts/migrations.js'
import { withReadReplicas } from '../../src/database/replicas/read-replicas.js'
import { CacheManager } from '../../src/index.js'
import { withCache } from '../../src/prisma/index.js'
import { captureSql } from '../../src/prisma/sql-capture.js'
import { PostgresServer } from './postgres-server.js'
import { waitFor } from './wait.js'

/** The router's own bookkeeping statements, not reads anyone asked for. */
const BOOKKEEPING = /pg_last_wal_replay_lsn|pg_current_wal_insert_lsn/

/** A Prisma client on `server` whose statements (bookkeeping aside) are counted in `count`. */
export function countedClient(server: PostgresServer, count: { n: number }): PrismaClient {
  const adapter = captureSql(new PrismaPg({ connectionString: server.url(), max: 6 }), {
    onStatement: (statement) => {
      if (!BOOKKEEPING.test(statement.sql)) count.n++
    },
  })
  return new PrismaClient({ adapter })
}

/**
 * One application instance: a client on `primary` routing reads to a client on `replica`
 * (withReadReplicas, then withCache on `cache`), each counting the statements it runs.
 */
export function shop(
  primary: PostgresServer,
  replica: PostgresServer,
  cache: CacheManager,
  options: { repairLaggedFills?: boolean; sharedFills?: boolean } = {},
) {
  const onPrimary = { n: 0 }
  const onReplica = { n: 0 }
  const replicaClient = countedClient(replica, onReplica)
  const prisma = countedClient(primary, onPrimary)
    .$extends(withReadReplicas({ replicas: [replicaClient], cache, pollInterval: 10, ...options }))
    .$extends(withCache({ cache, env: false }))
  /** Runs `fn` and tells which server ran the statements it caused. */
  async function served<T>(fn: () => PromiseLike<T>) {
    const before = { primary: onPrimary.n, replica: onReplica.n }
    const result = await fn()
    return { result, primary: onPrimary.n - before.primary, replica: onReplica.n - before.replica }
  }
  return { prisma, served, replicaClient }
}

export type Shop = ReturnType<typeof shop>

/** A real primary and its streaming replica, migrated and seeded, with one {@link shop} on them. */
export interface ReplicaCluster {
  readonly primary: PostgresServer
  readonly replica: PostgresServer
  /** The in-memory cache of {@link app}. */
  readonly cache: CacheManager
  readonly app: Shop
  /** A raw pool on the replica, for reading it (and steering its replay) behind the router. */
  readonly replicaSql: pg.Pool
  /** Replay on the replica: paused (it lags behind every write from now on) or running. */
  replay(on: boolean): Promise<void>
  /** Until the replica has replayed everything the primary has written so far. */
  caughtUp(): Promise<void>
  /** Disconnects the app, closes the cache and pool, and destroys both servers. */
  close(): Promise<void>
}

/**
 * Starts a primary and a streaming replica on loopback, applies the migrations, and seeds three
 * categories (audio, video, cables), four accounts (`owner 1`..`owner 4`, balance 100) and two
 * notes (first, second), waiting until the replica has replayed them.
 */
export async function startReplicaCluster(): Promise<ReplicaCluster> {
  let primary: PostgresServer | undefined
  let replica: PostgresServer | undefined
  let replicaSql: pg.Pool | undefined
  let cache: CacheManager | undefined
  let app: Shop | undefined

  async function close() {
    await app?.prisma.$disconnect()
    await replicaSql?.end()
    await cache?.close()
    await replica?.destroy()
    await primary?.destroy()
  }

  try {
    primary = await PostgresServer.start()
    replica = await primary.replica()
    const admin = new pg.Pool({ connectionString: primary.url(), max: 2 })
    await applyMigrations(admin)
    await admin.end()
    const sql = new pg.Pool({ connectionString: replica.url(), max: 2 })
    replicaSql = sql
    // Idle connections are cut when the test stops the replica.
    sql.on('error', () => {})
    cache = new CacheManager()
    const shopApp = shop(primary, replica, cache)
    app = shopApp
    const source = primary

    async function replay(on: boolean) {
      await sql.query(on ? 'SELECT pg_wal_replay_resume()' : 'SELECT pg_wal_replay_pause()')
      if (!on) {
        await waitFor(
          async () =>
            (await sql.query('SELECT pg_get_wal_replay_pause_state() AS s')).rows[0].s === 'paused',
          { what: 'replay paused' },
        )
      }
    }

    async function caughtUp() {
      const [position] = await source.query<{ lsn: string }>(
        'SELECT pg_current_wal_insert_lsn() AS lsn',
      )
      await waitFor(
        async () =>
          (await sql.query('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS ok', [position?.lsn]))
            .rows[0].ok,
        { what: 'replica caught up', timeoutMs: 10_000 },
      )
      await shopApp.prisma.$readReplicas.poll()
    }

    const { prisma } = shopApp
    await prisma.category.createMany({
      data: ['audio', 'video', 'cables'].map((slug) => ({ name: slug, slug })),
    })
    await prisma.account.createMany({
      data: [1, 2, 3, 4].map((i) => ({ owner: `owner ${i}`, balance: 100 })),
    })
    await prisma.note.createMany({ data: [{ title: 'first' }, { title: 'second' }] })
    await caughtUp()
    return { primary, replica, cache, app: shopApp, replicaSql: sql, replay, caughtUp, close }
  } catch (error) {
    await close().catch(() => {})
    throw error
  }
}

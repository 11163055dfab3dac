/**
 * Shared by the TransactionManager test files: a schema with four accounts, and the means to
 * break a transaction's connection for real (its own client, a proxy that resets connections).
 */
import net from 'node:net'
import { PrismaPg } from '@prisma/adapter-pg'
import { afterAll, beforeAll, beforeEach } from 'vitest'
import { PrismaClient } from '../../prisma/generated/client.js'
import { createTestDatabase, type TestDatabase } from './database.js'
import { waitFor } from './wait.js'

/** The PostgreSQL backend (session) a transaction runs on. */
export async function backendPid(tx: { $queryRaw: PrismaClient['$queryRaw'] }): Promise<number> {
  const rows = await tx.$queryRaw<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`
  return rows[0]!.pid
}

/** A test file's accounts; read the fields inside tests and hooks. */
export interface Bank {
  /** The file's schema. */
  readonly db: TestDatabase
  /** A client on it, with the default pool (8 connections). */
  readonly prisma: PrismaClient
  /** Account ids, in creation order, each with `balance` 1000. */
  readonly ids: number[]
  /** Every account's balance, in id order. */
  balances(): Promise<number[]>
  /** Waits until the backend `pid` is blocked on a lock (seen by PostgreSQL itself). */
  blockedOnLock(pid: number): Promise<void>
  /** A client of its own for the tests that kill sessions, so no dead connection outlives them. */
  withOwnClient(test: (client: PrismaClient) => Promise<void>): Promise<void>
  /**
   * A TCP proxy to PostgreSQL that can reset (RST) every connection through it: how a real
   * ECONNRESET (a load balancer or NAT dropping a connection) reaches pg. Yields a client on it.
   */
  throughResettingProxy(
    test: (client: PrismaClient, resetAll: () => void) => Promise<void>,
  ): Promise<void>
}

/**
 * A schema of its own named after `name` with a client on it, created in `beforeAll` and dropped
 * in `afterAll`; four accounts (`owner 1`..`owner 4`, balance 1000) seeded afresh before each test.
 */
export function useAccounts(name: string): Bank {
  let db: TestDatabase
  let prisma: PrismaClient
  let ids: number[] = []

  beforeAll(async () => {
    db = await createTestDatabase(name)
    prisma = db.client()
  })

  afterAll(async () => {
    await prisma?.$disconnect()
    await db?.drop()
  })

  beforeEach(async () => {
    await db.pool.query('TRUNCATE "Account" RESTART IDENTITY')
    const { rows } = await db.pool.query<{ id: number }>(
      `INSERT INTO "Account" (owner, balance) SELECT 'owner ' || i, 1000 FROM generate_series(1, 4) i RETURNING id`,
    )
    ids = rows.map((row) => row.id)
  })

  return {
    get db() {
      return db
    },
    get prisma() {
      return prisma
    },
    get ids() {
      return ids
    },

    async balances() {
      const { rows } = await db.pool.query<{ balance: number }>(
        'SELECT balance FROM "Account" ORDER BY id',
      )
      return rows.map((row) => row.balance)
    },

    async blockedOnLock(pid) {
      await waitFor(
        async () => {
          const { rows } = await db.pool.query<{ wait: string | null }>(
            'SELECT wait_event_type AS wait FROM pg_stat_activity WHERE pid = $1',
            [pid],
          )
          return rows[0]?.wait === 'Lock'
        },
        { what: `backend ${pid} waiting for a lock` },
      )
    },

    async withOwnClient(test) {
      const client = db.client()
      try {
        await test(client)
      } finally {
        await client.$disconnect()
      }
    },

    async throughResettingProxy(test) {
      const sockets = new Set<net.Socket>()
      const server = net.createServer((socket) => {
        const upstream = net.connect(Number(new URL(db.config.connectionString!).port || 5432))
        sockets.add(socket)
        socket.pipe(upstream).pipe(socket)
        socket.on('error', () => {})
        upstream.on('error', () => socket.destroy())
        socket.on('close', () => {
          sockets.delete(socket)
          upstream.destroy()
        })
      })
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      const url = new URL(db.config.connectionString!)
      url.host = `127.0.0.1:${(server.address() as net.AddressInfo).port}`
      const client = new PrismaClient({
        adapter: new PrismaPg({ ...db.config, connectionString: url.href }, { schema: db.schema }),
      })
      try {
        await test(client, () => {
          for (const socket of sockets) socket.resetAndDestroy()
        })
      } finally {
        await client.$disconnect()
        await new Promise((resolve) => server.close(resolve))
      }
    },
  }
}

/** Shared by the DatabaseHealthCheck test files: a schema with two accounts, clients to close. */
import { PrismaPg } from '@prisma/adapter-pg'
import pg from 'pg'
import { afterAll, beforeAll } from 'vitest'
import { PrismaClient } from '../../prisma/generated/client.js'
import { createTestDatabase, type TestDatabase } from './database.js'
import { freePort } from './redis-server.js'

/** A health test file's database; read the fields inside tests and hooks. */
export interface HealthDatabase {
  /** The file's schema, with the accounts 1 (`a`) and 2 (`b`), balance 100 each. */
  readonly db: TestDatabase
  /** A client on it. */
  readonly prisma: PrismaClient
  /** Run in reverse order after the file, before the client and the schema go. */
  readonly closers: (() => Promise<unknown>)[]
  /** A raw connection of its own (its own backend pid), closed after the file. */
  connection(): Promise<{ client: pg.Client; pid: number }>
  /** A client of a server that is not there (ECONNREFUSED, P1001), disconnected after the file. */
  unreachable(): Promise<PrismaClient>
}

/**
 * A schema of its own named after `name` with a client on it and two accounts, created in
 * `beforeAll`; in `afterAll` the closers run, then the client and the schema go.
 */
export function useHealthDatabase(name: string): HealthDatabase {
  let db: TestDatabase
  let prisma: PrismaClient
  const closers: (() => Promise<unknown>)[] = []

  beforeAll(async () => {
    db = await createTestDatabase(name)
    prisma = db.client()
    await db.pool.query(`INSERT INTO "Account" (owner, balance) VALUES ('a', 100), ('b', 100)`)
  })

  afterAll(async () => {
    for (const close of closers.reverse()) await close()
    await prisma?.$disconnect()
    await db?.drop()
  })

  return {
    get db() {
      return db
    },
    get prisma() {
      return prisma
    },
    closers,

    async connection() {
      const client = new pg.Client(db.config)
      await client.connect()
      closers.push(() => client.end())
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
      return { client, pid: rows[0]!.pid }
    },

    async unreachable() {
      const nowhere = new PrismaClient({
        adapter: new PrismaPg({
          connectionString: `postgresql://postgres@127.0.0.1:${await freePort()}/x`,
        }),
      })
      closers.push(() => nowhere.$disconnect())
      return nowhere
    },
  }
}

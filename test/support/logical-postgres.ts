import { afterAll, beforeAll } from 'vitest'
import { createTestDatabase, type TestDatabase } from './database.js'
import { PostgresServer } from './postgres-server.js'

/** What {@link useLogicalPostgres} gives a test file; read it in tests and hooks, not before. */
export interface LogicalPostgres {
  /** The file's own cluster, `wal_level = logical`. */
  readonly server: PostgresServer
  /** The migrated schema in database `test` on {@link server}. */
  readonly db: TestDatabase
  /** Database `test` with `?schema=<db.schema>`, as Prisma-style URLs carry the schema. */
  readonly url: string
  /** Database `test` without `?schema`, for replication connections and raw `pg` clients. */
  readonly directUrl: string
}

/**
 * A test file's PostgreSQL with logical replication: in `beforeAll` a cluster of its own is
 * started with `wal_level = logical` (the shared server runs `replica`, and replication slots
 * would pin WAL on it for every other file), database `test` is created on it and a migrated
 * schema ({@link createTestDatabase}) in that; in `afterAll` the pool is closed and the server
 * destroyed. Call it at the top of a file or `describe`.
 *
 * @example
 * ```ts
 * const pg = useLogicalPostgres('change_feed')
 * it('decodes', async () => {
 *   await pg.server.query("SELECT pg_create_logical_replication_slot('s', 'pgoutput')", [], 'test')
 * })
 * ```
 */
export function useLogicalPostgres(name: string): LogicalPostgres {
  let server: PostgresServer | undefined
  let db: TestDatabase | undefined

  beforeAll(async () => {
    server = await PostgresServer.start({ walLevel: 'logical' })
    await server.query('CREATE DATABASE test')
    db = await createTestDatabase(name, server.url('test'))
  }, 60_000)

  afterAll(async () => {
    // Slots and walsenders go with the server: stopping it cuts every connection, and its files
    // (slots included) are deleted, so there is nothing to drop one by one. The pool is closed
    // first so that its idle clients do not report the shutdown as errors.
    try {
      await db?.pool.end()
    } finally {
      await server?.destroy()
    }
  }, 60_000)

  /** The value once `beforeAll` has run, a clear error before. */
  function ready<T>(value: T | undefined, what: string): T {
    if (value === undefined) {
      throw new Error(`useLogicalPostgres: ${what} is only there once beforeAll has run`)
    }
    return value
  }

  return {
    get server() {
      return ready(server, 'server')
    },
    get db() {
      return ready(db, 'db')
    },
    get url() {
      return `${this.directUrl}?schema=${ready(db, 'db').schema}`
    },
    get directUrl() {
      return ready(server, 'server').url('test')
    },
  }
}

/**
 * The records the consistency checker's workers share: a PostgreSQL table
 * `records (id int primary key, version int)` in a schema of its own per run
 * (`stale_<random hex>`), dropped at the end, so runs never see each other's data.
 */
import { randomBytes } from 'node:crypto'
import pg from 'pg'

/** The shared PostgreSQL of every developer and CI machine. */
export const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

/** A quoted, validated schema name (only what {@link createRecords} makes is accepted). */
export function quoteSchema(schema: string): string {
  if (!/^stale_[0-9a-f]{8,32}$/.test(schema)) throw new Error(`unexpected schema name ${schema}`)
  return `"${schema}"`
}

/** `SELECT version` and `UPDATE ... RETURNING version` for one record. */
export function recordQueries(schema: string): { select: string; update: string } {
  const table = `${quoteSchema(schema)}.records`
  return {
    select: `SELECT version FROM ${table} WHERE id = $1`,
    update: `UPDATE ${table} SET version = version + 1 WHERE id = $1 RETURNING version`,
  }
}

export interface RecordsTable {
  schema: string
  /** The current version of records `1..count` (index `id - 1`). */
  versions(): Promise<number[]>
  /** Drops the schema and closes the connection. Idempotent. */
  drop(): Promise<void>
}

/** Creates a fresh schema with `count` records `(id, version 0)`. */
export async function createRecords(count: number, url = PG_URL): Promise<RecordsTable> {
  const schema = `stale_${randomBytes(6).toString('hex')}`
  const quoted = quoteSchema(schema)
  // A pool, not one client: it reconnects after a PostgreSQL restart (a fault of the suite).
  const client = new pg.Pool({ connectionString: url, max: 1 })
  client.on('error', () => {})
  let dropped = false
  try {
    await client.query(`CREATE SCHEMA ${quoted}`)
    await client.query(`CREATE TABLE ${quoted}.records (id int PRIMARY KEY, version int NOT NULL)`)
    await client.query(
      `INSERT INTO ${quoted}.records (id, version) SELECT g, 0 FROM generate_series(1, $1) AS g`,
      [count],
    )
  } catch (error) {
    await client.query(`DROP SCHEMA IF EXISTS ${quoted} CASCADE`).catch(() => {})
    await client.end().catch(() => {})
    throw error
  }
  return {
    schema,
    async versions() {
      const { rows } = await client.query<{ id: number; version: number }>(
        `SELECT id, version FROM ${quoted}.records ORDER BY id`,
      )
      const out = new Array<number>(count).fill(-1)
      for (const row of rows) out[row.id - 1] = row.version
      return out
    },
    async drop() {
      if (dropped) return
      dropped = true
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${quoted} CASCADE`)
      } finally {
        await client.end().catch(() => {})
      }
    },
  }
}

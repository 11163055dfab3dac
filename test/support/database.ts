import { randomBytes } from 'node:crypto'
import { PrismaPg } from '@prisma/adapter-pg'
import pg from 'pg'
import { PrismaClient } from '../../prisma/generated/client.js'
import { applyMigrations } from '../../scripts/migrations.js'

/** The shared PostgreSQL every developer and CI machine runs. */
export const DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test'

/** A PostgreSQL schema of its own, with the project's migrations applied. */
export interface TestDatabase {
  /** The schema's name (`t_<name>_<hex>`). */
  readonly schema: string
  /** Connection settings whose search_path is the schema, for `pg` and for PrismaPg. */
  readonly config: pg.PoolConfig
  /** A new Prisma client on the schema (raw SQL included); the caller disconnects it. */
  client(options?: { log?: boolean }): PrismaClient
  /** A raw `pg` pool on the schema, for setting up and checking data behind Prisma's back. */
  readonly pool: pg.Pool
  /** Drops the schema and closes the pool. */
  drop(): Promise<void>
}

/**
 * Creates a schema no other test file or run uses, so files can run side by side, and applies
 * prisma/migrations to it. `url` is the database to create it in: the shared one unless a test
 * brings a server of its own (e.g. one with logical replication, see logical-postgres.ts).
 */
export async function createTestDatabase(
  name: string,
  url: string = DATABASE_URL,
): Promise<TestDatabase> {
  const schema = `t_${name.replace(/\W/g, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`
  const config: pg.PoolConfig = {
    connectionString: url,
    options: `-c search_path=${schema}`,
    max: 4,
  }
  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  try {
    await admin.query(`CREATE SCHEMA ${schema}`)
  } finally {
    await admin.end()
  }
  const pool = new pg.Pool(config)
  await applyMigrations(pool)
  return {
    schema,
    config,
    pool,
    client: () => new PrismaClient({ adapter: new PrismaPg({ ...config, max: 8 }, { schema }) }),
    async drop() {
      await pool.query(`DROP SCHEMA ${schema} CASCADE`)
      await pool.end()
    },
  }
}

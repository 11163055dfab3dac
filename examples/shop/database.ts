/**
 * Opens the demo's database and brings its schema up to date: PostgreSQL through
 * `@prisma/adapter-pg` when DATABASE_URL is set, otherwise PGlite, PostgreSQL compiled to
 * WebAssembly and running inside this process, so that `npm start` needs no server.
 *
 * PGlite keeps its files in a directory (examples/shop/.data/pglite by default) rather than in
 * memory: the first start pays for creating the cluster and seeding 10,000 products, later starts
 * open it in a second or two and keep what the previous run changed, as a real database would.
 * `SHOP_DATA_DIR=memory://` gives a throw-away database instead.
 */
import { mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { PrismaPg } from '@prisma/adapter-pg'
import pg from 'pg'
import { PrismaPGlite } from 'pglite-prisma-adapter'
import { PrismaClient } from '../../prisma/generated/client.js'
import { applyMigrations } from '../../scripts/migrations.js'
import type { DatabaseConfig } from './config.js'
import { type DataDirLock, lockDataDir } from './data-dir-lock.js'

export interface ShopDatabase {
  readonly kind: DatabaseConfig['kind']
  /** Where the data lives, for people: no password in it. */
  readonly description: string
  /** A client without the cache extension (the app adds it): for the seed and the app. */
  readonly prisma: PrismaClient
  /** Disconnects Prisma, which ends its connection pool, and closes the embedded database. */
  close(): Promise<void>
}

export function openDatabase(config: DatabaseConfig): Promise<ShopDatabase> {
  return config.kind === 'postgresql' ? openPostgres(config) : openPglite(config.dataDir)
}

async function openPostgres({
  url,
  schema,
}: Extract<DatabaseConfig, { kind: 'postgresql' }>): Promise<ShopDatabase> {
  const { hostname, port, pathname } = new URL(url)
  const where = `${hostname || 'localhost'}:${port || 5432}${pathname}`
  const description = `PostgreSQL at ${where}${schema ? ` (schema ${schema})` : ''}`
  // Raw SQL (migrations, the seed) finds the tables through the search path; Prisma's own
  // queries name the schema explicitly (the adapter's `schema` option below).
  const connection = {
    connectionString: url,
    ...(schema && { options: `-c search_path=${schema}` }),
  }
  await migrate(connection, schema).catch((error: Error) => {
    throw new Error(`cannot prepare ${description}: ${error.message}`, { cause: error })
  })
  const adapter = new PrismaPg(connection, {
    ...(schema && { schema }),
    // An idle connection dropped by the server must not crash the process; the pool reconnects.
    onPoolError: (error) => console.error(`PostgreSQL connection lost: ${error.message}`),
  })
  const prisma = new PrismaClient({ adapter })
  return {
    kind: 'postgresql',
    description,
    prisma,
    // Prisma owns the pool it made from `connection`, and ends it.
    close: () => prisma.$disconnect(),
  }
}

/**
 * Creates the schema if needed and applies the migrations, on one connection of its own: the
 * migrations run in transactions, and BEGIN, the migration and COMMIT must share a connection.
 */
async function migrate(connection: pg.ClientConfig, schema: string | undefined): Promise<void> {
  const client = new pg.Client(connection)
  await client.connect()
  try {
    if (schema) await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`)
    await applyMigrations(client)
  } finally {
    await client.end()
  }
}

async function openPglite(dataDir: string): Promise<ShopDatabase> {
  const inMemory = dataDir.startsWith('memory://')
  let lock: DataDirLock | undefined
  if (!inMemory) {
    await mkdir(dirname(dataDir), { recursive: true })
    lock = await lockDataDir(dataDir)
  }
  const pglite = new PGlite(dataDir)
  try {
    await pglite.waitReady
    await applyMigrations(pglite)
  } catch (error) {
    await pglite.close().catch(() => {})
    await lock?.release()
    throw new Error(`cannot open PGlite in ${dataDir}: ${(error as Error).message}`, {
      cause: error,
    })
  }
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) })
  return {
    kind: 'pglite',
    description: inMemory ? 'PGlite (embedded, in memory)' : `PGlite (embedded) in ${dataDir}`,
    prisma,
    async close() {
      await prisma.$disconnect()
      // A clean shutdown (a checkpoint); after kill -9 the next start replays the WAL instead,
      // as PostgreSQL does after a crash.
      await pglite.close()
      await lock?.release()
    },
  }
}

// Applies prisma/migrations/<name>/migration.sql in name order, recording each in Prisma's own
// `_prisma_migrations` table (same columns, same sha-256 checksum), so that `prisma migrate
// deploy` run later on the same database sees them as applied. Used where Prisma's schema engine
// cannot be downloaded (offline machines): by the tests, the shop demo and `npm run db:migrate`.
import { createHash, randomUUID } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** What the applier needs of a connection: `pg`'s Client or Pool and PGlite all fit. */
export interface SqlRunner {
  query(text: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>
  /** Several statements at once (PGlite); `query` without parameters is used when absent. */
  exec?(text: string): Promise<unknown>
}

/** A `pg.Pool`: its queries may land on different connections, so a transaction needs one. */
interface Pool extends SqlRunner {
  totalCount: number
  connect(): Promise<SqlRunner & { release(): void }>
}

const isPool = (db: SqlRunner): db is Pool =>
  typeof (db as Pool).connect === 'function' && typeof (db as Pool).totalCount === 'number'

export const MIGRATIONS_DIR = fileURLToPath(new URL('../prisma/migrations', import.meta.url))

const LEDGER = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum" VARCHAR(64) NOT NULL,
  "finished_at" TIMESTAMPTZ,
  "migration_name" VARCHAR(255) NOT NULL,
  "logs" TEXT,
  "rolled_back_at" TIMESTAMPTZ,
  "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`

/** Applies the migrations not yet recorded; resolves to the names applied now. */
export async function applyMigrations(db: SqlRunner, dir = MIGRATIONS_DIR): Promise<string[]> {
  if (!isPool(db)) return applyOn(db, dir)
  const connection = await db.connect()
  try {
    return await applyOn(connection, dir)
  } finally {
    connection.release()
  }
}

/** The migrations, each in a transaction, on one connection. */
async function applyOn(db: SqlRunner, dir: string): Promise<string[]> {
  const run = (sql: string) => (db.exec ? db.exec(sql) : db.query(sql))
  await run(LEDGER)
  const done = new Set(
    (
      await db.query(
        'SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
      )
    ).rows.map((row) => String(row.migration_name)),
  )
  const names = (await readdir(dir, { withFileTypes: true }))
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
  const applied: string[] = []
  for (const name of names) {
    if (done.has(name)) continue
    const sql = await readFile(join(dir, name, 'migration.sql'), 'utf8')
    const checksum = createHash('sha256').update(sql).digest('hex')
    await run('BEGIN')
    try {
      await run(sql)
      await db.query(
        `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, finished_at, applied_steps_count)
         VALUES ($1, $2, $3, now(), 1)`,
        [randomUUID(), checksum, name],
      )
      await run('COMMIT')
    } catch (error) {
      await run('ROLLBACK')
      throw new Error(`migration ${name} failed: ${(error as Error).message}`, { cause: error })
    }
    applied.push(name)
  }
  return applied
}

/**
 * What the change feed sets up in PostgreSQL and checks there: which mode the server allows, the
 * publication and the replication slot (created on first start). The slot's lag, and the
 * commands that report and remove them all, are in `admin.ts`.
 */
import type pg from 'pg'
import { ChangeFeedSetupError } from './admin.js'
import type { ChangeFeedMode, ResolvedChangeFeedOptions } from './options.js'
import type { TableMap } from './row-changes.js'
import { q, table } from './source.js'

/**
 * The mode to run: `wanted`, or, when none is wanted, logical replication if the server has
 * `wal_level = logical` and the role may replicate, else notify. Throws a
 * {@link ChangeFeedSetupError} when logical replication is wanted and not available.
 */
export async function chooseMode(
  client: pg.Client,
  wanted: ChangeFeedMode | undefined,
): Promise<{ mode: ChangeFeedMode; reason: string }> {
  if (wanted === 'notify') return { mode: 'notify', reason: 'asked for (mode: notify)' }
  const { rows } = await client.query<{ wal_level: string; replication: boolean }>(
    `SELECT current_setting('wal_level') AS wal_level,
            EXISTS (SELECT 1 FROM pg_roles r WHERE pg_has_role(current_user, r.oid, 'member')
                      AND (r.rolreplication OR r.rolsuper OR r.rolname = 'rds_replication'))
              AS replication`,
  )
  const walLevel = rows[0]?.wal_level
  let missing: string | undefined
  if (!(await loads('pg-logical-replication'))) {
    missing =
      'the pg-logical-replication package is not installed (npm install pg-logical-replication)'
  } else if (walLevel !== 'logical') {
    missing = `wal_level is ${walLevel}; logical replication needs wal_level = logical (a restart)`
  } else if (rows[0]?.replication !== true) {
    missing = 'the role lacks the REPLICATION attribute (ALTER ROLE ... REPLICATION)'
  }
  if (missing === undefined) return { mode: 'logical', reason: 'logical replication available' }
  if (wanted === 'logical') throw new ChangeFeedSetupError(`mode logical: ${missing}`)
  return {
    mode: 'notify',
    reason: `${missing}; falling back to triggers and LISTEN/NOTIFY, which lose the changes made while no instance listens (each connection then invalidates everything)`,
  }
}

async function loads(name: string): Promise<boolean> {
  try {
    await import(name)
    return true
  } catch {
    return false
  }
}

/** What preparing the slot did, and what the operator should know. */
export interface PreparedSlot {
  /** The slot was created now: changes before it are unknown to the feed. */
  readonly created: boolean
  readonly warnings: readonly string[]
}

/**
 * Creates the publication (or adds the tables it lacks) and the slot, if missing. Tables that
 * cannot be published are left out, with a warning: with no replica identity (no primary key),
 * PostgreSQL would refuse the application's updates and deletes once they were published.
 */
export async function prepareSlot(
  client: pg.Client,
  options: Pick<ResolvedChangeFeedOptions, 'slot' | 'publication'>,
  map: TableMap,
): Promise<PreparedSlot> {
  const warnings: string[] = []
  const { rows: tables } = await client.query<{
    name: string
    identity: string | null
    key: boolean
  }>(
    `SELECT t.name, c.relreplident AS identity,
            EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS key
       FROM unnest($1::text[]) AS t(name)
       LEFT JOIN pg_class c ON c.oid = to_regclass(t.name)`,
    [map.tables().map(table)],
  )
  const publishable: string[] = []
  const keyOnly: string[] = []
  for (const { name, identity, key } of tables) {
    if (identity === null) continue // not migrated yet
    if (identity === 'n' || (identity === 'd' && !key)) {
      warnings.push(
        `${name} has no replica identity (no primary key): its changes are not read; ` +
          `ALTER TABLE ${name} REPLICA IDENTITY FULL to include it`,
      )
      continue
    }
    publishable.push(name)
    if (identity === 'd') keyOnly.push(name)
  }
  if (keyOnly.length > 0) {
    warnings.push(
      `${keyOnly.join(', ')} ${keyOnly.length === 1 ? 'has' : 'have'} the default replica identity: ` +
        'an update there invalidates every list read of its model (and, where the model has unique ' +
        'keys besides the primary key, every read of it by key); REPLICA IDENTITY FULL makes it exact',
    )
  }
  // Quoted as `table()` quotes (always): `format('%I')` leaves `public` bare, and every table
  // would then look missing from an existing publication (ADD TABLE fails: already a member).
  const { rows: published } = await client.query<{ name: string }>(
    `SELECT format('"%s"."%s"', replace(schemaname, '"', '""'), replace(tablename, '"', '""'))
            AS name FROM pg_publication_tables
      WHERE pubname = $1`,
    [options.publication],
  )
  const exists =
    published.length > 0 ||
    (await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [options.publication]))
      .rowCount! > 0
  if (!exists) {
    const list = publishable.length > 0 ? `FOR TABLE ${publishable.join(', ')}` : ''
    await client.query(`CREATE PUBLICATION ${q(options.publication)} ${list}`)
  } else {
    const have = new Set(published.map((row) => row.name))
    const missing = publishable.filter((name) => !have.has(name))
    if (missing.length > 0) {
      await client.query(
        `ALTER PUBLICATION ${q(options.publication)} ADD TABLE ${missing.join(', ')}`,
      )
    }
  }
  const { rows: slots } = await client.query<{ plugin: string; wal_status: string | null }>(
    'SELECT plugin, wal_status FROM pg_replication_slots WHERE slot_name = $1',
    [options.slot],
  )
  const slot = slots[0]
  if (slot !== undefined && slot.plugin !== 'pgoutput') {
    throw new ChangeFeedSetupError(`slot ${options.slot} uses ${slot.plugin}, not pgoutput`)
  }
  let created = false
  if (slot?.wal_status === 'lost') {
    // PostgreSQL dropped WAL the slot still needed (max_slot_wal_keep_size): its changes are gone.
    warnings.push(
      `slot ${options.slot} lost WAL it needed; made anew, every cached read invalidated`,
    )
    await client.query('SELECT pg_drop_replication_slot($1)', [options.slot])
  }
  if (slot === undefined || slot.wal_status === 'lost') {
    await client.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [options.slot])
    created = true
  }
  const { rows: keep } = await client.query<{ size: string }>(
    "SELECT current_setting('max_slot_wal_keep_size') AS size",
  )
  if (keep[0]?.size === '-1') {
    warnings.push(
      'max_slot_wal_keep_size is -1: while no consumer runs, PostgreSQL keeps WAL for the slot ' +
        'without bound; set a limit, or remove the feed (its remove command) when it is retired',
    )
  }
  return { created, warnings }
}

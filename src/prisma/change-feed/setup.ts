/**
 * What the change feed sets up in PostgreSQL and checks there: which mode the server allows, the
 * publication and the replication slot (created on first start), the slot's lag, and the command
 * that removes them all.
 */
import type pg from 'pg'
import type { Env } from '../../config/env-parsers.js'
import { removeTriggers } from './notify-source.js'
import {
  type ChangeFeedMode,
  type ChangeFeedOptions,
  type ResolvedChangeFeedOptions,
  resolveChangeFeedOptions,
} from './options.js'
import type { TableMap } from './row-changes.js'
import { clientConfig, newClient, q, table } from './source.js'

/** The feed cannot run as configured; retrying will not help (the reason says what to change). */
export class ChangeFeedSetupError extends Error {
  /** Names the error class, in stack traces and logs. */
  override name = 'ChangeFeedSetupError'
}

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

/** The slot's lag: WAL kept for it that its consumer has not confirmed. */
export async function slotLag(
  client: pg.Client,
  slot: string,
): Promise<{ bytes: number; active: boolean; walStatus: string | undefined } | undefined> {
  const { rows } = await client.query<{
    bytes: string | null
    active: boolean
    wal_status: string | null
  }>(
    `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::text AS bytes, active,
            wal_status
       FROM pg_replication_slots WHERE slot_name = $1`,
    [slot],
  )
  const row = rows[0]
  if (row === undefined) return undefined
  return {
    // At least 0: a consumer confirms the byte after the last it has ("flushed up to").
    bytes: Math.max(0, Number(row.bytes ?? 0)),
    active: row.active,
    walStatus: row.wal_status ?? undefined,
  }
}

/**
 * Removes what the feed created: the slot (once no consumer holds it), the publication, and the
 * notify triggers and their function. Run it when retiring the feed: an abandoned slot makes
 * PostgreSQL keep WAL for it.
 */
export async function removeChangeFeedObjects(
  client: pg.Client,
  options: Pick<ResolvedChangeFeedOptions, 'slot' | 'publication' | 'channel' | 'schema'>,
): Promise<{ slot: boolean; publication: boolean }> {
  const { rows } = await client.query<{ active_pid: number | null }>(
    'SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1',
    [options.slot],
  )
  const pid = rows[0]?.active_pid
  if (pid != null) await client.query('SELECT pg_terminate_backend($1)', [pid])
  let slot = false
  if (rows.length > 0) {
    // The terminated consumer releases the slot a moment later.
    for (let attempt = 0; ; attempt++) {
      try {
        await client.query('SELECT pg_drop_replication_slot($1)', [options.slot])
        slot = true
        break
      } catch (error) {
        if (attempt >= 50 || (error as { code?: string }).code !== '55006') throw error
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
  }
  const dropped = await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [
    options.publication,
  ])
  if (dropped.rowCount! > 0) await client.query(`DROP PUBLICATION ${q(options.publication)}`)
  await removeTriggers(client, options)
  return { slot, publication: dropped.rowCount! > 0 }
}

/** Options of {@link removeChangeFeed}: the feed's, plus the extension's namespace. */
export type RemoveChangeFeedOptions = Omit<ChangeFeedOptions, 'mode'> & {
  /** The `withCache` namespace the names default from. @default 'prisma' */
  namespace?: string
  /** Environment to read `DIRECT_DATABASE_URL` from. @default process.env */
  env?: Env
}

/**
 * Removes a change feed from the database: its replication slot (its consumer is disconnected
 * first), its publication, and the notify triggers and their function. Names default as the
 * feed's do (`stratacache_<namespace>`).
 *
 * @example
 * ```ts
 * await removeChangeFeed({ connectionString: process.env.DIRECT_DATABASE_URL })
 * ```
 */
export async function removeChangeFeed(options: RemoveChangeFeedOptions = {}): Promise<{
  /** Whether a slot was dropped. */
  slot: boolean
  /** Whether a publication was dropped. */
  publication: boolean
}> {
  return onFeedDatabase(options, removeChangeFeedObjects)
}

/**
 * Runs `run` on a connection of its own to the feed's database, with the feed's options resolved
 * as the feed resolves them (names from the namespace, the connection from the environment).
 */
async function onFeedDatabase<T>(
  options: RemoveChangeFeedOptions,
  run: (client: pg.Client, resolved: ResolvedChangeFeedOptions) => Promise<T>,
): Promise<T> {
  const { namespace, env, ...feed } = options
  const resolved = resolveChangeFeedOptions(feed, env ?? process.env, namespace ?? 'prisma')!
  const client = await newClient(clientConfig(resolved.connectionString), false)
  await client.connect()
  try {
    return await run(client, resolved)
  } finally {
    await client.end()
  }
}

/**
 * The state of a change feed's slot, seen from the database (any instance, or the command line):
 * whether it exists, whether a consumer is connected, and the WAL it keeps.
 */
export async function changeFeedStatus(options: RemoveChangeFeedOptions = {}): Promise<{
  /** The slot's name. */
  slot: string
  /** Whether the slot exists. */
  exists: boolean
  /** Whether a consumer is connected to it. */
  active: boolean
  /** WAL the slot keeps that its consumer has not confirmed, in bytes. */
  lagBytes: number | undefined
  /** The slot's `wal_status` (`reserved`, `extended`, `unreserved`, `lost`). */
  walStatus: string | undefined
}> {
  return onFeedDatabase(options, async (client, resolved) => {
    const lag = await slotLag(client, resolved.slot)
    return {
      slot: resolved.slot,
      exists: lag !== undefined,
      active: lag?.active ?? false,
      lagBytes: lag?.bytes,
      walStatus: lag?.walStatus,
    }
  })
}

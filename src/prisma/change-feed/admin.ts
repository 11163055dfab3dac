/**
 * What an operator sees of a change feed and does with it: its status (from an instance, or from
 * the database: the slot's lag), the error that says it cannot run as configured, and its removal.
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
import { clientConfig, newClient, q } from './source.js'

/** What `prisma.$cache.changeFeed.status()` says. */
export interface ChangeFeedStatus {
  /** How changes are read, once chosen. */
  mode: ChangeFeedMode | undefined
  /** Why that mode (`wal_level is replica`...), or why the feed failed. */
  reason: string | undefined
  /**
   * `consumer`: this instance reads the changes; `standby`: another one does, this one takes
   * over if it dies; `starting`; `failed`: it cannot run (see `reason`); `stopped`.
   */
  role: 'starting' | 'consumer' | 'standby' | 'failed' | 'stopped'
  /** The replication slot's name. */
  slot: string
  /** The publication's name. */
  publication: string
  /** The `LISTEN` channel (notify mode). */
  channel: string
  /** WAL the slot keeps that its consumer has not confirmed, in bytes (logical mode). */
  lagBytes: number | undefined
  /** Seconds from the last transaction's commit to its invalidation (the consumer only). */
  lagSeconds: number | undefined
  /** The slot's `wal_status` (`reserved`, `extended`, `unreserved`, `lost`). */
  walStatus: string | undefined
  /** Committed transactions this instance invalidated, and the rows they changed. */
  transactions: number
  /** Rows those transactions changed. */
  rows: number
  /** Invalidations of everything (a new slot, a notify listener that (re)connected). */
  flushes: number
  /** Invalidations tried again because Redis did not take them. */
  retries: number
  /** The last error met (a lost connection, a failed invalidation), if any. */
  lastError: string | undefined
}

/** The feed cannot run as configured; retrying will not help (the reason says what to change). */
export class ChangeFeedSetupError extends Error {
  /** Names the error class, in stack traces and logs. */
  override name = 'ChangeFeedSetupError'
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

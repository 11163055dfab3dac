/**
 * What a change source (logical replication, notify triggers) and the feed give each other, and
 * the connection helpers they share. `pg` is loaded when a feed first connects: the extension
 * does not need it otherwise (a PGlite app has none).
 */
import type pg from 'pg'
import type { ChangeSet, TableName } from './row-changes.js'

/** The feed, as a source sees it. */
export interface FeedSink {
  /**
   * Invalidates committed transactions' changes, resolving once Redis has them (retried while
   * Redis is down); rejects only when the feed stops.
   */
  apply(changes: ChangeSet): Promise<void>
  /** Notices may have been lost: invalidates every cached read (same promise as `apply`). */
  applyAll(reason: string): Promise<void>
  /** The source has nothing left to invalidate (`committedAt`: a commit that changed nothing). */
  idle(committedAt: number | undefined): void
}

/** A running source of changes. */
export interface FeedSource {
  /** Reads changes until `stop()` (then resolves) or a failure (then rejects). */
  run(): Promise<void>
  stop(): Promise<void>
}

/**
 * A new (not yet connected) client. A `background` one (the feed's) will not keep the process
 * alive once connected; a command's (status, remove) does, until it ends.
 */
export async function newClient(config: pg.ClientConfig, background = true): Promise<pg.Client> {
  const { default: pg } = await import('pg')
  const client = new pg.Client(config)
  if (!background) return client
  client.once('connect', () => {
    // A background connection must not keep the process alive.
    ;(
      client as unknown as { connection?: { stream?: { unref?(): void } } }
    ).connection?.stream?.unref?.()
  })
  return client
}

/** `pg`'s settings for `url`, without Prisma's `?schema=` (not a libpq parameter). */
export function clientConfig(url: string): pg.ClientConfig {
  try {
    const parsed = new URL(url)
    parsed.searchParams.delete('schema')
    return { connectionString: parsed.href, keepAlive: true }
  } catch {
    return { connectionString: url, keepAlive: true }
  }
}

/** An identifier quoted for SQL. */
export const q = (name: string): string => `"${name.replace(/"/g, '""')}"`

/** A table's name quoted for SQL, with its schema. */
export const table = (name: TableName): string => `${q(name.schema)}.${q(name.table)}`

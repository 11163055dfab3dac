/**
 * PostgreSQL's own view of its health, read from its statistics views through the Prisma client
 * (`$queryRawUnsafe`: constant SQL, thresholds as parameters): the server version, the database
 * size, connections against `max_connections`, the buffer cache hit ratio, statements running
 * for too long, and backends waiting for locks.
 *
 * Three queries, sent together: a one-row summary, the long-running statements, the lock waits.
 * Each part that fails is reported by name and leaves its figures `null` or empty, so that one
 * missing privilege does not hide the rest. Only client backends count: a replication walsender
 * is "active" for days and is not a long-running query.
 */
import type { DatabaseFigures, LockWait, LongRunningQuery } from './health-result.js'

/** What the health check needs of a Prisma client (extended clients included). */
export interface RawQueryClient {
  /** Runs the ping and the statistics queries. */
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): PromiseLike<T>
  /** Started before the first ping, so that Prisma's start is not counted as response time. */
  $connect?(): PromiseLike<unknown>
}

/**
 * Opens each statistics query, so that they can leave themselves out: with a low threshold the
 * three of them, running side by side, would list each other.
 */
const MARKER = '/* stratacache:health */'

/** Most rows listed of long-running queries and of lock waits (the oldest first). */
export const MAX_LISTED = 20

const SUMMARY_SQL = `${MARKER} SELECT
  current_setting('server_version') AS version,
  pg_database_size(current_database())::float8 AS size_bytes,
  current_setting('max_connections')::int AS max_connections,
  (SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'client backend') AS total_connections,
  (SELECT count(*)::int FROM pg_stat_activity
    WHERE backend_type = 'client backend' AND datname = current_database()) AS database_connections,
  (SELECT blks_hit::float8 / nullif(blks_hit + blks_read, 0)
    FROM pg_stat_database WHERE datname = current_database()) AS cache_hit_ratio`

const LONG_RUNNING_SQL = `${MARKER} SELECT pid,
  (extract(epoch FROM clock_timestamp() - query_start) * 1000)::float8 AS duration_ms,
  wait_event_type, wait_event, usename::text AS user_name, application_name,
  left(query, $2::int) AS query
FROM pg_stat_activity
WHERE datname = current_database() AND backend_type = 'client backend' AND state = 'active'
  AND pid <> pg_backend_pid() AND left(query, ${MARKER.length}) <> '${MARKER}'
  AND query_start < clock_timestamp() - make_interval(secs => $1::float8 / 1000)
ORDER BY query_start
LIMIT ${MAX_LISTED}`

const LOCK_WAITS_SQL = `${MARKER} SELECT a.pid, l.locktype AS lock_type, l.mode,
  CASE WHEN l.relation IS NULL THEN NULL ELSE l.relation::regclass::text END AS relation,
  (extract(epoch FROM clock_timestamp() - l.waitstart) * 1000)::float8 AS waiting_ms,
  pg_blocking_pids(a.pid) AS blocked_by,
  left(a.query, $1::int) AS query
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE NOT l.granted AND a.datname = current_database() AND left(a.query, ${MARKER.length}) <> '${MARKER}'
ORDER BY l.waitstart NULLS LAST
LIMIT ${MAX_LISTED}`

interface SummaryRow {
  version: string | null
  size_bytes: number | null
  max_connections: number | null
  total_connections: number | null
  database_connections: number | null
  cache_hit_ratio: number | null
}

interface LongRunningRow {
  pid: number
  duration_ms: number
  wait_event_type: string | null
  wait_event: string | null
  user_name: string | null
  application_name: string | null
  query: string | null
}

interface LockWaitRow {
  pid: number
  lock_type: string
  mode: string
  relation: string | null
  waiting_ms: number | null
  blocked_by: number[] | null
  query: string | null
}

/** A part of the statistics that could not be read. */
export interface StatsFailure {
  /** `database summary`, `long-running queries` or `lock waits`. */
  part: string
  error: unknown
}

/** The figures read, and the parts that could not be read with why. */
export interface PostgresStatsOutcome {
  figures: DatabaseFigures
  failures: StatsFailure[]
}

/** How far back and how much text {@link readPostgresStats} reports. */
export interface PostgresStatsSettings {
  longRunningQueryMs: number
  maxQueryLength: number
}

/** An empty answer; figures not read stay `null`. */
function emptyDatabaseFigures(): DatabaseFigures {
  return {
    version: null,
    sizeBytes: null,
    connections: { database: null, total: null, max: null, usage: null },
    cacheHitRatio: null,
    longRunningQueries: [],
    lockWaits: [],
  }
}

/**
 * Reads the statistics, the three queries at once. Never rejects: a failed part is listed in
 * `failures`.
 *
 * @example
 * ```ts
 * const { figures, failures } = await readPostgresStats(prisma, { longRunningQueryMs: 30_000, maxQueryLength: 200 })
 * figures.connections.usage // 0.12
 * ```
 */
export async function readPostgresStats(
  client: RawQueryClient,
  settings: PostgresStatsSettings,
): Promise<PostgresStatsOutcome> {
  const [summary, longRunning, lockWaits] = await Promise.allSettled([
    client.$queryRawUnsafe<SummaryRow[]>(SUMMARY_SQL),
    client.$queryRawUnsafe<LongRunningRow[]>(
      LONG_RUNNING_SQL,
      settings.longRunningQueryMs,
      settings.maxQueryLength,
    ),
    client.$queryRawUnsafe<LockWaitRow[]>(LOCK_WAITS_SQL, settings.maxQueryLength),
  ])
  const figures = emptyDatabaseFigures()
  const failures: StatsFailure[] = []
  if (summary.status === 'fulfilled' && summary.value[0] !== undefined) {
    const row = summary.value[0]
    const total = row.total_connections
    const max = row.max_connections
    figures.version = row.version
    figures.sizeBytes = row.size_bytes
    figures.connections = {
      database: row.database_connections,
      total,
      max,
      usage: total === null || max === null || max === 0 ? null : total / max,
    }
    figures.cacheHitRatio = row.cache_hit_ratio
  } else {
    const error = summary.status === 'rejected' ? summary.reason : new Error('no row')
    failures.push({ part: 'database summary', error })
  }
  if (longRunning.status === 'fulfilled') {
    figures.longRunningQueries = longRunning.value.map(
      (row): LongRunningQuery => ({
        pid: row.pid,
        durationMs: row.duration_ms,
        waitEventType: row.wait_event_type,
        waitEvent: row.wait_event,
        user: row.user_name,
        applicationName: row.application_name === '' ? null : row.application_name,
        query: row.query,
      }),
    )
  } else {
    failures.push({ part: 'long-running queries', error: longRunning.reason })
  }
  if (lockWaits.status === 'fulfilled') {
    figures.lockWaits = lockWaits.value.map(
      (row): LockWait => ({
        pid: row.pid,
        waitingMs: row.waiting_ms,
        lockType: row.lock_type,
        mode: row.mode,
        relation: row.relation,
        blockedBy: row.blocked_by ?? [],
        query: row.query,
      }),
    )
  } else {
    failures.push({ part: 'lock waits', error: lockWaits.reason })
  }
  return { figures, failures }
}

/**
 * The shape of a health check's answer: a status, whether the database answered,
 * how fast, and the details behind the verdict. Figures that are not known are `null`, never
 * made up, so that the result reads the same after `JSON.stringify` (an HTTP endpoint's body).
 */

/** `healthy`: all figures within their thresholds. `degraded`: it answers, but something is off. `unhealthy`: it does not answer. */
export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy'

/** The connection pool as seen at the start of the check. */
export interface ConnectionPoolFigures {
  /** Where the figures came from: `options.pool`, `options.connectionStatus()`, both, or nowhere. */
  source: 'pool' | 'connectionStatus' | 'pool+connectionStatus' | null
  /** Connections open. */
  total: number | null
  /** Connections open and idle. */
  idle: number | null
  /** Connections busy (`total - idle` for a `pg.Pool`). */
  active: number | null
  /** Requests queued for a connection. */
  waiting: number | null
  /** The pool's size. */
  max: number | null
  /** `active / max`, 0-1. */
  usage: number | null
}

/** One query that took longer than the slow-query threshold. */
export interface SlowQuery {
  /** Time it took, ms (database time for entries from `options.metrics`). */
  durationMs: number
  /** When it ended. */
  timestamp: Date
  /** `recordQueryMetric` or `options.metrics`. */
  source: 'recorded' | 'metrics'
  /** The model, when known. */
  model: string | null
  /** The operation, when known. */
  operation: string | null
  /** The SQL statements, when known. */
  sql: string[] | null
  /** `file:line` of the user code that made the call (`options.metrics` entries), when known. */
  callSite: string | null
}

/** Error kinds counted by `recordError`. */
export type DatabaseErrorKind = 'connection' | 'timeout' | 'constraint' | 'conflict' | 'other'

/** The last error recorded. */
export interface LastDatabaseError {
  /** How it was classified. */
  kind: DatabaseErrorKind
  /** The error's message. */
  message: string
  /** The Prisma code (`P2002`) and/or the PostgreSQL SQLSTATE (`23505`), when known. */
  prismaCode: string | null
  /** The PostgreSQL SQLSTATE, when known. */
  sqlState: string | null
  /** When it was recorded. */
  timestamp: Date
}

/** Errors recorded with `recordError` since the health check was made. */
export interface ErrorFigures {
  /** Errors recorded since the health check was made. */
  total: number
  /** Counts by kind: `connection` (unreachable, connection lost, too many connections),
   * `timeout` (pool or statement timeouts, lock timeouts), `constraint` (unique, foreign key,
   * not null, check), `conflict` (deadlocks and serialization failures), `other`. */
  byKind: Record<DatabaseErrorKind, number>
  /** Errors within the error window (`options.errorWindow`). */
  recent: number
  /** `recent` per minute. */
  ratePerMinute: number
  /** The last error recorded, if any. */
  last: LastDatabaseError | null
}

/** Query time percentiles, ms; `null` when there are no samples. */
export interface PerformanceFigures {
  /** Mean query time. */
  averageQueryTime: number | null
  /** 95th percentile. */
  p95QueryTime: number | null
  /** 99th percentile. */
  p99QueryTime: number | null
  /** Samples behind the figures. */
  samples: number
  /**
   * `recorded`: the latest `recordQueryMetric` samples within `options.sampleWindow`;
   * `metrics`: `options.metrics`' database times since it started (used when nothing was recorded).
   */
  source: 'recorded' | 'metrics' | null
}

/** A statement that has been running for longer than `thresholds.longRunningQuery`. */
export interface LongRunningQuery {
  /** The backend's process id (for `pg_cancel_backend`). */
  pid: number
  /** How long it has been running, ms. */
  durationMs: number
  /** `Lock`, `IO`, `Client`..., or `null` when running on the CPU. */
  waitEventType: string | null
  /** What it waits for within `waitEventType`, e.g. `relation`. */
  waitEvent: string | null
  /** The role it runs as. */
  user: string | null
  /** The client's `application_name`. */
  applicationName: string | null
  /** The statement text, cut to `options.maxQueryLength`. */
  query: string | null
}

/** A backend waiting for a lock. */
export interface LockWait {
  /** The waiting backend's process id. */
  pid: number
  /** How long it has waited (`pg_locks.waitstart`), ms; `null` in the instant before PostgreSQL sets it. */
  waitingMs: number | null
  /** `relation`, `transactionid`, `tuple`... */
  lockType: string
  /** The lock mode requested, e.g. `ShareLock`. */
  mode: string
  /** The table, for relation locks. */
  relation: string | null
  /** The backends it waits for (`pg_blocking_pids`). */
  blockedBy: number[]
  /** Its statement text, cut to `options.maxQueryLength`. */
  query: string | null
}

/** PostgreSQL's own figures, from its statistics views. */
export interface DatabaseFigures {
  /** `server_version`, e.g. `15.20 (Debian 15.20-0+deb12u1)`. */
  version: string | null
  /** `pg_database_size(current_database())`. */
  sizeBytes: number | null
  /** Client connections and the server's limit. */
  connections: {
    /** Client connections to this database. */
    database: number | null
    /** Client connections to the whole server. */
    total: number | null
    /** `max_connections`. */
    max: number | null
    /** `total / max`, 0-1. */
    usage: number | null
  }
  /** `blks_hit / (blks_hit + blks_read)` of this database, 0-1; `null` before any block was read. */
  cacheHitRatio: number | null
  /** Statements running longer than `thresholds.longRunningQuery`. */
  longRunningQueries: LongRunningQuery[]
  /** Backends waiting for a lock. */
  lockWaits: LockWait[]
}

/** What {@link DatabaseHealthCheck.check} resolves to. */
export interface HealthCheckResult {
  /** `healthy`, `degraded` or `unhealthy`. */
  status: HealthStatus
  /** Whether `SELECT 1` answered within the timeout. */
  connected: boolean
  /** Time `SELECT 1` took, ms (the timeout when it did not answer). */
  responseTime: number
  /** Why the status is not `healthy`, one sentence each; empty when healthy. */
  reasons: string[]
  /** The figures behind the status. */
  details: {
    /** The pool's connections. */
    connectionPool: ConnectionPoolFigures
    /** The slowest queries recorded in the sample window. */
    slowQueries: SlowQuery[]
    /** Errors recorded. */
    errors: ErrorFigures
    /** Query time percentiles. */
    performance: PerformanceFigures
    /** `null` when the database did not answer (or its statistics could not be read at all). */
    database: DatabaseFigures | null
  }
  /** When the check started. */
  timestamp: Date
}

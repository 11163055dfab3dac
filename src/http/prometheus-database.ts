/**
 * The database toolkit's metrics: a `DatabaseHealthCheck`'s latest verdict and figures, a
 * connection pool's counts, a `TransactionManager`'s counters. Figures the source does not know
 * (`null` in a health result) are left out, never reported as 0.
 */
import type { PoolCounts } from '../database/connection/pool.js'
import type {
  ConnectionPoolFigures,
  HealthCheckResult,
  HealthStatus,
} from '../database/health/health-result.js'
import {
  type TransactionStats,
  transactionDurationsOf,
} from '../database/transactions/transaction-stats.js'
import {
  labelledCounter,
  latencySamples,
  type MetricDefinition,
  type Sample,
} from './prometheus-collector.js'

/** What the exporter reads of a `DatabaseHealthCheck`. */
export interface HealthSource {
  /** Runs a check (on a scrape, when the last one is too old). */
  check(): Promise<HealthCheckResult>
  /** The last check's result, if any. */
  getLastHealthCheck(): HealthCheckResult | undefined
}

/** What the exporter reads of a `ConnectionManager`. */
export interface PoolSource {
  /** The pool's counters. */
  getStats(): PoolCounts & {
    /** Errors the pool emitted. */
    poolErrors: number
  }
}

/** What the exporter reads of a `TransactionManager` (or of a `ConnectionManager`: its `transactions`). */
export interface TransactionSource {
  /** The transaction counters, alone or as a `ConnectionManager` nests them. */
  getStats():
    | TransactionStats
    | {
        /** A `ConnectionManager`'s transaction counters. */
        transactions: TransactionStats
      }
}

const STATUSES: readonly HealthStatus[] = ['healthy', 'degraded', 'unhealthy']

/** One unlabelled sample, or none when the figure is unknown. */
function known(value: number | null | undefined, labels: Sample['labels'] = {}): Sample[] {
  return value === null || value === undefined ? [] : [{ labels, value }]
}

/** Metrics of the latest health check (`read()` gives it, or `undefined` before the first). */
export function healthMetrics(
  read: () => Promise<HealthCheckResult | undefined>,
): MetricDefinition[] {
  const from = (pick: (result: HealthCheckResult) => Sample[]) => async (): Promise<Sample[]> => {
    const result = await read()
    return result === undefined ? [] : pick(result)
  }
  return [
    {
      name: 'database_up',
      help: '1 when the last health check reached the database (SELECT 1 answered in time), else 0.',
      type: 'gauge',
      aggregator: 'min',
      collect: from((r) => [{ labels: {}, value: r.connected ? 1 : 0 }]),
    },
    {
      name: 'database_status',
      help: 'The last health check verdict: 1 on the series of its status (healthy, degraded, unhealthy), 0 on the others.',
      type: 'gauge',
      aggregator: 'max',
      collect: from((r) =>
        STATUSES.map((status) => ({ labels: { status }, value: r.status === status ? 1 : 0 })),
      ),
    },
    {
      name: 'database_response_time_seconds',
      help: 'Time SELECT 1 took in the last health check (the timeout when it did not answer).',
      type: 'gauge',
      aggregator: 'max',
      collect: from((r) => [{ labels: {}, value: r.responseTime / 1000 }]),
    },
    {
      name: 'database_last_check_timestamp_seconds',
      help: 'When the last health check started, Unix time.',
      type: 'gauge',
      aggregator: 'min',
      collect: from((r) => [{ labels: {}, value: r.timestamp.getTime() / 1000 }]),
    },
    {
      name: 'database_connections',
      help: 'Client connections PostgreSQL counts, to this database or the whole server (last health check).',
      type: 'gauge',
      aggregator: 'max',
      collect: from((r) => [
        ...known(r.details.database?.connections.database, { scope: 'database' }),
        ...known(r.details.database?.connections.total, { scope: 'server' }),
      ]),
    },
    {
      name: 'database_max_connections',
      help: 'PostgreSQL max_connections (last health check).',
      type: 'gauge',
      aggregator: 'max',
      collect: from((r) => known(r.details.database?.connections.max)),
    },
    {
      name: 'database_cache_hit_ratio',
      help: 'PostgreSQL buffer cache hit ratio of this database, 0-1 (last health check).',
      type: 'gauge',
      aggregator: 'min',
      collect: from((r) => known(r.details.database?.cacheHitRatio)),
    },
    {
      name: 'database_size_bytes',
      help: 'Size of the database (last health check).',
      type: 'gauge',
      aggregator: 'max',
      collect: from((r) => known(r.details.database?.sizeBytes)),
    },
    {
      name: 'database_long_running_queries',
      help: 'Statements running longer than the long-running threshold (last health check).',
      type: 'gauge',
      aggregator: 'max',
      collect: from((r) => known(r.details.database?.longRunningQueries.length)),
    },
    {
      name: 'database_lock_waits',
      help: 'Backends waiting for a lock (last health check).',
      type: 'gauge',
      aggregator: 'max',
      collect: from((r) => known(r.details.database?.lockWaits.length)),
    },
    {
      name: 'database_errors_total',
      help: 'Database errors recorded with recordError, by kind (connection, timeout, constraint, conflict, other), as of the last health check.',
      type: 'counter',
      collect: from((r) =>
        Object.entries(r.details.errors.byKind).map(([kind, value]) => ({
          labels: { kind },
          value,
        })),
      ),
    },
  ]
}

/** Pool counts in one shape, from a `ConnectionManager` or a health result. */
interface PoolFigures {
  active: number | null
  idle: number | null
  waiting: number | null
  max: number | null
}

function fromHealth(pool: ConnectionPoolFigures): PoolFigures {
  return { active: pool.active, idle: pool.idle, waiting: pool.waiting, max: pool.max }
}

/**
 * Pool metrics: live from `connections` when given (no query: pg-pool's own counters), else
 * from the last health check's pool figures, when it has any.
 */
export function poolMetrics(
  connections: PoolSource | undefined,
  lastHealth: (() => Promise<HealthCheckResult | undefined>) | undefined,
): MetricDefinition[] {
  const read = async (): Promise<PoolFigures | undefined> => {
    if (connections !== undefined) {
      const s = connections.getStats()
      return {
        active: s.activeConnections,
        idle: s.idleConnections,
        waiting: s.waitingRequests,
        max: s.poolSize,
      }
    }
    const result = await lastHealth?.()
    return result === undefined ? undefined : fromHealth(result.details.connectionPool)
  }
  const definitions: MetricDefinition[] = [
    {
      name: 'database_pool_connections',
      help: 'Connections of the pool, by state (active: checked out, idle: open and unused).',
      type: 'gauge',
      collect: async () => {
        const p = await read()
        return [...known(p?.active, { state: 'active' }), ...known(p?.idle, { state: 'idle' })]
      },
    },
    {
      name: 'database_pool_waiting_requests',
      help: 'Requests queued for a connection because the pool is full.',
      type: 'gauge',
      collect: async () => known((await read())?.waiting),
    },
    {
      name: 'database_pool_max_connections',
      help: 'The pool size (max).',
      type: 'gauge',
      collect: async () => known((await read())?.max),
    },
  ]
  if (connections !== undefined) {
    definitions.push({
      name: 'database_pool_errors_total',
      help: 'Errors the pool reported on idle connections (server closed them, network broke).',
      type: 'counter',
      collect: () => [{ labels: {}, value: connections.getStats().poolErrors }],
    })
  }
  return definitions
}

/**
 * Transaction metrics of a `TransactionManager` (or a `ConnectionManager`'s), the duration
 * histogram in `buckets` (seconds).
 */
export function transactionMetrics(
  source: TransactionSource,
  buckets: readonly number[],
): MetricDefinition[] {
  const stats = (): TransactionStats => {
    const s = source.getStats()
    return 'transactions' in s ? s.transactions : s
  }
  return [
    labelledCounter({
      name: 'transactions_total',
      help: 'Transactions run through execute(), by outcome (committed, failed: gave up).',
      label: 'outcome',
      read: stats,
      values: { committed: (s) => s.successful, failed: (s) => s.failed },
    }),
    {
      name: 'transaction_duration_seconds',
      help: 'Duration of transactions run through execute(), whole calls with their retries and backoff, by outcome (committed, failed: gave up).',
      type: 'histogram',
      collect: (name) => {
        const durations = transactionDurationsOf(stats())
        if (durations === undefined) return []
        return [
          ...latencySamples(name, { outcome: 'committed' }, buckets, durations.committed),
          ...latencySamples(name, { outcome: 'failed' }, buckets, durations.failed),
        ]
      },
    },
    {
      name: 'transaction_retries_total',
      help: 'Transaction attempts retried (a call retried three times counts 3).',
      type: 'counter',
      collect: () => [{ labels: {}, value: stats().retries }],
    },
    labelledCounter({
      name: 'transaction_attempt_failures_total',
      help: 'Failed transaction attempts by kind (deadlock, serialization, start_timeout, connection_lost, timeout), retried or not.',
      label: 'kind',
      read: stats,
      values: {
        deadlock: (s) => s.deadlocks,
        serialization: (s) => s.serializationFailures,
        start_timeout: (s) => s.startTimeouts,
        connection_lost: (s) => s.connectionLosses,
        timeout: (s) => s.timeouts,
      },
    }),
  ]
}

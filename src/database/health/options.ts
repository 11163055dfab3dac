/**
 * Options of {@link DatabaseHealthCheck}: what it may look at (a pool, a connection-status
 * function, query metrics), how long it waits, and the thresholds past which the database counts
 * as degraded. Validated at construction; a bad value is a `ValidationError`
 * (`ERR_INVALID_OPTION`, or `ERR_INVALID_TTL` for a bad duration) naming the option.
 */
import { type Duration, toMs } from '../../cache/validate.js'
import type { Env } from '../../config/env-parsers.js'
import { prismaSettingsFromEnv } from '../../config/prisma-env.js'
import { invalid } from '../../errors.js'
import {
  checkDuration,
  checkEnv,
  checkFunction,
  checkMethods,
  checkNumber,
  checkObject,
  describeValue,
  isRecord,
} from '../../option-checks.js'
import type { QueryMetrics } from '../../prisma/metrics/query-metrics.js'
import type { PoolLike, PoolStatusInput } from './connection-pool.js'
import type { StatusChangeListener } from './status-listeners.js'

/** The limits past which {@link DatabaseHealthCheck.check} reports `degraded`. */
export interface HealthThresholds {
  /**
   * `SELECT 1` slower than this.
   * @default '1s'
   */
  responseTime?: Duration
  /**
   * More errors than this recorded within `errorWindow`.
   * @default 10
   */
  recentErrors?: number
  /**
   * The p95 query time over this.
   * @default slowQueryThreshold
   */
  p95QueryTime?: Duration
  /**
   * Connections in use over this fraction of their limit (0-1): the server's client backends
   * against `max_connections`, and the pool's busy connections against its `max`.
   * @default 0.8
   */
  connectionUsage?: number
  /**
   * More requests than this waiting for a pool connection.
   * @default 0
   */
  poolWaiting?: number
  /**
   * A statement active for longer than this is listed and degrades.
   * @default '30s'
   */
  longRunningQuery?: Duration
  /**
   * A lock wait longer than this degrades (every current wait is listed).
   * @default '5s'
   */
  lockWait?: Duration
  /**
   * Buffer cache hit ratio (0-1) under this.
   * @default not checked (a fresh database reads from disk)
   */
  minCacheHitRatio?: number
}

/** Options of {@link DatabaseHealthCheck}. Every one is optional. */
export interface DatabaseHealthCheckOptions {
  /**
   * Bound on the whole check: the ping (`SELECT 1`) and the statistics queries share it, so a
   * database that stopped answering makes `check()` resolve `unhealthy` after this.
   * @default '5s'
   */
  timeout?: Duration
  /** Degradation limits; see {@link HealthThresholds}. */
  thresholds?: HealthThresholds
  /**
   * Recorded query times over this are listed as slow queries.
   * @default the `DATABASE_MAX_QUERY_EXECUTION_TIME` variable (ms), else `1000`
   */
  slowQueryThreshold?: Duration
  /**
   * Slow queries listed in a result, the latest first.
   * @default 20
   */
  maxSlowQueries?: number
  /**
   * Recorded query times kept for the percentiles (the latest).
   * @default 1000
   */
  sampleSize?: number
  /**
   * Recorded query times older than this are left out of the percentiles.
   * @default '5m'
   */
  sampleWindow?: Duration
  /**
   * The window of `errors.recent` and of `thresholds.recentErrors`.
   * @default '1m'
   */
  errorWindow?: Duration
  /**
   * Longest query text shown for a long-running query or a lock wait.
   * @default `200` characters
   */
  maxQueryLength?: number
  /** A `pg.Pool` (the one given to `PrismaPg`) whose counts fill `details.connectionPool`. */
  pool?: PoolLike
  /** Connection figures from elsewhere (sync or async); they win over `pool`'s. */
  connectionStatus?: () => PoolStatusInput | Promise<PoolStatusInput>
  /** Query metrics (`withQueryMetrics`, `withCache`): their slow queries and database times count too. */
  metrics?: QueryMetrics
  /** Called when the status changes; see {@link StatusChangeListener}. Errors it throws are ignored. */
  onStatusChange?: StatusChangeListener
  /** Environment to read `DATABASE_MAX_QUERY_EXECUTION_TIME` from: default `process.env`; `false` reads none. */
  env?: Env | false
}

/** @internal The options after validation, durations in ms. */
export interface HealthSettings {
  timeoutMs: number
  responseTimeMs: number
  recentErrors: number
  p95QueryTimeMs: number
  connectionUsage: number
  poolWaiting: number
  longRunningQueryMs: number
  lockWaitMs: number
  minCacheHitRatio: number | undefined
  slowQueryMs: number
  maxSlowQueries: number
  sampleSize: number
  sampleWindowMs: number
  errorWindowMs: number
  maxQueryLength: number
  pool: PoolLike | undefined
  connectionStatus: (() => PoolStatusInput | Promise<PoolStatusInput>) | undefined
  metrics: QueryMetrics | undefined
  onStatusChange: StatusChangeListener | undefined
}

const THRESHOLD_NAMES: readonly (keyof HealthThresholds)[] = [
  'responseTime',
  'recentErrors',
  'p95QueryTime',
  'connectionUsage',
  'poolWaiting',
  'longRunningQuery',
  'lockWait',
  'minCacheHitRatio',
]
const OPTION_NAMES: readonly (keyof DatabaseHealthCheckOptions)[] = [
  'timeout',
  'thresholds',
  'slowQueryThreshold',
  'maxSlowQueries',
  'sampleSize',
  'sampleWindow',
  'errorWindow',
  'maxQueryLength',
  'pool',
  'connectionStatus',
  'metrics',
  'onStatusChange',
  'env',
]
const RATIO = { min: 0, max: 1 }

/** The types and ranges of every option; durations are read (and their values checked) later. */
function checkHealthOptions(o: Record<string, unknown>): void {
  checkObject(o, 'options', OPTION_NAMES)
  checkDuration(o.timeout, 'options.timeout')
  if (o.thresholds !== undefined) {
    const t = o.thresholds
    checkObject(t, 'options.thresholds', THRESHOLD_NAMES)
    checkDuration(t.responseTime, 'options.thresholds.responseTime')
    checkNumber(t.recentErrors, 'options.thresholds.recentErrors', {
      min: 0,
      max: 100_000,
      integer: true,
    })
    checkDuration(t.p95QueryTime, 'options.thresholds.p95QueryTime')
    checkNumber(t.connectionUsage, 'options.thresholds.connectionUsage', RATIO)
    checkNumber(t.poolWaiting, 'options.thresholds.poolWaiting', {
      min: 0,
      max: 1_000_000,
      integer: true,
    })
    checkDuration(t.longRunningQuery, 'options.thresholds.longRunningQuery')
    checkDuration(t.lockWait, 'options.thresholds.lockWait')
    checkNumber(t.minCacheHitRatio, 'options.thresholds.minCacheHitRatio', RATIO)
  }
  checkDuration(o.slowQueryThreshold, 'options.slowQueryThreshold')
  checkNumber(o.maxSlowQueries, 'options.maxSlowQueries', { min: 0, max: 1000, integer: true })
  checkNumber(o.sampleSize, 'options.sampleSize', { min: 1, max: 100_000, integer: true })
  checkDuration(o.sampleWindow, 'options.sampleWindow')
  checkDuration(o.errorWindow, 'options.errorWindow')
  checkNumber(o.maxQueryLength, 'options.maxQueryLength', { min: 1, max: 100_000, integer: true })
  const pool = o.pool as Record<string, unknown> | undefined
  if (
    pool !== undefined &&
    !(
      isRecord(pool) &&
      ['totalCount', 'idleCount', 'waitingCount'].every((k) => typeof pool[k] === 'number')
    )
  ) {
    throw invalid(
      'options.pool',
      `must be a pg.Pool (an object with numeric totalCount, idleCount and waitingCount), got ${describeValue(pool)}`,
    )
  }
  checkFunction(o.connectionStatus, 'options.connectionStatus')
  checkMethods(o.metrics, 'options.metrics', ['stats', 'slowQueries'], 'a QueryMetrics')
  checkFunction(o.onStatusChange, 'options.onStatusChange')
  if (o.env !== false) checkEnv(o.env, 'options.env')
}

/** Longest delay a Node.js timer takes (about 24.8 days); a longer one fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * A duration option in ms, at least `min` (the timer-driven ones must be > 0) and at most
 * {@link MAX_TIMER_MS}, so that no timer built on it overflows into firing at once.
 *
 * @example
 * ```ts
 * durationMs('5s', 'options.timeout', 5000, 1) // 5000
 * ```
 */
export function durationMs(
  value: Duration | undefined,
  field: string,
  fallback: number,
  min = 0,
): number {
  if (value === undefined) return fallback
  const result = toMs(value, field)
  if (result < min || result > MAX_TIMER_MS) {
    throw invalid(field, `must be from ${min} to ${MAX_TIMER_MS} ms, got ${result}`)
  }
  return result
}

/**
 * Validates {@link DatabaseHealthCheckOptions} and fills in the defaults.
 *
 * @example
 * ```ts
 * resolveHealthOptions({ timeout: '2s' }).timeoutMs // 2000
 * ```
 */
export function resolveHealthOptions(input: unknown): HealthSettings {
  if (input === undefined) input = {}
  checkHealthOptions(input as Record<string, unknown>)
  const o = input as DatabaseHealthCheckOptions
  const t = o.thresholds ?? {}
  const env = o.env === false ? {} : prismaSettingsFromEnv(o.env ?? process.env)
  const slowQueryMs = durationMs(
    o.slowQueryThreshold,
    'options.slowQueryThreshold',
    env.slowQueryMs ?? 1000,
  )
  return {
    timeoutMs: durationMs(o.timeout, 'options.timeout', 5000, 1),
    responseTimeMs: durationMs(t.responseTime, 'options.thresholds.responseTime', 1000),
    recentErrors: t.recentErrors ?? 10,
    p95QueryTimeMs: durationMs(t.p95QueryTime, 'options.thresholds.p95QueryTime', slowQueryMs),
    connectionUsage: t.connectionUsage ?? 0.8,
    poolWaiting: t.poolWaiting ?? 0,
    longRunningQueryMs: durationMs(
      t.longRunningQuery,
      'options.thresholds.longRunningQuery',
      30_000,
    ),
    lockWaitMs: durationMs(t.lockWait, 'options.thresholds.lockWait', 5000),
    minCacheHitRatio: t.minCacheHitRatio,
    slowQueryMs,
    maxSlowQueries: o.maxSlowQueries ?? 20,
    sampleSize: o.sampleSize ?? 1000,
    sampleWindowMs: durationMs(o.sampleWindow, 'options.sampleWindow', 300_000, 1),
    errorWindowMs: durationMs(o.errorWindow, 'options.errorWindow', 60_000, 1),
    maxQueryLength: o.maxQueryLength ?? 200,
    pool: o.pool,
    connectionStatus: o.connectionStatus,
    metrics: o.metrics,
    onStatusChange: o.onStatusChange,
  }
}

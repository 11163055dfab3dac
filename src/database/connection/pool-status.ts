/**
 * What a `pg.Pool` is doing right now (its own counters), and whether the database answers.
 */
import { performance } from 'node:perf_hooks'
import type pg from 'pg'
import { messageOf } from '../../cache/value-path.js'
import { within } from '../time-limit.js'
import { pgModule } from './driver-modules.js'

/** The pool's connections at one moment, from pg-pool's `totalCount` / `idleCount` / `waitingCount`. */
export interface PoolCounts {
  /** The pool's maximum size (`max`). */
  poolSize: number
  /** Connections open now, busy or idle. */
  totalConnections: number
  /** Connections checked out: running a query or held by an open transaction. */
  activeConnections: number
  /** Open connections waiting to be used. */
  idleConnections: number
  /** Requests queued for a connection because the pool is full. */
  waitingRequests: number
}

/** {@link PoolCounts} plus the result of a `SELECT 1`. */
export interface ConnectionStatus extends PoolCounts {
  /** Whether `SELECT 1` answered within the timeout. */
  connected: boolean
  /** How long `SELECT 1` took, in ms (also when it failed). */
  latencyMs: number
  /** Why it failed, when it did. */
  error?: string
}

/**
 * The counters of `pool`, read synchronously.
 *
 * @example
 * ```ts
 * poolCounts(pool) // { poolSize: 10, totalConnections: 3, activeConnections: 1, idleConnections: 2, waitingRequests: 0 }
 * ```
 */
export function poolCounts(pool: pg.Pool): PoolCounts {
  const total = pool.totalCount
  const idle = pool.idleCount
  return {
    poolSize: pool.options.max,
    totalConnections: total,
    activeConnections: total - idle,
    idleConnections: idle,
    waitingRequests: pool.waitingCount,
  }
}

/**
 * Runs `SELECT 1` and times it, giving up after `timeoutMs`.
 *
 * When the pool cannot serve at once (full, nothing idle), the ping uses a connection of its own
 * instead: queueing it behind the work it is asked about would make the status wait for that
 * work, and count itself as one more waiting request.
 *
 * @example
 * ```ts
 * await ping(pool, 2_000) // { connected: true, latencyMs: 0.8 }
 * ```
 */
export async function ping(
  pool: pg.Pool,
  timeoutMs: number,
): Promise<{ connected: boolean; latencyMs: number; error?: string }> {
  const started = performance.now()
  const canServe = pool.idleCount > 0 || pool.totalCount < pool.options.max
  const probe: Promise<unknown> = canServe ? pool.query('SELECT 1') : pingAlone(pool, timeoutMs)
  const outcome = await within(probe, timeoutMs)
  const latencyMs = performance.now() - started
  if (outcome.kind === 'value') return { connected: true, latencyMs }
  const error =
    outcome.kind === 'timeout' ? `no answer within ${timeoutMs} ms` : messageOf(outcome.error)
  return { connected: false, latencyMs, error }
}

/** `SELECT 1` on a new connection with the pool's settings, closed right after. */
async function pingAlone(pool: pg.Pool, timeoutMs: number): Promise<void> {
  const client = new (pgModule().Client)({ ...pool.options, connectionTimeoutMillis: timeoutMs })
  // A connection that fails after the race was lost must not crash the process.
  client.on('error', () => {})
  try {
    await client.connect()
    await client.query('SELECT 1')
  } finally {
    await client.end().catch(() => {})
  }
}

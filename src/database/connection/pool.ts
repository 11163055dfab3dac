/**
 * The `pg.Pool` of a connection manager: what it is doing right now (its own counters), whether
 * the database answers, and changing its size.
 *
 * `pg` (and `@prisma/adapter-pg`) are loaded when a connection manager is made rather than when
 * `stratacache/database` is imported: they are optional peer dependencies, and an application that
 * uses only `QueryPatterns` or `TransactionManager` need not install them.
 *
 * A live pool's size is changed through its public surface only (`options.max`, `connect`,
 * `release`), so that requests waiting for a connection see the change at once:
 *
 * - growing: pg-pool only hands queued requests a connection when one is released. For each
 *   request that the new room can serve, a connection is opened and released at once; the release
 *   gives it to the first waiter, in queue order.
 * - shrinking: idle connections above the new size are taken and closed (`release(true)`). Busy
 *   ones are closed as they come back, on the pool's `release` event (see {@link trimOnRelease}),
 *   so no running query or open transaction is interrupted.
 */
import { performance } from 'node:perf_hooks'
import type { PrismaPg } from '@prisma/adapter-pg'
import type pg from 'pg'
import { messageOf } from '../../cache/value-path.js'
import { invalid } from '../../errors.js'
import { packageRequire } from '../../module-url.js'
import { within } from '../time-limit.js'

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

const load = packageRequire

function required<T>(name: string): T {
  try {
    return load(name) as T
  } catch (error) {
    const missing = (error as { code?: unknown }).code === 'MODULE_NOT_FOUND'
    if (!missing) throw error
    throw invalid(
      'ConnectionManager',
      `needs the optional peer dependencies pg and @prisma/adapter-pg: npm install pg @prisma/adapter-pg (${name} is missing)`,
    )
  }
}

/** The `pg` module. */
export function pgModule(): typeof pg {
  return required<typeof pg>('pg')
}

/** `@prisma/adapter-pg`'s adapter factory class. */
export function prismaPgClass(): typeof PrismaPg {
  return required<{ PrismaPg: typeof PrismaPg }>('@prisma/adapter-pg').PrismaPg
}

/**
 * Sets `pool`'s maximum to `max` and applies it as described above. Resolves when the waiters
 * the new room can serve have a connection and the idle extras are closed.
 *
 * @example
 * ```ts
 * await resizePool(pool, 20)
 * ```
 */
export async function resizePool(pool: pg.Pool, max: number): Promise<void> {
  pool.options.max = max
  const room = max - pool.totalCount
  const serve = Math.min(room, pool.waitingCount)
  if (serve > 0) await Promise.all(Array.from({ length: serve }, () => handOver(pool)))
  await closeIdleExtras(pool)
}

/**
 * Keeps `pool` at or under its maximum after a shrink: each release above the maximum closes an
 * idle connection. Returns the function that stops it.
 */
export function trimOnRelease(pool: pg.Pool, onError: (error: Error) => void): () => void {
  const listener = () => {
    // The released connection joins the idle list right after this event: look once it has.
    if (pool.totalCount > pool.options.max) setImmediate(() => closeIdleExtras(pool).catch(onError))
  }
  pool.on('release', listener)
  return () => pool.off('release', listener)
}

/** Opens a connection and releases it at once, which serves the first queued request. */
async function handOver(pool: pg.Pool): Promise<void> {
  const client = await pool.connect()
  client.release()
}

async function closeIdleExtras(pool: pg.Pool): Promise<void> {
  while (pool.totalCount > pool.options.max && pool.idleCount > 0 && !pool.ending) {
    // With an idle connection and nobody queued (a queue never coexists with idle connections),
    // connect() hands over that idle connection at once.
    const client = await pool.connect()
    client.release(true)
  }
}

/**
 * The connection pool's figures for a health check, from a `pg.Pool` and/or a user's
 * `connectionStatus()` function. Nothing is guessed: a figure neither source gives is `null`.
 */
import { within } from '../time-limit.js'
import { errorLine } from './error-counts.js'
import type { ConnectionPoolFigures } from './health-result.js'
import type { HealthSettings } from './options.js'

/** What a `pg.Pool` tells about itself; any object with these fields works. */
export interface PoolLike {
  /** Connections open, idle or busy. */
  readonly totalCount: number
  /** Connections open and idle. */
  readonly idleCount: number
  /** Requests queued for a connection. */
  readonly waitingCount: number
  /** The pool's settings; `max` is its size. */
  readonly options?: {
    /** The pool's size. */
    readonly max?: number
  }
}

/** Connection figures from a source other than a `pg.Pool`; leave out what is not known. */
export interface PoolStatusInput {
  /** Connections open. */
  total?: number
  /** Connections open and idle. */
  idle?: number
  /** Connections running a query or held by a transaction. */
  active?: number
  /** Requests queued for a connection. */
  waiting?: number
  /** Most connections the pool opens. */
  max?: number
}

function count(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : null
}

/** The figures of a `pg.Pool`: busy connections are the open ones that are not idle. */
function fromPool(pool: PoolLike): PoolStatusInput {
  const total = count(pool.totalCount)
  const idle = count(pool.idleCount)
  const status: PoolStatusInput = {}
  if (total !== null) status.total = total
  if (idle !== null) status.idle = idle
  if (total !== null && idle !== null) status.active = total - idle
  const waiting = count(pool.waitingCount)
  if (waiting !== null) status.waiting = waiting
  const max = count(pool.options?.max)
  if (max !== null) status.max = max
  return status
}

/**
 * Merges what the pool and `connectionStatus()` say (the function wins where both give a figure).
 *
 * @example
 * ```ts
 * poolFigures(pool, undefined) // { source: 'pool', total: 3, idle: 2, active: 1, waiting: 0, max: 10, usage: 0.1 }
 * ```
 */
export function poolFigures(
  pool: PoolLike | undefined,
  status: PoolStatusInput | undefined,
): ConnectionPoolFigures {
  const merged: PoolStatusInput = { ...(pool === undefined ? {} : fromPool(pool)) }
  for (const key of ['total', 'idle', 'active', 'waiting', 'max'] as const) {
    const value = count(status?.[key])
    if (value !== null) merged[key] = value
  }
  const source =
    pool !== undefined && status !== undefined
      ? 'pool+connectionStatus'
      : pool !== undefined
        ? 'pool'
        : status !== undefined
          ? 'connectionStatus'
          : null
  const active = merged.active ?? null
  const max = merged.max ?? null
  return {
    source,
    total: merged.total ?? null,
    idle: merged.idle ?? null,
    active,
    waiting: merged.waiting ?? null,
    max,
    usage: active === null || max === null || max === 0 ? null : active / max,
  }
}

/**
 * The pool's figures, or a failure line when `connectionStatus()` (or the pool's getters: user
 * objects) threw or did not answer within `ms`. Never rejects: it runs unawaited beside the ping.
 */
export async function readConnectionStatus(
  { pool, connectionStatus }: Pick<HealthSettings, 'pool' | 'connectionStatus'>,
  ms: number,
): Promise<ConnectionPoolFigures | string> {
  try {
    if (connectionStatus === undefined) return poolFigures(pool, undefined)
    const outcome = await within(
      Promise.resolve().then(() => connectionStatus()),
      ms,
    )
    if (outcome.kind === 'value') {
      const value = outcome.value as PoolStatusInput | null | undefined
      return poolFigures(pool, typeof value === 'object' && value !== null ? value : {})
    }
    const why = outcome.kind === 'timeout' ? 'no answer in time' : errorLine(outcome.error, 300)
    return `connectionStatus(): ${why}`
  } catch (error) {
    return `connection pool figures: ${errorLine(error, 300)}`
  }
}

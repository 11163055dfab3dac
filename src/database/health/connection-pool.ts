/**
 * The connection pool's figures for a health check, from a `pg.Pool` and/or a user's
 * `connectionStatus()` function. Nothing is guessed: a figure neither source gives is `null`.
 */
import type { ConnectionPoolFigures } from './health-result.js'
import type { PoolLike, PoolStatusInput } from './options.js'

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

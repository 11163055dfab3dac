/**
 * Changing a live `pg.Pool`'s size, through its public surface only (`options.max`, `connect`,
 * `release`), so that requests waiting for a connection see the change at once:
 *
 * - growing: pg-pool only hands queued requests a connection when one is released. For each
 *   request that the new room can serve, a connection is opened and released at once; the release
 *   gives it to the first waiter, in queue order.
 * - shrinking: idle connections above the new size are taken and closed (`release(true)`). Busy
 *   ones are closed as they come back, on the pool's `release` event (see {@link trimOnRelease}),
 *   so no running query or open transaction is interrupted.
 */
import type pg from 'pg'

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

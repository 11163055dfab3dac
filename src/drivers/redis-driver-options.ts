import { ErrorCodes, invalid } from '../errors.js'
import { describeValue } from '../option-checks.js'
import type { RedisConnectionOptions } from './redis-client.js'

/** Options of a `RedisDriver`: how it reaches Redis (exactly one of `url`, `options`, `client`), and its keys. */
export interface RedisDriverOptions extends RedisConnectionOptions {
  /** Every key the driver writes starts with this. Required, non-empty, e.g. `'myapp:cache:'`. */
  prefix: string
  /**
   * SCAN `COUNT` hint for `deleteByPattern` and `clear`.
   * @default 1000
   */
  scanCount?: number
  /**
   * Members popped from tag sets per script call in `deleteByTags`.
   * @default 1000
   */
  tagBatch?: number
  /**
   * How long `close()` waits for QUIT before dropping the socket.
   * @default 1000
   */
  closeTimeoutMs?: number
  /**
   * Longest a fill (loader call) may take and still store its value; version keys that fence fills
   * live twice this long.
   * @default 60_000
   */
  fenceWindowMs?: number
  /**
   * Redis Cluster only: how far apart the nodes' clocks may be. A fill's fence point is read on its
   * key's node and a tag's version on the tag's node; a fill is refused for a tag invalidated up to
   * this long before it began (an extra miss).
   * @default 100
   */
  clockSkewMs?: number
}

/** A driver's key prefix: every key it writes starts with it, and `clear()` removes them all. */
export function requirePrefix(prefix: unknown): string {
  if (typeof prefix !== 'string' || prefix.length === 0) {
    throw invalid(
      'prefix',
      `must be a non-empty string (clear() removes every key under it), got ${describeValue(prefix)}`,
    )
  }
  return prefix
}

/** A TTL as `PX` takes it: whole milliseconds, rounded up; anything else is `ERR_INVALID_TTL`. */
export function ttlArg(ttlMs: number): number {
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw invalid(
      'ttlMs',
      `must be a finite number > 0, got ${String(ttlMs)}`,
      ErrorCodes.INVALID_TTL,
    )
  }
  // PX takes whole milliseconds; round up so that a sub-millisecond TTL still lives.
  return Math.ceil(ttlMs)
}

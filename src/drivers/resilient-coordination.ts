import { type CallTracker, DRIVER_VALUE, READ, WRITE } from './l2-calls.js'
import type { FillStart, L2Coordination, LeaseMode, StoreOutcome } from './l2-driver.js'
import type { L2Health } from './l2-health.js'
import type { ResilientL2Counters } from './resilient-l2-options.js'

/**
 * {@link L2Coordination} behind the same timeouts and breaker: every method resolves, with
 * `undefined` when L2 could not answer (the caller then works alone, as without Redis).
 */
export interface ResilientCoordination {
  beginFill(
    key: string,
    leaseMs: number,
    token: string,
    lease: LeaseMode,
  ): Promise<FillStart | undefined>
  /** What the store did (see `StoreOutcome`), `undefined` when L2 failed. */
  storeFill(
    key: string,
    value: Buffer,
    ttlMs: number,
    tags: readonly string[],
    since: string,
    token: string,
  ): Promise<StoreOutcome | undefined>
  releaseLease(key: string, token: string): Promise<void>
  /** The entry's write stamp; `undefined` when there is no entry or L2 failed. */
  getStamp(key: string): Promise<string | undefined>
  /** The server's clock in epoch ms; `undefined` when L2 failed. */
  serverTime(): Promise<number | undefined>
}

/**
 * Wraps a driver's coordination in the `ResilientL2` that owns `health`, `calls` and `counters`:
 * `beginFill` and `getStamp` are reads, `storeFill` is a write (a failure queues a delete of the
 * key), and `releaseLease` bypasses the breaker.
 */
export function resilientCoordination(
  c: L2Coordination,
  health: L2Health,
  calls: CallTracker,
  counters: ResilientL2Counters,
): ResilientCoordination {
  const track = <T>(
    op: string,
    kind: number,
    fallback: unknown,
    payload: unknown,
    call: () => Promise<T>,
  ) => {
    if (!health.accepting) {
      counters.skipped++
      return Promise.resolve(fallback as T)
    }
    let p: Promise<T>
    try {
      p = call()
    } catch (error) {
      return calls.thrown(op, kind, fallback, payload, error) as Promise<T>
    }
    return calls.track(p, op, kind, DRIVER_VALUE, fallback, payload) as Promise<T>
  }
  return {
    beginFill: (key, leaseMs, token, lease) =>
      track('beginFill', READ, undefined, undefined, () => c.beginFill(key, leaseMs, token, lease)),
    // A store that fails may or may not have landed: remembered as a delete of the key.
    storeFill: (key, value, ttlMs, tags, since, token) =>
      track('storeFill', WRITE, undefined, key, () =>
        c.storeFill(key, value, ttlMs, tags, since, token),
      ),
    // Sent even while the breaker is open, and not counted: a lease left behind by a request
    // that timed out (but ran) would block other instances' fills for a whole lease. On the
    // same connection it runs after that request. Failures are harmless: the lease expires.
    releaseLease: async (key, token) => {
      try {
        await c.releaseLease(key, token)
      } catch {
        // expires by itself
      }
    },
    getStamp: (key) => track('getStamp', READ, undefined, undefined, () => c.getStamp(key)),
    serverTime: () =>
      c.serverTime === undefined
        ? Promise.resolve(undefined)
        : track('serverTime', READ, undefined, undefined, () => c.serverTime!()),
  }
}

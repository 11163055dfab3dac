import { type CallSpec, DRIVER_VALUE, READ, WRITE } from './l2-calls.js'
import type { FillStart, L2Coordination, LeaseMode, StoreOutcome } from './l2-driver.js'

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
 * One driver call through a `ResilientL2`: skipped while L2 is not in use, else bounded in time;
 * resolves to the driver's value, or `undefined` when skipped or failed. `payload` is the key a
 * failed write queues a delete of.
 */
export type GuardedCall = <T>(
  spec: CallSpec,
  payload: string | undefined,
  start: () => Promise<T>,
) => Promise<T | undefined>

const read = (op: string): CallSpec => ({ op, kind: READ, ok: DRIVER_VALUE, fallback: undefined })
const BEGIN_FILL = read('beginFill')
const GET_STAMP = read('getStamp')
const SERVER_TIME = read('serverTime')
const STORE_FILL: CallSpec = { op: 'storeFill', kind: WRITE, ok: DRIVER_VALUE, fallback: undefined }

/**
 * Wraps a driver's coordination in a `ResilientL2`'s `call`: `beginFill` and `getStamp` are reads,
 * `storeFill` is a write (a failure queues a delete of the key), and `releaseLease` bypasses the
 * breaker.
 */
export function resilientCoordination(c: L2Coordination, call: GuardedCall): ResilientCoordination {
  return {
    beginFill: (key, leaseMs, token, lease) =>
      call(BEGIN_FILL, undefined, () => c.beginFill(key, leaseMs, token, lease)),
    // A store that fails may or may not have landed: remembered as a delete of the key.
    storeFill: (key, value, ttlMs, tags, since, token) =>
      call(STORE_FILL, key, () => c.storeFill(key, value, ttlMs, tags, since, token)),
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
    getStamp: (key) => call(GET_STAMP, undefined, () => c.getStamp(key)),
    serverTime: () =>
      c.serverTime === undefined
        ? Promise.resolve(undefined)
        : call(SERVER_TIME, undefined, () => c.serverTime!()),
  }
}

import type { FillStart, LeaseMode } from '../drivers/l2-driver.js'
import type { ResilientCoordination } from '../drivers/resilient-l2.js'
import { nodeCrypto } from '../module-url.js'
import type { L2Read } from './store-types.js'
import { sampleRoundTrip } from './store-types.js'
import type { TieredStore } from './tiered-store.js'

// Cross-instance single flight (guarantee 8): the instance that takes a key's lease in Redis
// loads it, the others wait for its value. Here: lease tokens, the miss's first L2 read that
// doubles as the lease request, and the waiting for another instance's lease holder.

/** How fills coordinate across instances. */
export interface FillSettings {
  /** Lease duration in ms; 0 turns cross-instance single-flight off (fills are still fenced). */
  leaseMs: number
  /** A loader slower than this does not store: the versions that fence it may have expired. */
  fenceWindowMs: number
  /** Called after a value was stored in L2: waiters here and on other instances stop polling. */
  announce(key: string): void
  /** Called when a fill gave its lease back without a value: this instance's waiters poll now. */
  released(key: string): void
  /** Resolves when `key` is announced or released (here or by another instance), or after `ms`. */
  waitForAnnounce(key: string, ms: number): Promise<void>
  /** Strict mode: a fill's callers wait for Redis to store its value (see `FillResult.stored`). */
  strict: boolean
}

/** A `beginFill` already made for a fill (with `token`): the L2 read of a miss doubles as it. */
export interface FirstStart {
  start: FillStart
  token: string
}

/** A {@link FirstStart} with the fence ticket taken before it, handed over to the fill. */
export type FirstRead = FirstStart & { ticket: number }

/** A waiter's first poll interval, doubled each time up to {@link MAX_POLL_MS}. */
export const FIRST_POLL_MS = 5
export const MAX_POLL_MS = 50
/** Shortest wait for a lease holder once load times are known. */
const MIN_HOLDER_WAIT_MS = 5
/** Loads seen before a typical load time is trusted, and the weight of each new one. */
const LOADS_BEFORE_TYPICAL = 8
const LOAD_WEIGHT = 0.1

/**
 * The loader times of one cache (a moving average): how long waiting for another instance's lease
 * holder is worth, since waiting must never cost more than loading.
 */
export class LoadTimes {
  #loads = 0
  #typicalMs = 0

  /** Reports how long a loader took. */
  record(ms: number): void {
    this.#loads++
    this.#typicalMs =
      this.#loads === 1 ? ms : this.#typicalMs + LOAD_WEIGHT * (ms - this.#typicalMs)
  }

  /**
   * How long to wait for another instance's lease holder: about one load of this key (`keyLoadMs`,
   * at least a typical load), as far as this cache knows load times; until the lease ends (three
   * leases at most, if holders keep dying) before it knows any.
   */
  holderWaitMs(keyLoadMs: number, leaseMs: number): number {
    if (this.#loads < LOADS_BEFORE_TYPICAL) return Math.max(leaseMs, 1) * 3
    return Math.min(Math.max(this.#typicalMs, keyLoadMs, MIN_HOLDER_WAIT_MS), leaseMs * 3)
  }
}

/**
 * `coordination.beginFill`, its fence point (Redis's clock, in µs) taken as a sample of this
 * host's offset from it (see `store-types.ts`).
 */
export function beginFill(
  coordination: ResilientCoordination,
  key: string,
  leaseMs: number,
  token: string,
  lease: LeaseMode,
): Promise<FillStart | undefined> {
  return sampleRoundTrip(
    () => coordination.beginFill(key, leaseMs, token, lease),
    (start) => (start === undefined ? undefined : Number(start.since) / 1000),
  )
}

/** This process's part of lease tokens: random, so that no two instances share one. */
let tokenPrefix: string | undefined
let tokens = 0

/** A token identifying one fill's lease, unique across instances (random per process, counted). */
export function newLeaseToken(): string {
  // Drawn on first use, not at import (see nodeCrypto).
  if (tokenPrefix === undefined) tokenPrefix = nodeCrypto().randomBytes(9).toString('base64url')
  return `${tokenPrefix}${(++tokens).toString(36)}`
}

/**
 * Reads L2 for a miss. With leases (`leaseMs > 0` and L2 coordination), the read is also the
 * start of a fill: when Redis has no value, the same round trip took the lease and the fence
 * point (`first`, with its ticket, now the caller's to use or {@link abandonFirst}).
 */
export async function readOrLease(
  store: TieredStore,
  key: string,
  leaseMs: number,
): Promise<{ remote?: L2Read; first?: FirstRead }> {
  const coordination = leaseMs > 0 ? store.l2!.coordination : undefined
  if (coordination === undefined) return { remote: await store.readL2(key) }
  const ticket = store.fence.acquire()
  const token = newLeaseToken()
  let handedOver = false
  try {
    const start = await beginFill(coordination, key, leaseMs, token, 'if-absent')
    if (start === undefined) {
      // Timed out, but it may still run and take the lease (Redis paused): give it back
      // (queued behind it on the same connection), or other instances wait a whole lease.
      void coordination.releaseLease(key, token)
      return {}
    }
    if (start.value === undefined) {
      handedOver = true
      return { first: { start, token, ticket } }
    }
    return { remote: store.readBytes(key, start.value, ticket) }
  } finally {
    if (!handedOver) store.fence.release(ticket)
  }
}

/** Gives back a first read nobody will use: its ticket, and its lease if it took one. */
export function abandonFirst(store: TieredStore, key: string, first: FirstRead): void {
  store.fence.release(first.ticket)
  if (first.start.lease) void store.l2?.coordination?.releaseLease(key, first.token)
}

/**
 * Fills waiting for a key another fill holds the lease of: each waits at most a poll interval,
 * and is woken as soon as the key's fate is known here, whether another instance announced its
 * value (the bus's `filled` notice) or a fill of this instance stored it or gave its lease back.
 */
export class KeyWaiters {
  readonly #waiters = new Map<string, Set<() => void>>()

  /** Resolves when `key` is woken, or after `ms`, whichever comes first. */
  wait(key: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let waiters = this.#waiters.get(key)
      if (waiters === undefined) {
        waiters = new Set()
        this.#waiters.set(key, waiters)
      }
      const set = waiters
      const done = (): void => {
        clearTimeout(timer)
        set.delete(done)
        if (set.size === 0 && this.#waiters.get(key) === set) this.#waiters.delete(key)
        resolve()
      }
      const timer = setTimeout(done, ms)
      set.add(done)
    })
  }

  /** Wakes everything waiting for `key` (they poll again at once). */
  wake(key: string): void {
    const waiters = this.#waiters.get(key)
    if (waiters !== undefined) for (const done of [...waiters]) done()
  }

  /** Wakes everything. */
  wakeAll(): void {
    for (const waiters of [...this.#waiters.values()]) for (const done of [...waiters]) done()
  }
}

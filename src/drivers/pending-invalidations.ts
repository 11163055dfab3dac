import type { BusNotice } from './bus.js'
import { retryFor } from './deadline-clock.js'
import {
  CATCH_UP,
  type CallSpec,
  type CallTracker,
  DRIVER_VALUE,
  FAILED,
  INVALIDATE,
  REPLAY,
} from './l2-calls.js'
import { type L2Driver, publishesNotices } from './l2-driver.js'

/** An invalidation that could not be applied to L2 and waits for it to come back. */
export type Invalidation =
  | { kind: 'keys'; keys: readonly string[] }
  /** `notice`: the bus notice the driver publishes with it (never replayed: it is numbered). */
  | { kind: 'tags'; tags: readonly string[]; notice?: BusNotice }
  | { kind: 'pattern'; pattern: string | RegExp }
  | { kind: 'clear' }

export const CLEAR: Invalidation = { kind: 'clear' }

/** The calls of each kind of invalidation, by what a failure means. */
type InvalidationSpecs = Readonly<Record<Invalidation['kind'], CallSpec>>

function invalidationSpecs(kind: number, fallback: unknown, cleared: unknown): InvalidationSpecs {
  return {
    keys: { op: 'delete', kind, ok: DRIVER_VALUE, fallback },
    tags: { op: 'deleteByTags', kind, ok: DRIVER_VALUE, fallback },
    pattern: { op: 'deleteByPattern', kind, ok: DRIVER_VALUE, fallback, scan: true },
    clear: { op: 'clear', kind, ok: true, fallback: cleared, scan: true },
  }
}

/** Sent by the application: resolve to the count removed (0 on failure); `clear` to whether done. */
export const SEND = invalidationSpecs(INVALIDATE, 0, false)
/** Sent by the application while the probe replays the backlog (see `ResilientL2`). */
export const SEND_CATCHING_UP = invalidationSpecs(CATCH_UP, 0, false)
/** Replayed from the queue. */
const REPLAYED = invalidationSpecs(REPLAY, FAILED, FAILED)

/** The driver call that applies `inv`. May throw, like any driver call. */
export function applyInvalidation(driver: L2Driver, inv: Invalidation): Promise<unknown> {
  switch (inv.kind) {
    case 'keys':
      return driver.delete(inv.keys)
    case 'tags':
      // A notice is made only for a driver that publishes it (see `publishesNotices`).
      return inv.notice !== undefined && publishesNotices(driver)
        ? driver.deleteByTags(inv.tags, inv.notice)
        : driver.deleteByTags(inv.tags)
    case 'pattern':
      return driver.deleteByPattern(inv.pattern)
    case 'clear':
      return driver.clear()
  }
}

/** What a {@link PendingInvalidations} queue is built with. */
export interface PendingInvalidationsSetup {
  /** The driver the invalidations are replayed to. */
  driver: L2Driver
  /** Most entries (keys + tags + patterns) kept before the queue collapses into one `clear`. */
  max: number
  /** Kept up to date (a live object, e.g. `ResilientL2['counters']`). */
  counters: { replayed: number; collapsed: number }
  /** Told of each invalidation replayed; may not throw (errors are swallowed). */
  onReplayed?: ((inv: Invalidation) => void) | undefined
}

/**
 * The invalidations L2 missed while it was unreachable (guarantee 5: nothing stale survives
 * an outage), and their replay.
 *
 * While they are replayed nothing else is sent to L2 but invalidations, so they commute: they are
 * deduplicated and replayed as clear, keys, tags, then patterns in arrival order. Past `max`
 * entries (keys + tags + patterns) they collapse into a single `clear()` of the prefix, which
 * covers everything queued after it until its replay starts.
 *
 * @example
 * ```ts
 * const pending = new PendingInvalidations({ driver, max: 10_000, counters })
 * pending.add({ kind: 'tags', tags: ['products'] }) // L2 is down
 * const done = await pending.replay(calls) // on recovery
 * ```
 */
export class PendingInvalidations {
  readonly #setup: PendingInvalidationsSetup
  #closed = false
  #clear = false
  readonly #keys = new Set<string>()
  readonly #tags = new Set<string>()
  #patterns: (string | RegExp)[] = []

  constructor(setup: PendingInvalidationsSetup) {
    this.#setup = setup
  }

  /** Keys + tags + patterns waiting, +1 for a pending clear. */
  get size(): number {
    return (this.#clear ? 1 : 0) + this.#keys.size + this.#tags.size + this.#patterns.length
  }

  /** Queues a delete of `key` (a write that may have left an older value in L2). */
  addKey(key: string): void {
    if (this.#closed || this.#clear) return
    this.#keys.add(key)
    this.#checkOverflow()
  }

  add(inv: Invalidation): void {
    // A pending clear already covers everything queued after it (until its replay starts).
    if (this.#closed || this.#clear) return
    switch (inv.kind) {
      case 'keys':
        for (const key of inv.keys) this.#keys.add(key)
        break
      case 'tags':
        for (const tag of inv.tags) this.#tags.add(tag)
        break
      case 'pattern':
        this.#patterns.push(inv.pattern)
        break
      case 'clear':
        this.#drop()
        this.#clear = true
        return
    }
    this.#checkOverflow()
  }

  /** Forgets everything queued, refuses what comes later, and stops a replay in progress. */
  close(): void {
    this.#closed = true
    this.#drop()
  }

  /**
   * Replays pending invalidations through `calls` (bounded, never rejecting) until none is left:
   * `true` then, `false` at the first one that fails (it stays queued). Invalidations queued
   * meanwhile are replayed too. One the driver refused for a bad argument counts as done: no
   * retry can fix it.
   */
  async replay(calls: CallTracker): Promise<boolean> {
    const { driver, counters, onReplayed } = this.#setup
    for (;;) {
      if (this.#closed) return false
      const patterns = this.#patterns
      let inv: Invalidation
      if (this.#clear) {
        // From here on, new invalidations are queued individually: the clear may already have
        // passed the keys they touch.
        this.#clear = false
        inv = CLEAR
      } else if (this.#keys.size > 0) {
        inv = { kind: 'keys', keys: firstOf(this.#keys, 1000) }
      } else if (this.#tags.size > 0) {
        inv = { kind: 'tags', tags: firstOf(this.#tags, 100) }
      } else if (patterns.length > 0) {
        inv = { kind: 'pattern', pattern: patterns[0]! }
      } else {
        return true
      }
      const outcome = await calls.internal(REPLAYED[inv.kind], () => applyInvalidation(driver, inv))
      if (outcome === FAILED) {
        if (inv === CLEAR) this.add(CLEAR)
        return false
      }
      if (inv.kind === 'keys') for (const key of inv.keys) this.#keys.delete(key)
      else if (inv.kind === 'tags') for (const tag of inv.tags) this.#tags.delete(tag)
      // A collapse meanwhile replaced the array; then there is nothing to remove.
      else if (inv.kind === 'pattern' && this.#patterns === patterns && patterns[0] === inv.pattern)
        patterns.shift()
      try {
        onReplayed?.(inv)
      } catch {
        // The application's hook must not stop the replay.
      }
      counters.replayed++
    }
  }

  /**
   * Replays until none is left or `ms` ran out (an attempt every `pauseMs`: the connection may be
   * reconnecting, and a failed call fails at once); resolves to how many are left.
   */
  async deliver(calls: CallTracker, ms: number, pauseMs: number): Promise<number> {
    if (this.size === 0) return 0
    const delivered = await retryFor(ms, pauseMs, () => this.replay(calls))
    return delivered ? 0 : this.size
  }

  #checkOverflow(): void {
    if (this.size <= this.#setup.max) return
    this.#drop()
    this.#clear = true
    this.#setup.counters.collapsed++
  }

  #drop(): void {
    this.#clear = false
    this.#keys.clear()
    this.#tags.clear()
    this.#patterns = []
  }
}

function firstOf(set: ReadonlySet<string>, n: number): string[] {
  const batch: string[] = []
  for (const item of set) {
    batch.push(item)
    if (batch.length === n) break
  }
  return batch
}

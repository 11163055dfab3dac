import type { BusNotice } from './bus.js'
import { type CallTracker, FAILED, REPLAY } from './l2-calls.js'
import { type L2Driver, publishesNotices } from './l2-driver.js'

/** An invalidation that could not be applied to L2 and waits for it to come back. */
export type Invalidation =
  | { kind: 'keys'; keys: readonly string[] }
  /** `notice`: the bus notice the driver publishes with it (never replayed: it is numbered). */
  | { kind: 'tags'; tags: readonly string[]; notice?: BusNotice }
  | { kind: 'pattern'; pattern: string | RegExp }
  | { kind: 'clear' }

export const CLEAR: Invalidation = { kind: 'clear' }

/** The name of the driver method {@link applyInvalidation} calls, for errors and logs. */
export const INVALIDATION_OP = {
  keys: 'delete',
  tags: 'deleteByTags',
  pattern: 'deleteByPattern',
  clear: 'clear',
} as const

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

/** Whether `inv` SCANs the whole keyspace: then it is bounded by the scan timeout. */
export function scansKeyspace(inv: Invalidation): boolean {
  return inv.kind === 'pattern' || inv.kind === 'clear'
}

/** What a {@link PendingInvalidations} queue is built with. */
export interface PendingInvalidationsSetup {
  /** The driver the invalidations are replayed to. */
  driver: L2Driver
  /** Most entries (keys + tags + patterns) kept before the queue collapses into one `clear`. */
  max: number
  /** The bound of a replayed pattern or clear (a command's is the call tracker's). */
  scanTimeoutMs: number
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
 * const pending = new PendingInvalidations({ driver, max: 10_000, scanTimeoutMs, counters })
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
    const { driver, scanTimeoutMs, counters, onReplayed } = this.#setup
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
      const timeoutMs = scansKeyspace(inv) ? scanTimeoutMs : undefined
      const outcome = await calls.internal(
        INVALIDATION_OP[inv.kind],
        REPLAY,
        () => applyInvalidation(driver, inv),
        timeoutMs,
      )
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

/**
 * What this instance changed in L2 lately, to do again when a Redis Cluster master comes back as
 * another server (a standalone server is cleared whole instead, see `RedisDriver.watchServer`):
 * Redis replicates (and persists) asynchronously, so a replica promoted to master, or a server
 * restarted from its last save, may lack the last writes and invalidations it acknowledged. A
 * delete undone brings an old value back; a lost version bump lets a fill pass its fence; a lost
 * `set` leaves the value before it. Redone, as deletes and invalidations, they repair that.
 *
 * Kept for `windowMs` (far above any replication lag worth running with), at most `max`: beyond,
 * what to redo is "everything" (a clear of the prefix).
 */
export class RecentChanges {
  readonly #windowMs: number
  readonly #max: number
  /** Oldest first; those before `#head` are out of the window (dropped in bulk, not one by one). */
  #changes: { inv: Invalidation; at: number }[] = []
  #head = 0
  #overflowUntil = 0

  constructor(windowMs = 10_000, max = 10_000) {
    this.#windowMs = windowMs
    this.#max = max
  }

  /** `inv` was sent now (a write is recorded as a delete of its keys). */
  record(inv: Invalidation, now = Date.now()): void {
    this.#prune(now)
    if (this.#changes.length - this.#head >= this.#max) {
      this.#changes = []
      this.#head = 0
      this.#overflowUntil = now + this.#windowMs
    }
    if (now < this.#overflowUntil) return
    this.#changes.push({ inv, at: now })
  }

  /** What to redo now: the changes of the last `windowMs`. */
  redo(now = Date.now()): Invalidation[] {
    this.#prune(now)
    if (now < this.#overflowUntil) return [CLEAR]
    return this.#changes.slice(this.#head).map((change) => change.inv)
  }

  #prune(now: number): void {
    const from = now - this.#windowMs
    const changes = this.#changes
    while (this.#head < changes.length && changes[this.#head]!.at < from) this.#head++
    if (this.#head > 1024 && this.#head * 2 > changes.length) {
      this.#changes = changes.slice(this.#head)
      this.#head = 0
    }
  }
}

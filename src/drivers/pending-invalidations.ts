import type { BusNotice } from './bus.js'
import type { L2Driver } from './l2-driver.js'

/** An invalidation that could not be applied to L2 and waits for it to come back. */
export type Invalidation =
  | { kind: 'keys'; keys: readonly string[] }
  /** `notice`: the bus notice the driver publishes with it (never replayed: it is numbered). */
  | { kind: 'tags'; tags: readonly string[]; notice?: BusNotice }
  | { kind: 'pattern'; pattern: string | RegExp }
  | { kind: 'clear' }

export const CLEAR: Invalidation = { kind: 'clear' }

/** The driver call that applies `inv`. May throw, like any driver call. */
export function applyInvalidation(driver: L2Driver, inv: Invalidation): Promise<unknown> {
  switch (inv.kind) {
    case 'keys':
      return driver.delete(inv.keys)
    case 'tags':
      return driver.deleteByTags(inv.tags, inv.notice)
    case 'pattern':
      return driver.deleteByPattern(inv.pattern)
    case 'clear':
      return driver.clear()
  }
}

/** The name of the driver method {@link applyInvalidation} calls, for errors and logs. */
export const INVALIDATION_OP = {
  keys: 'delete',
  tags: 'deleteByTags',
  pattern: 'deleteByPattern',
  clear: 'clear',
} as const

/**
 * Runs one replayed driver call, bounded in time (`timeoutMs`, or the command timeout when
 * absent). Resolves `false` when it failed and must be retried later, `true` when it is done
 * (applied, or refused for a bad argument, which no retry can fix). Never rejects.
 */
export type ReplayCall = (
  op: string,
  start: () => Promise<unknown>,
  timeoutMs?: number,
) => Promise<boolean>

/** The counters this queue keeps up to date (a live object, e.g. `ResilientL2['counters']`). */
export interface PendingCounters {
  /** Invalidation calls replayed. */
  replayed: number
  /** Times the queue overflowed and collapsed into one `clear()`. */
  collapsed: number
}

/**
 * The invalidations L2 missed while it was unreachable (guarantee 5: nothing stale survives
 * an outage), and their replay.
 *
 * While they are replayed nothing else is sent to L2, so they commute: they are deduplicated and
 * replayed as clear, keys, tags, then patterns in arrival order. Past `max` entries (keys + tags +
 * patterns) they collapse into a single `clear()` of the prefix, which covers everything queued
 * after it until its replay starts.
 *
 * @example
 * ```ts
 * const pending = new PendingInvalidations(10_000, counters)
 * pending.add({ kind: 'tags', tags: ['products'] }) // L2 is down
 * const done = await pending.replay(driver, run, 30_000) // on recovery
 * ```
 */
export class PendingInvalidations {
  readonly max: number
  readonly #counters: PendingCounters
  #closed = false
  #clear = false
  readonly #keys = new Set<string>()
  readonly #tags = new Set<string>()
  #patterns: (string | RegExp)[] = []

  constructor(max: number, counters: PendingCounters) {
    this.max = max
    this.#counters = counters
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
   * Replays pending invalidations through `run` until none is left: `true` then, `false` at the
   * first one that fails (it stays queued). Invalidations queued meanwhile are replayed too.
   */
  async replay(
    driver: L2Driver,
    run: ReplayCall,
    scanTimeoutMs: number,
    applied: (inv: Invalidation) => void = () => {},
  ): Promise<boolean> {
    for (;;) {
      if (this.#closed) return false
      if (this.#clear) {
        // From here on, new invalidations are queued individually: the clear may already have
        // passed the keys they touch.
        this.#clear = false
        if (!(await run('clear', () => driver.clear(), scanTimeoutMs))) {
          this.add(CLEAR)
          return false
        }
        applied(CLEAR)
      } else if (this.#keys.size > 0) {
        const batch = firstOf(this.#keys, 1000)
        if (!(await run('delete', () => driver.delete(batch)))) return false
        for (const key of batch) this.#keys.delete(key)
        applied({ kind: 'keys', keys: batch })
      } else if (this.#tags.size > 0) {
        const batch = firstOf(this.#tags, 100)
        if (!(await run('deleteByTags', () => driver.deleteByTags(batch)))) return false
        for (const tag of batch) this.#tags.delete(tag)
        applied({ kind: 'tags', tags: batch })
      } else if (this.#patterns.length > 0) {
        const patterns = this.#patterns
        const pattern = patterns[0]!
        if (!(await run('deleteByPattern', () => driver.deleteByPattern(pattern), scanTimeoutMs))) {
          return false
        }
        // A collapse meanwhile replaced the array; then there is nothing to remove.
        if (this.#patterns === patterns && patterns[0] === pattern) patterns.shift()
        applied({ kind: 'pattern', pattern })
      } else {
        return true
      }
      this.#counters.replayed++
    }
  }

  #checkOverflow(): void {
    if (this.size <= this.max) return
    this.#drop()
    this.#clear = true
    this.#counters.collapsed++
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

import { CLEAR, type Invalidation } from './pending-invalidations.js'

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

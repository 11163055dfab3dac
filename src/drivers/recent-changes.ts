import { CLEAR, type Invalidation } from './pending-invalidations.js'

/**
 * What this instance changed in L2 lately, to do again when Redis comes back as another server:
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
  #changes: { inv: Invalidation; at: number }[] = []
  #overflowUntil = 0

  constructor(windowMs = 10_000, max = 10_000) {
    this.#windowMs = windowMs
    this.#max = max
  }

  /** `inv` was sent now (a write is recorded as a delete of its keys). */
  record(inv: Invalidation, now = Date.now()): void {
    this.#prune(now)
    if (this.#changes.length >= this.#max) {
      this.#changes = []
      this.#overflowUntil = now + this.#windowMs
    }
    if (now < this.#overflowUntil) return
    this.#changes.push({ inv, at: now })
  }

  /** What to redo now: the changes of the last `windowMs`. */
  redo(now = Date.now()): Invalidation[] {
    this.#prune(now)
    if (now < this.#overflowUntil) return [CLEAR]
    return this.#changes.map((change) => change.inv)
  }

  #prune(now: number): void {
    const from = now - this.#windowMs
    let drop = 0
    while (drop < this.#changes.length && this.#changes[drop]!.at < from) drop++
    if (drop > 0) this.#changes = this.#changes.slice(drop)
  }
}

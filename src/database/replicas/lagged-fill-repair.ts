/**
 * The one window the routing rules cannot close alone: another instance that has not yet received
 * this instance's invalidation (the bus takes a moment) may fill a cache entry from a replica
 * that has not replayed the write. The fill fence does not stop it (the write and its
 * invalidation were over before that fill began), so with a shared L2 the old value would stay
 * there until its TTL: the notice that arrives a moment later only clears that instance's L1.
 *
 * So the writer invalidates the same tags once more when every replica has replayed the write
 * (a "delayed double delete" that waits for the replicas instead of a guessed delay). After
 * that, a replica read is no longer older than the write, whoever makes it; a fill that read
 * before and stores after is refused by the fence, as for any invalidation. Invalidations ready
 * together are sent as one, so a burst of writes costs one more invalidation per poll interval.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { CacheManager } from '../../cache/cache-manager.js'
import type { CacheEvents } from '../../cache/events.js'
import type { WriteWatermarks } from './freshness.js'
import type { ReplicaPool } from './replica-pool.js'

/** A set of tags as one comparable text (the cache normalizes order and duplicates away). */
function signature(tags: Iterable<string>): string {
  return [...new Set(tags)].sort().join('\u0000')
}

export class LaggedFillRepair {
  readonly #cache: CacheManager
  readonly #watermarks: WriteWatermarks
  readonly #pool: ReplicaPool
  readonly #intervalMs: number
  /** Tags to invalidate again, by the position every replica must have replayed first. */
  readonly #due = new Map<bigint, Set<string>>()
  /** This repair's own invalidations, recognised when the cache reports them back. */
  readonly #echoes = new Map<string, number>()
  #running = false
  #closed = false
  /** Second invalidations sent. */
  repairs = 0

  constructor(
    cache: CacheManager,
    watermarks: WriteWatermarks,
    pool: ReplicaPool,
    intervalMs: number,
  ) {
    this.#cache = cache
    this.#watermarks = watermarks
    this.#pool = pool
    this.#intervalMs = intervalMs
    cache.on('invalidate', this.#onInvalidate)
  }

  /** Stops listening; repairs still due are dropped (the client is disconnecting). */
  close(): void {
    this.#closed = true
    this.#cache.off('invalidate', this.#onInvalidate)
  }

  /** This instance's tag invalidations, writes' included (other instances repair their own). */
  readonly #onInvalidate = (event: CacheEvents['invalidate'][0]): void => {
    if (event.remote === true || event.kind !== 'tag' || this.#closed) return
    const key = signature(event.tags)
    const echoes = this.#echoes.get(key)
    if (echoes !== undefined) {
      if (echoes <= 1) this.#echoes.delete(key)
      else this.#echoes.set(key, echoes - 1)
      return
    }
    const tags = [...event.tags]
    // The write committed before its invalidation ran: a probe sent now is past its commit.
    void this.#watermarks.positionAfterNow().then((lsn) => {
      const due = this.#due.get(lsn)
      if (due === undefined) this.#due.set(lsn, new Set(tags))
      else for (const tag of tags) due.add(tag)
      this.#start()
    })
  }

  #start(): void {
    if (this.#running || this.#closed) return
    this.#running = true
    void this.#loop().finally(() => {
      this.#running = false
    })
  }

  async #loop(): Promise<void> {
    while (this.#due.size > 0 && !this.#closed) {
      await this.#pool.poll()
      const replayed = this.#slowestReplay()
      const tags = new Set<string>()
      for (const [lsn, due] of this.#due) {
        if (replayed !== undefined && lsn > replayed) continue
        for (const tag of due) tags.add(tag)
        this.#due.delete(lsn)
      }
      if (tags.size > 0) await this.#invalidate([...tags])
      if (this.#due.size > 0) await sleep(this.#intervalMs, undefined, { ref: false })
    }
  }

  /**
   * The lowest position the healthy replicas have replayed; `undefined` when none is healthy (no
   * replica read can happen here, and one that comes back is polled before it answers).
   */
  #slowestReplay(): bigint | undefined {
    let slowest: bigint | undefined
    for (const replica of this.#pool.replicas) {
      const lsn = replica.replayLsn
      if (lsn !== undefined && (slowest === undefined || lsn < slowest)) slowest = lsn
    }
    return slowest
  }

  async #invalidate(tags: string[]): Promise<void> {
    const key = signature(tags)
    this.#echoes.set(key, (this.#echoes.get(key) ?? 0) + 1)
    try {
      await this.#cache.invalidateByTag(tags)
      this.repairs++
    } catch {
      // The cache is closed (or refused the tags): nothing left to repair through it.
      this.#echoes.delete(key)
      this.#closed = true
    }
  }
}

/**
 * In-process fence against the fill race ("x=42/x=43", guarantee 2: no stale sets): a loader
 * that read the source before a write and stores after that write's invalidation would put an old
 * value back.
 *
 * Every fill takes a ticket (the current sequence number) before its loader runs. Every write or
 * invalidation that happens while fills are in flight is logged with a newer sequence number. When
 * the fill wants to store, it asks whether anything logged after its ticket touches its key or its
 * tags; if so the value is returned to the caller but not cached.
 *
 * The log only lives while fills are in flight and is trimmed to the oldest ticket still out, so it
 * stays tiny. A ticket held longer than `maxAgeMs` (a loader that hangs, with no timeout) stops
 * holding the log back: once the log reaches `maxLog`, it is trimmed to the oldest ticket younger
 * than that, and older tickets can no longer store (a fill that old is refused anyway, see
 * `fenceWindow`). Should the log still be full, it collapses into one "everything" record, which
 * makes the fence conservative (fills skip storing) but never wrong.
 */
import { Fill, type FillContext, type FillPlan } from './fill.js'
import type { FirstRead } from './lease.js'

type Touch =
  | { seq: number; kind: 'key'; key: string }
  | { seq: number; kind: 'tag'; tag: string }
  | { seq: number; kind: 'match'; matches: (key: string) => boolean }
  | { seq: number; kind: 'all' }

export interface FillFenceOptions {
  /** Touches logged at most before the log is trimmed or collapses. @default 10000 */
  maxLog?: number
  /** How long a ticket holds the log back (the cache's `fenceWindow`). @default 60000 */
  maxAgeMs?: number
  /** The clock, in ms. @default Date.now */
  now?: () => number
}

export class FillFence {
  #seq = 0
  /** ticket -> how many fills hold it, and since when */
  readonly #tickets = new Map<number, { held: number; since: number }>()
  #log: Touch[] = []
  /** Tickets below this no longer know what touched their keys since: they cannot store. */
  #floor = 0
  readonly #maxLog: number
  readonly #maxAgeMs: number
  readonly #clock: () => number

  constructor(options: FillFenceOptions = {}) {
    this.#maxLog = options.maxLog ?? 10_000
    this.#maxAgeMs = options.maxAgeMs ?? 60_000
    this.#clock = options.now ?? Date.now
  }

  /** Takes a ticket before the loader runs. Pair every call with {@link release}. */
  acquire(): number {
    return this.hold(this.#seq)
  }

  /**
   * Holds `ticket` (taken earlier by another caller) once more, so that the log keeps what
   * happened since it until this hold is released too: a caller joining a fill checks the fill's
   * final tags against that span once the loader is done.
   */
  hold(ticket: number): number {
    const holds = this.#tickets.get(ticket)
    if (holds === undefined) this.#tickets.set(ticket, { held: 1, since: this.#clock() })
    else holds.held++
    return ticket
  }

  /** The sequence number now: a later touch has a greater one. */
  get now(): number {
    return this.#seq
  }

  /**
   * Whether a value loaded under `ticket` may still be stored for `key` with `tags`: nothing
   * touched them after `ticket` (and, with `until`, up to and including `until`).
   */
  canStore(ticket: number, key: string, tags: readonly string[], until = Infinity): boolean {
    if (ticket === this.#seq) return true
    if (ticket < this.#floor) return false
    // A value may carry hundreds of tags (the rows a query returned): look them up in a set.
    let tagSet: ReadonlySet<string> | undefined
    for (const touch of this.#log) {
      if (touch.seq <= ticket || touch.seq > until) continue
      switch (touch.kind) {
        case 'all':
          return false
        case 'key':
          if (touch.key === key) return false
          break
        case 'tag':
          if (tags.length <= 8) {
            if (tags.includes(touch.tag)) return false
          } else {
            tagSet ??= new Set(tags)
            if (tagSet.has(touch.tag)) return false
          }
          break
        case 'match':
          if (touch.matches(key)) return false
          break
      }
    }
    return true
  }

  /** Returns a ticket; trims the log of what no remaining fill can be affected by. */
  release(ticket: number): void {
    const holds = this.#tickets.get(ticket)
    if (holds === undefined) return
    if (holds.held > 1) holds.held--
    else this.#tickets.delete(ticket)
    if (this.#tickets.size === 0) {
      this.#log = []
      return
    }
    this.#trimTo(this.#oldest(Number.NEGATIVE_INFINITY))
  }

  /** The oldest ticket held since `since` (ms) or later; +Infinity when none. */
  #oldest(since: number): number {
    let oldest = Number.POSITIVE_INFINITY
    for (const [t, holds] of this.#tickets) if (t < oldest && holds.since >= since) oldest = t
    return oldest
  }

  /** Drops what no ticket from `oldest` on can be affected by. */
  #trimTo(oldest: number): void {
    if (this.#log.length > 0 && this.#log[0]!.seq <= oldest) {
      this.#log = this.#log.filter((touch) => touch.seq > oldest)
    }
  }

  touchKey(key: string): void {
    this.#record({ seq: this.#next(), kind: 'key', key })
  }

  touchTag(tag: string): void {
    this.#record({ seq: this.#next(), kind: 'tag', tag })
  }

  touchMatching(matches: (key: string) => boolean): void {
    this.#record({ seq: this.#next(), kind: 'match', matches })
  }

  touchAll(): void {
    this.#record({ seq: this.#next(), kind: 'all' })
  }

  /** Fills currently holding a ticket. */
  get inFlight(): number {
    let n = 0
    for (const holds of this.#tickets.values()) n += holds.held
    return n
  }

  #next(): number {
    return ++this.#seq
  }

  #record(touch: Touch): void {
    // With no fill in flight there is nobody to fence: bumping the sequence is enough.
    if (this.#tickets.size === 0) return
    if (this.#log.length >= this.#maxLog) {
      // Tickets held past maxAgeMs stop holding the log back (and can no longer store).
      const oldest = this.#oldest(this.#clock() - this.#maxAgeMs)
      if (oldest > this.#floor) this.#floor = Math.min(oldest, touch.seq)
      this.#trimTo(this.#floor)
    }
    if (this.#log.length >= this.#maxLog) this.#log = [{ seq: touch.seq, kind: 'all' }]
    else this.#log.push(touch)
  }
}

/**
 * The fills running in this process, one per key for later callers to join (single flight within
 * the process; leases, `lease.ts`, make it single across instances), each until it is done.
 */
export class FillsInFlight {
  readonly #fills = new Map<string, Fill>()
  /** What the fills started from now on share: `initialize()` replaces it. */
  context: FillContext

  constructor(context: FillContext) {
    this.context = context
  }

  /** Loads in flight. */
  get size(): number {
    return this.#fills.size
  }

  /**
   * The fill running for `key`, if a new caller may still take its value: not if the key or one
   * of the caller's `tags` was invalidated since it began (its value may predate that write,
   * guarantee 1; tags the loader adds are checked when the caller joins, see `Fill.join`).
   */
  joinable(key: string, tags: readonly string[]): Fill | undefined {
    const fill = this.#fills.get(key)
    if (fill === undefined || fill.finished) return undefined
    return this.context.store.fence.canStore(fill.ticket, key, tags) ? fill : undefined
  }

  /**
   * Starts a fill of `key`; later callers may join it. A fill of this process still running for
   * the key (one an invalidation overtook) holds the key's lease: the new one does not wait for it.
   */
  start(
    key: string,
    compute: () => unknown,
    plan: FillPlan,
    refresh: boolean,
    first?: FirstRead,
    keyLoadMs = 0,
  ): Fill {
    const fill = new Fill(this.context, key, compute, plan, {
      refresh,
      ticket: first?.ticket,
      first,
      waitForHolder: !this.#fills.has(key),
      keyLoadMs,
    })
    return this.#track(key, fill)
  }

  /** A fill that stores in place of any stored value and waits for no lease holder (warming). */
  replace(key: string, compute: () => unknown, plan: FillPlan): Fill {
    const options = { refresh: true, replace: true, waitForHolder: false, keyLoadMs: 0 }
    return this.#track(key, new Fill(this.context, key, compute, plan, options))
  }

  /** Makes `fill` the one later callers of `key` join, until it is done. */
  #track(key: string, fill: Fill): Fill {
    this.#fills.set(key, fill)
    void fill.done.then(() => {
      if (this.#fills.get(key) === fill) this.#fills.delete(key)
    })
    return fill
  }
}

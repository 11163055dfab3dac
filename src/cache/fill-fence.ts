/**
 * In-process fence against the fill race ("x=42/x=43", SPEC guarantee 2): a loader that read the
 * source before a write and stores after that write's invalidation would put an old value back.
 *
 * Every fill takes a ticket (the current sequence number) before its loader runs. Every write or
 * invalidation that happens while fills are in flight is logged with a newer sequence number. When
 * the fill wants to store, it asks whether anything logged after its ticket touches its key or its
 * tags; if so the value is returned to the caller but not cached.
 *
 * The log only lives while fills are in flight and is trimmed to the oldest ticket still out, so it
 * stays tiny; if it ever grows past `maxLog`, it collapses into one "everything" record, which
 * makes the fence conservative (fills skip storing) but never wrong.
 */
type Touch =
  | { seq: number; kind: 'key'; key: string }
  | { seq: number; kind: 'tag'; tag: string }
  | { seq: number; kind: 'match'; matches: (key: string) => boolean }
  | { seq: number; kind: 'all' }

export class FillFence {
  #seq = 0
  /** ticket -> how many fills hold it */
  readonly #tickets = new Map<number, number>()
  #log: Touch[] = []
  readonly #maxLog: number

  constructor(maxLog = 10_000) {
    this.#maxLog = maxLog
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
    this.#tickets.set(ticket, (this.#tickets.get(ticket) ?? 0) + 1)
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
    const held = this.#tickets.get(ticket)
    if (held === undefined) return
    if (held > 1) this.#tickets.set(ticket, held - 1)
    else this.#tickets.delete(ticket)
    if (this.#tickets.size === 0) {
      this.#log = []
      return
    }
    let oldest = Number.POSITIVE_INFINITY
    for (const t of this.#tickets.keys()) if (t < oldest) oldest = t
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
    for (const held of this.#tickets.values()) n += held
    return n
  }

  #next(): number {
    return ++this.#seq
  }

  #record(touch: Touch): void {
    // With no fill in flight there is nobody to fence: bumping the sequence is enough.
    if (this.#tickets.size === 0) return
    if (this.#log.length >= this.#maxLog) this.#log = [{ seq: touch.seq, kind: 'all' }]
    else this.#log.push(touch)
  }
}

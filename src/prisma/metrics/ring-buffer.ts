/**
 * A fixed-capacity list that keeps the latest items: the slow-query log and the N+1 reports use it
 * so that their memory stays bounded however long the process runs.
 *
 * @example
 * ```ts
 * const latest = new RingBuffer<string>(2)
 * latest.push('a'); latest.push('b'); latest.push('c')
 * latest.toArray() // ['b', 'c']
 * ```
 */
export class RingBuffer<T> {
  readonly #items: (T | undefined)[]
  /** Index the next item is written to. */
  #next = 0
  #size = 0
  /** Items pushed since creation or `clear()`, including the ones overwritten. */
  total = 0

  /** @param capacity items kept; 0 keeps none (every push is only counted). */
  constructor(readonly capacity: number) {
    this.#items = new Array(capacity).fill(undefined)
  }

  /**
   * Appends `item`, overwriting the oldest one when full.
   *
   * @example
   * ```ts
   * buffer.push(entry)
   * ```
   */
  push(item: T): void {
    this.total++
    if (this.capacity === 0) return
    this.#items[this.#next] = item
    this.#next = (this.#next + 1) % this.capacity
    if (this.#size < this.capacity) this.#size++
  }

  /** Number of items held (at most `capacity`). */
  get length(): number {
    return this.#size
  }

  /**
   * The items held, oldest first, as a new array.
   *
   * @example
   * ```ts
   * for (const entry of buffer.toArray()) console.log(entry)
   * ```
   */
  toArray(): T[] {
    const out: T[] = []
    const start = this.#size < this.capacity ? 0 : this.#next
    for (let i = 0; i < this.#size; i++) out.push(this.#items[(start + i) % this.capacity] as T)
    return out
  }

  /**
   * Drops every item and the `total` count.
   *
   * @example
   * ```ts
   * buffer.clear()
   * ```
   */
  clear(): void {
    this.#items.fill(undefined)
    this.#next = 0
    this.#size = 0
    this.total = 0
  }
}

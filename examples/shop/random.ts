/**
 * A seeded pseudo-random generator (mulberry32). The seed data comes from it rather than from
 * `Math.random()` so that every machine builds the same catalog: `GET /products/42` shows the same
 * product in the README, in a bug report and on your laptop.
 */
export class Random {
  #state: number

  constructor(seed: number) {
    this.#state = seed >>> 0
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0
    let t = this.#state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }

  /** An integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)]
    if (item === undefined) throw new Error('Random.pick: no items to pick from')
    return item
  }

  /** `count` distinct items (fewer if there are not that many), in random order. */
  sample<T>(items: readonly T[], count: number): T[] {
    const pool = [...items]
    const taken = Math.min(count, pool.length)
    // A partial Fisher-Yates shuffle: only the first `taken` places are settled.
    for (let i = 0; i < taken; i++) {
      const j = this.int(i, pool.length - 1)
      ;[pool[i], pool[j]] = [pool[j] as T, pool[i] as T]
    }
    return pool.slice(0, taken)
  }
}

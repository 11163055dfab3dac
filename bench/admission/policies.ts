/**
 * The policy interface, plain LRU and TinyLFU admission in front of lru-cache (bench/admission.ts).
 * Each policy replays a trace in its own loop so every call site stays monomorphic.
 */
import { LRUCache } from 'lru-cache'
import { SEED } from './options.js'
import { admit, FrequencySketch, hashString } from './sketch.js'
import { Rng } from './traces.js'

/** What a cache stores per key, like L1's `L1Entry` (allocated on every fill, for every policy). */
export interface Entry {
  readonly value: unknown
  /** Key hash kept with the entry so a hit needs no rehash (0 when unused). */
  readonly hash: number
}

export const VALUE = { id: 42, name: 'Ergonomic Steel Chair' }

export interface Policy {
  replay(ids: Int32Array, keys: readonly string[]): number
}

export class LruPolicy implements Policy {
  readonly #lru: LRUCache<string, Entry>

  constructor(capacity: number) {
    this.#lru = new LRUCache<string, Entry>({ max: capacity })
  }

  replay(ids: Int32Array, keys: readonly string[]): number {
    const lru = this.#lru
    let hits = 0
    for (let i = 0; i < ids.length; i++) {
      const key = keys[ids[i]!]!
      if (lru.get(key) !== undefined) hits++
      else lru.set(key, { value: VALUE, hash: 0 })
    }
    return hits
  }
}

/** TinyLFU admission in front of an unchanged `lru-cache` (no window, LRU main). */
export class LruTinyLfuPolicy implements Policy {
  readonly #lru: LRUCache<string, Entry>
  readonly #sketch: FrequencySketch
  readonly #capacity: number
  readonly #rng = new Rng(SEED ^ 0x1234)

  constructor(capacity: number) {
    this.#capacity = capacity
    this.#lru = new LRUCache<string, Entry>({ max: capacity })
    this.#sketch = new FrequencySketch(capacity, false)
  }

  replay(ids: Int32Array, keys: readonly string[]): number {
    const lru = this.#lru
    const sketch = this.#sketch
    let hits = 0
    for (let i = 0; i < ids.length; i++) {
      const key = keys[ids[i]!]!
      const entry = lru.get(key)
      if (entry !== undefined) {
        sketch.increment(entry.hash)
        hits++
        continue
      }
      const hash = hashString(key)
      sketch.increment(hash)
      if (lru.size >= this.#capacity) {
        // lru-cache does not expose its tail: the reverse iterator's first value is the victim.
        const victim = lru.rvalues().next().value
        if (
          victim !== undefined &&
          !admit(sketch.frequency(hash), sketch.frequency(victim.hash), this.#rng)
        )
          continue
      }
      lru.set(key, { value: VALUE, hash })
    }
    return hits
  }
}

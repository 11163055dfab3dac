/** The frequency sketch (4-bit count-min) and TinyLFU's admission decision (bench/admission.ts). */
import type { Rng } from './traces.js'

/** 32-bit FNV-1a of a string, finished with murmur3's fmix32. */
export function hashString(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h | 0
}

export function rehash(h: number): number {
  h = Math.imul(h, 0x31848bab)
  h ^= h >>> 14
  return h | 0
}

export function nextPowerOfTwo(n: number): number {
  return n <= 1 ? 1 : 2 ** Math.ceil(Math.log2(n))
}

/**
 * Count-min sketch of 4-bit counters, depth 4, Caffeine's block layout: a key's 4 counters lie in
 * one 64-byte block (16 words of 8 counters; counter i in words 4i..4i+3). 2 x nextPow2(capacity)
 * words in all (16 counters per entry). Every `10 x capacity` increments all counters are halved
 * ("reset"), so old popularity fades. The optional doorkeeper (a Bloom filter, cleared on reset)
 * absorbs each key's first occurrence so one-hit wonders never reach the counters.
 */
export class FrequencySketch {
  readonly #table: Uint32Array
  readonly #blockMask: number
  readonly #sampleSize: number
  readonly #door: Uint32Array | undefined
  readonly #doorMask: number
  #size = 0

  constructor(capacity: number, doorkeeper: boolean) {
    const words = Math.max(16, 2 * nextPowerOfTwo(capacity))
    this.#table = new Uint32Array(words)
    this.#blockMask = words / 16 - 1
    this.#sampleSize = 10 * capacity
    // Doorkeeper: 8 bits per entry of the sample, 2 probes.
    const doorBits = nextPowerOfTwo(8 * this.#sampleSize)
    this.#door = doorkeeper ? new Uint32Array(doorBits / 32) : undefined
    this.#doorMask = doorBits - 1
  }

  /** Estimated frequency (0..15, +1 when the doorkeeper holds the key). */
  frequency(hash: number): number {
    const table = this.#table
    const block = (hash & this.#blockMask) << 4
    const counterHash = rehash(hash)
    let min = 15
    for (let i = 0; i < 4; i++) {
      const h = counterHash >>> (i << 3)
      const word = table[block + (i << 2) + ((h >>> 3) & 3)]!
      const count = (word >>> ((h & 7) << 2)) & 15
      if (count < min) min = count
    }
    if (this.#door !== undefined && this.#doorHas(hash)) min++
    return min
  }

  increment(hash: number): void {
    if (this.#door !== undefined && !this.#doorAdd(hash)) {
      if (++this.#size >= this.#sampleSize) this.#reset()
      return
    }
    const table = this.#table
    const block = (hash & this.#blockMask) << 4
    const counterHash = rehash(hash)
    let added = false
    for (let i = 0; i < 4; i++) {
      const h = counterHash >>> (i << 3)
      const index = block + (i << 2) + ((h >>> 3) & 3)
      const shift = (h & 7) << 2
      const word = table[index]!
      if (((word >>> shift) & 15) < 15) {
        table[index] = word + (1 << shift)
        added = true
      }
    }
    if (added && ++this.#size >= this.#sampleSize) this.#reset()
  }

  /** Adds the key to the doorkeeper; true when it was (probably) already there. */
  #doorAdd(hash: number): boolean {
    const door = this.#door!
    const a = hash & this.#doorMask
    const b = rehash(hash ^ 0x5bd1e995) & this.#doorMask
    const hasA = (door[a >>> 5]! >>> (a & 31)) & 1
    const hasB = (door[b >>> 5]! >>> (b & 31)) & 1
    if (hasA & hasB) return true
    door[a >>> 5] = door[a >>> 5]! | (1 << (a & 31))
    door[b >>> 5] = door[b >>> 5]! | (1 << (b & 31))
    return false
  }

  #doorHas(hash: number): boolean {
    const door = this.#door!
    const a = hash & this.#doorMask
    const b = rehash(hash ^ 0x5bd1e995) & this.#doorMask
    return ((door[a >>> 5]! >>> (a & 31)) & (door[b >>> 5]! >>> (b & 31)) & 1) === 1
  }

  #reset(): void {
    const table = this.#table
    let odd = 0
    for (let i = 0; i < table.length; i++) {
      const w = table[i]!
      let low = w & 0x11111111
      // popcount of the low bits of the 8 counters
      low = low + (low >>> 4)
      low = low + (low >>> 8)
      odd += (low + (low >>> 16)) & 0xf
      table[i] = (w >>> 1) & 0x77777777
    }
    this.#size = (this.#size - (odd >>> 2)) >>> 1
    this.#door?.fill(0)
  }
}

/** Caffeine's admission test: higher frequency wins; a hot loser gets in 1 time in 128. */
export function admit(candidateFreq: number, victimFreq: number, rng: Rng): boolean {
  if (candidateFreq > victimFreq) return true
  if (candidateFreq >= 6) return (rng.u32() & 127) === 0
  return false
}

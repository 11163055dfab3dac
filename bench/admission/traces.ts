/** Seeded PRNG (sfc32) and the synthetic traces the policies replay. (bench/admission.ts) */
import { ACCESSES, KEYSPACE, SHIFT_USES, SHIFT_WIDTH } from './options.js'

export class Rng {
  #a: number
  #b: number
  #c: number
  #d: number

  constructor(seed: number) {
    this.#a = 0x9e3779b9
    this.#b = 0x243f6a88
    this.#c = 0xb7e15162
    this.#d = seed | 0
    for (let i = 0; i < 16; i++) this.u32()
  }

  u32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0
    this.#d = (this.#d + 1) | 0
    this.#a = this.#b ^ (this.#b >>> 9)
    this.#b = (this.#c + (this.#c << 3)) | 0
    this.#c = (this.#c << 21) | (this.#c >>> 11)
    this.#c = (this.#c + t) | 0
    return t >>> 0
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / 4_294_967_296
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n)
  }
}

/** Zipf(s) over ranks 0..n-1 (rank 0 hottest) by inverse CDF and binary search. */
export class Zipf {
  readonly #cdf: Float64Array

  constructor(n: number, s: number) {
    this.#cdf = new Float64Array(n)
    let sum = 0
    for (let i = 0; i < n; i++) {
      sum += (i + 1) ** -s
      this.#cdf[i] = sum
    }
    for (let i = 0; i < n; i++) this.#cdf[i] = this.#cdf[i]! / sum
  }

  sample(rng: Rng): number {
    const cdf = this.#cdf
    const u = rng.float()
    let lo = 0
    let hi = cdf.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (cdf[mid]! > u) hi = mid
      else lo = mid + 1
    }
    return lo
  }
}

export function permutation(n: number, rng: Rng): Int32Array {
  const p = new Int32Array(n)
  for (let i = 0; i < n; i++) p[i] = i
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    const t = p[i]!
    p[i] = p[j]!
    p[j] = t
  }
  return p
}

export interface Trace {
  name: string
  description: string
  capacity: number
  ids: Int32Array
}

/** Zipf(s) over the whole key space; popularity ranks are shuffled over key ids. */
export function zipfTrace(s: number, rng: Rng, perm: Int32Array): Int32Array {
  const zipf = new Zipf(KEYSPACE, s)
  const ids = new Int32Array(ACCESSES)
  for (let i = 0; i < ACCESSES; i++) ids[i] = perm[zipf.sample(rng)]!
  return ids
}

/**
 * Zipf(1.0) traffic in segments of 2 x capacity accesses, each followed by a one-off sequential
 * scan of capacity fresh keys (never seen again): a third of the accesses are scan misses. Each
 * scan flushes an LRU completely.
 */
export function scanTrace(capacity: number, rng: Rng, perm: Int32Array, zipf: Zipf): Int32Array {
  const ids = new Int32Array(ACCESSES)
  let next = KEYSPACE
  let i = 0
  while (i < ACCESSES) {
    for (let j = 0; j < 2 * capacity && i < ACCESSES; j++) ids[i++] = perm[zipf.sample(rng)]!
    for (let j = 0; j < capacity && i < ACCESSES; j++) ids[i++] = next++
  }
  return ids
}

/**
 * A shifting working set: keys drawn uniformly from a window of `SHIFT_WIDTH x capacity`
 * consecutive ids that slides forward by one fresh id every `SHIFT_USES` accesses, so each key is
 * live for a while (`SHIFT_USES` accesses on average) and then never used again. All live keys are
 * equally popular, and the keys that have collected the most hits are the oldest, the ones about
 * to die: recency is the only useful signal and frequency points the wrong way.
 */
export function shiftingTrace(capacity: number, rng: Rng): Int32Array {
  const width = Math.max(1, Math.round(SHIFT_WIDTH * capacity))
  const ids = new Int32Array(ACCESSES)
  for (let i = 0; i < ACCESSES; i++) ids[i] = Math.floor(i / SHIFT_USES) + rng.int(width)
  return ids
}

/** `product:<id>` strings for every id a trace uses, built once. */
export const keyStrings: string[] = []
export function keysUpTo(maxId: number): string[] {
  for (let i = keyStrings.length; i <= maxId; i++) keyStrings.push(`product:${i}`)
  return keyStrings
}

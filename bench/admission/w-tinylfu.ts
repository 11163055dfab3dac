/**
 * W-TinyLFU (bench/admission.ts): a window LRU, a segmented main LRU, sketch-based admission and
 * an optional hill climber.
 */
import { SEED } from './options.js'
import { type Policy, VALUE } from './policies.js'
import { admit, FrequencySketch, hashString } from './sketch.js'
import { Rng } from './traces.js'

export const WINDOW = 0
export const PROBATION = 1
export const PROTECTED = 2

/** Caffeine's hill climber constants (BoundedLocalCache). */
export const CLIMBER_STEP_PERCENT = 0.0625
export const CLIMBER_STEP_DECAY = 0.98
export const CLIMBER_RESTART_THRESHOLD = 0.05

/**
 * W-TinyLFU over index-linked lists in typed arrays (the layout lru-cache itself uses): slots
 * 0..capacity hold entries (one spare for insert-then-evict), three sentinels head the window,
 * probation and protected queues (next of a sentinel = LRU end, prev = MRU end).
 *
 * With `adaptive`, Caffeine's hill climber resizes the window: every 10 x capacity requests it
 * compares the sample's hit ratio with the previous one and keeps moving the window size in the
 * same direction if the hit ratio rose, the other way if it fell (step 6.25% of capacity, decaying
 * by 2% a step, restarting after a 5-point jump).
 */
export class WTinyLfu {
  readonly #map = new Map<string, number>()
  readonly #keys: (string | undefined)[]
  readonly #values: unknown[]
  readonly #hash: Int32Array
  readonly #prev: Int32Array
  readonly #next: Int32Array
  readonly #queue: Uint8Array
  readonly #free: Int32Array
  #freeTop = 0
  readonly #sketch: FrequencySketch
  readonly #rng = new Rng(SEED ^ 0x5678)
  readonly #capacity: number
  readonly #head: number
  #windowMax: number
  #protectedMax: number
  #windowSize = 0
  #protectedSize = 0
  // hill climber
  readonly #adaptive: boolean
  readonly #sampleSize: number
  #hitsInSample = 0
  #missesInSample = 0
  #previousHitRate = 0
  #stepSize: number
  /** Window sizes chosen by the climber, one per sample (for the report). */
  readonly windowHistory: number[] = []

  constructor(capacity: number, options: { doorkeeper: boolean; adaptive: boolean }) {
    this.#capacity = capacity
    this.#windowMax = Math.max(1, Math.round(capacity * 0.01))
    this.#protectedMax = Math.round((capacity - this.#windowMax) * 0.8)
    this.#adaptive = options.adaptive
    this.#sampleSize = 10 * capacity
    this.#stepSize = -CLIMBER_STEP_PERCENT * capacity
    const slots = capacity + 1
    this.#head = slots // sentinels: head + WINDOW / PROBATION / PROTECTED
    this.#keys = new Array<string | undefined>(slots).fill(undefined)
    this.#values = new Array<unknown>(slots).fill(undefined)
    this.#hash = new Int32Array(slots)
    this.#prev = new Int32Array(slots + 3)
    this.#next = new Int32Array(slots + 3)
    this.#queue = new Uint8Array(slots)
    for (let q = 0; q < 3; q++) {
      this.#prev[slots + q] = slots + q
      this.#next[slots + q] = slots + q
    }
    this.#free = new Int32Array(slots)
    for (let i = 0; i < slots; i++) this.#free[i] = slots - 1 - i
    this.#freeTop = slots
    this.#sketch = new FrequencySketch(capacity, options.doorkeeper)
  }

  get size(): number {
    return this.#map.size
  }

  get windowMax(): number {
    return this.#windowMax
  }

  get(key: string): unknown {
    const slot = this.#map.get(key)
    if (slot === undefined) return undefined
    this.#hitsInSample++
    this.#sketch.increment(this.#hash[slot]!)
    const queue = this.#queue[slot]!
    if (queue === PROBATION) {
      this.#unlink(slot)
      this.#queue[slot] = PROTECTED
      this.#append(PROTECTED, slot)
      if (++this.#protectedSize > this.#protectedMax) this.#demoteProtected()
    } else {
      this.#unlink(slot)
      this.#append(queue, slot)
    }
    return this.#values[slot]
  }

  /** Stores a key that `get` just missed; the policy may drop it (or a victim) right away. */
  set(key: string, value: unknown): void {
    if (++this.#missesInSample + this.#hitsInSample >= this.#sampleSize) this.#sampleEnded()
    const hash = hashString(key)
    this.#sketch.increment(hash)
    const slot = this.#free[--this.#freeTop]!
    this.#keys[slot] = key
    this.#values[slot] = value
    this.#hash[slot] = hash
    this.#queue[slot] = WINDOW
    this.#append(WINDOW, slot)
    this.#map.set(key, slot)
    // The window's LRU entry moves to probation and, if the cache is over capacity, competes
    // with probation's LRU entry (the victim) for a place in main.
    const candidate = ++this.#windowSize > this.#windowMax ? this.#spillWindow() : -1
    if (this.#map.size <= this.#capacity) return
    const probationHead = this.#head + PROBATION
    const protectedHead = this.#head + PROTECTED
    let victim = this.#next[probationHead]!
    if (
      victim === probationHead ||
      (victim === candidate && this.#next[victim] === probationHead)
    ) {
      // probation is empty or holds only the candidate: the victim comes from protected
      if (this.#next[protectedHead] !== protectedHead) victim = this.#next[protectedHead]!
    }
    if (candidate === -1) {
      // the window is growing (adaptive): main's LRU entry makes room, no contest
      this.#evict(victim === probationHead ? this.#next[this.#head + WINDOW]! : victim)
      return
    }
    const sketch = this.#sketch
    const admitted =
      victim !== candidate &&
      admit(
        sketch.frequency(this.#hash[candidate]!),
        sketch.frequency(this.#hash[victim]!),
        this.#rng,
      )
    this.#evict(admitted ? victim : candidate)
  }

  /** Moves the window's LRU entry to probation's MRU end; returns its slot. */
  #spillWindow(): number {
    const slot = this.#next[this.#head + WINDOW]!
    this.#unlink(slot)
    this.#windowSize--
    this.#queue[slot] = PROBATION
    this.#append(PROBATION, slot)
    return slot
  }

  #demoteProtected(): void {
    const slot = this.#next[this.#head + PROTECTED]!
    this.#unlink(slot)
    this.#queue[slot] = PROBATION
    this.#append(PROBATION, slot)
    this.#protectedSize--
  }

  #sampleEnded(): void {
    const requests = this.#hitsInSample + this.#missesInSample
    const hitRate = this.#hitsInSample / requests
    this.#hitsInSample = 0
    this.#missesInSample = 0
    if (!this.#adaptive) return
    const change = hitRate - this.#previousHitRate
    const amount = change >= 0 ? this.#stepSize : -this.#stepSize
    this.#stepSize =
      Math.abs(change) >= CLIMBER_RESTART_THRESHOLD
        ? CLIMBER_STEP_PERCENT * this.#capacity * (amount >= 0 ? 1 : -1)
        : CLIMBER_STEP_DECAY * amount
    this.#previousHitRate = hitRate
    const windowMax = Math.min(
      this.#capacity - 1,
      Math.max(1, Math.round(this.#windowMax + amount)),
    )
    this.#windowMax = windowMax
    this.#protectedMax = Math.round((this.#capacity - windowMax) * 0.8)
    while (this.#windowSize > windowMax) this.#spillWindow()
    while (this.#protectedSize > this.#protectedMax) this.#demoteProtected()
    this.windowHistory.push(windowMax)
  }

  #evict(slot: number): void {
    const queue = this.#queue[slot]
    if (queue === PROTECTED) this.#protectedSize--
    else if (queue === WINDOW) this.#windowSize--
    this.#unlink(slot)
    this.#map.delete(this.#keys[slot]!)
    this.#keys[slot] = undefined
    this.#values[slot] = undefined
    this.#free[this.#freeTop++] = slot
  }

  #unlink(slot: number): void {
    const p = this.#prev[slot]!
    const n = this.#next[slot]!
    this.#next[p] = n
    this.#prev[n] = p
  }

  /** Appends at the MRU end of a queue. */
  #append(queue: number, slot: number): void {
    const head = this.#head + queue
    const last = this.#prev[head]!
    this.#next[last] = slot
    this.#prev[slot] = last
    this.#next[slot] = head
    this.#prev[head] = slot
  }
}

export class WTinyLfuPolicy implements Policy {
  readonly cache: WTinyLfu

  constructor(capacity: number, options: { doorkeeper: boolean; adaptive: boolean }) {
    this.cache = new WTinyLfu(capacity, options)
  }

  replay(ids: Int32Array, keys: readonly string[]): number {
    const cache = this.cache
    let hits = 0
    for (let i = 0; i < ids.length; i++) {
      const key = keys[ids[i]!]!
      if (cache.get(key) !== undefined) hits++
      else cache.set(key, { value: VALUE, hash: 0 })
    }
    return hits
  }
}

/**
 * Belady's MIN with bypass: on a miss, keep the key only if it is used again, and evict the
 * resident key whose next use is furthest away. The best any policy can do on the trace.
 */

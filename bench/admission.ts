/**
 * Does a frequency-aware admission policy (W-TinyLFU) earn its cost in L1? (issue 2, section 2)
 *
 *   npx tsx bench/admission.ts           500 k keys, 1 M accesses per trace (~40 s)
 *   npx tsx bench/admission.ts --quick   150 k keys, 300 k accesses (~10 s, smoke test)
 *   npx tsx bench/admission.ts --big     the issue's sizes: 1 M keys, 2 M accesses (~1.5 min)
 *   --runs=N                             timed replays per policy and trace (default 1)
 *   --doorkeeper                         also run W-TinyLFU with a doorkeeper
 *   --shift-width=N --shift-uses=N       shape of the shifting trace (defaults 1 and 8, see there)
 *
 * Compares, at the same entry capacity (1% and 10% of the key space), on the same seeded
 * synthetic traces:
 *
 * - `lru`: plain `lru-cache` 11 (what L1 uses today): `get`, and `set` on a miss.
 * - `lru+tlfu`: TinyLFU admission in front of the same `lru-cache` (no window): on a miss with a
 *   full cache the candidate is stored only if its estimated frequency beats the LRU victim's.
 *   The cheapest thing L1 could adopt without replacing its store.
 * - `w-tinylfu`: a compact W-TinyLFU cache (Einziger, Friedman, Manes, "TinyLFU: A Highly Efficient
 *   Cache Admission Policy", ACM ToS 2017; Caffeine's layout): a 1% window LRU, a main segmented LRU
 *   (20% probation, 80% protected), a 4-bit count-min sketch (4 counters in one 64-byte block,
 *   halved every 10 x capacity increments), Caffeine's random admission of hot-but-losing
 *   candidates (hash-flooding guard).
 * - `w-tinylfu+hc`: the same with Caffeine's hill climber resizing the window (one step per
 *   10 x capacity requests, so it needs long traces to move far).
 * - `w-tinylfu+dk` (`--doorkeeper`): the same with a doorkeeper Bloom filter before the sketch.
 * - `opt`: Belady's clairvoyant policy (with bypass), the upper bound for any policy.
 *
 * Every access is "get-or-admit": a get, and on a miss a set (which a TinyLFU policy may refuse),
 * with `product:<id>` string keys and a freshly allocated entry per fill, as L1 does. Hit ratios
 * are exact and repeatable (seeded PRNG, no time dependence). Cost is process CPU time per access
 * over the whole replay (misses' sets and evictions included, no loader), fastest of the timed
 * replays with policies interleaved; a second table times the hit path alone, all keys resident.
 * Costs are noisy on a shared machine (a VM's CPU time includes time stolen by the host): compare
 * policies within one run, and use --runs=3 for anything you quote. Results go to
 * `bench/results/admission.json`.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { LRUCache } from 'lru-cache'

const QUICK = process.argv.includes('--quick')

function numberOption(name: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`))
  const value = arg === undefined ? fallback : Number(arg.slice(name.length + 3))
  if (!(value > 0)) throw new Error(`--${name} must be a positive number`)
  return value
}
/** `--big`: the issue's sizes (1 M keys, 2 M accesses); about 1.5 minutes. */
const BIG = process.argv.includes('--big')
const MODE = QUICK ? 'quick' : BIG ? 'big' : 'default'
const KEYSPACE = QUICK ? 150_000 : BIG ? 1_000_000 : 500_000
/** Accesses per trace: twice the key space. */
const ACCESSES = 2 * KEYSPACE
const CAPACITY_FRACTIONS = [0.01, 0.1] as const
/** Timed replays per policy and trace (`--runs=`, default 1); the first gives the hit ratio. */
const TIMING_RUNS = Math.round(numberOption('runs', 1))
/** The hit-path table: short rounds, many of them, so paired rounds see the same machine load. */
const HIT_PATH_CHUNK = 100_000
const HIT_PATH_ROUNDS = QUICK ? 11 : 41
/** `--doorkeeper`: also run W-TinyLFU with a doorkeeper (hit ratios within ~0.5 points). */
const DOORKEEPER = process.argv.includes('--doorkeeper')
const SEED = 20_170_501

/** Shifting trace: working-set size as a multiple of the capacity (`--shift-width=`, default 1). */
const SHIFT_WIDTH = numberOption('shift-width', 1)
/** Shifting trace: mean accesses per key over its life (`--shift-uses=`, default 8). */
const SHIFT_USES = numberOption('shift-uses', 8)

// ---------------------------------------------------------------------------------------------
// Seeded PRNG (sfc32) and traces

class Rng {
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
class Zipf {
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

function permutation(n: number, rng: Rng): Int32Array {
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

interface Trace {
  name: string
  description: string
  capacity: number
  ids: Int32Array
}

/** Zipf(s) over the whole key space; popularity ranks are shuffled over key ids. */
function zipfTrace(s: number, rng: Rng, perm: Int32Array): Int32Array {
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
function scanTrace(capacity: number, rng: Rng, perm: Int32Array, zipf: Zipf): Int32Array {
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
function shiftingTrace(capacity: number, rng: Rng): Int32Array {
  const width = Math.max(1, Math.round(SHIFT_WIDTH * capacity))
  const ids = new Int32Array(ACCESSES)
  for (let i = 0; i < ACCESSES; i++) ids[i] = Math.floor(i / SHIFT_USES) + rng.int(width)
  return ids
}

/** `product:<id>` strings for every id a trace uses, built once. */
const keyStrings: string[] = []
function keysUpTo(maxId: number): string[] {
  for (let i = keyStrings.length; i <= maxId; i++) keyStrings.push(`product:${i}`)
  return keyStrings
}

// ---------------------------------------------------------------------------------------------
// Frequency sketch

/** 32-bit FNV-1a of a string, finished with murmur3's fmix32. */
function hashString(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h | 0
}

function rehash(h: number): number {
  h = Math.imul(h, 0x31848bab)
  h ^= h >>> 14
  return h | 0
}

function nextPowerOfTwo(n: number): number {
  return n <= 1 ? 1 : 2 ** Math.ceil(Math.log2(n))
}

/**
 * Count-min sketch of 4-bit counters, depth 4, Caffeine's block layout: a key's 4 counters lie in
 * one 64-byte block (16 words of 8 counters; counter i in words 4i..4i+3). 2 x nextPow2(capacity)
 * words in all (16 counters per entry). Every `10 x capacity` increments all counters are halved
 * ("reset"), so old popularity fades. The optional doorkeeper (a Bloom filter, cleared on reset)
 * absorbs each key's first occurrence so one-hit wonders never reach the counters.
 */
class FrequencySketch {
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
function admit(candidateFreq: number, victimFreq: number, rng: Rng): boolean {
  if (candidateFreq > victimFreq) return true
  if (candidateFreq >= 6) return (rng.u32() & 127) === 0
  return false
}

// ---------------------------------------------------------------------------------------------
// Policies. Each replays a trace in its own loop so every call site stays monomorphic.

/** What a cache stores per key, like L1's `L1Entry` (allocated on every fill, for every policy). */
interface Entry {
  readonly value: unknown
  /** Key hash kept with the entry so a hit needs no rehash (0 when unused). */
  readonly hash: number
}

const VALUE = { id: 42, name: 'Ergonomic Steel Chair' }

interface Policy {
  replay(ids: Int32Array, keys: readonly string[]): number
}

class LruPolicy implements Policy {
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
class LruTinyLfuPolicy implements Policy {
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

const WINDOW = 0
const PROBATION = 1
const PROTECTED = 2

/** Caffeine's hill climber constants (BoundedLocalCache). */
const CLIMBER_STEP_PERCENT = 0.0625
const CLIMBER_STEP_DECAY = 0.98
const CLIMBER_RESTART_THRESHOLD = 0.05

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
class WTinyLfu {
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

class WTinyLfuPolicy implements Policy {
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
function optimalHits(ids: Int32Array, capacity: number): number {
  const n = ids.length
  const NEVER = 0x7fffffff
  let maxId = 0
  for (let i = 0; i < n; i++) if (ids[i]! > maxId) maxId = ids[i]!
  const nextUse = new Int32Array(n)
  const seen = new Int32Array(maxId + 1).fill(NEVER)
  for (let i = n - 1; i >= 0; i--) {
    const id = ids[i]!
    nextUse[i] = seen[id]!
    seen[id] = i
  }
  // resident[id] = position of the key's next use while it is cached, -1 otherwise
  const resident = seen.fill(-1)
  // max-heap of next-use positions (each position is unique); stale entries skipped lazily
  const heap = new Int32Array(n + 1)
  let heapSize = 0
  const push = (v: number): void => {
    let i = heapSize++
    while (i > 0) {
      const parent = (i - 1) >>> 1
      if (heap[parent]! >= v) break
      heap[i] = heap[parent]!
      i = parent
    }
    heap[i] = v
  }
  const pop = (): number => {
    const top = heap[0]!
    const last = heap[--heapSize]!
    let i = 0
    for (;;) {
      let child = 2 * i + 1
      if (child >= heapSize) break
      if (child + 1 < heapSize && heap[child + 1]! > heap[child]!) child++
      if (heap[child]! <= last) break
      heap[i] = heap[child]!
      i = child
    }
    heap[i] = last
    return top
  }
  let size = 0
  let hits = 0
  for (let i = 0; i < n; i++) {
    const id = ids[i]!
    const next = nextUse[i]!
    if (resident[id] !== -1) {
      hits++
      if (next === NEVER) {
        resident[id] = -1
        size--
      } else {
        resident[id] = next
        push(next)
      }
      continue
    }
    if (next === NEVER) continue
    if (size >= capacity) {
      // the furthest next use among residents and the newcomer; the newcomer may be bypassed
      let furthest = -1
      while (heapSize > 0) {
        const top = heap[0]!
        if (resident[ids[top]!] === top) {
          furthest = top
          break
        }
        pop()
      }
      if (furthest !== -1 && furthest > next) {
        pop()
        resident[ids[furthest]!] = -1
        size--
      } else continue
    }
    resident[id] = next
    push(next)
    size++
  }
  return hits
}

// ---------------------------------------------------------------------------------------------
// Measurement

interface PolicyDef {
  name: string
  make(capacity: number): Policy
}

const POLICIES: PolicyDef[] = [
  { name: 'lru', make: (c) => new LruPolicy(c) },
  { name: 'lru+tlfu', make: (c) => new LruTinyLfuPolicy(c) },
  { name: 'w-tinylfu', make: (c) => new WTinyLfuPolicy(c, { doorkeeper: false, adaptive: false }) },
  {
    name: 'w-tinylfu+hc',
    make: (c) => new WTinyLfuPolicy(c, { doorkeeper: false, adaptive: true }),
  },
]
if (DOORKEEPER) {
  POLICIES.push({
    name: 'w-tinylfu+dk',
    make: (c) => new WTinyLfuPolicy(c, { doorkeeper: true, adaptive: false }),
  })
}

interface Row {
  trace: string
  capacity: number
  capacityPct: number
  policy: string
  accesses: number
  hits: number
  hitRatio: number
  /** Fastest replay's CPU time (user + system, this process) per access, ns; null for `opt`. */
  cpuNsPerOp: number | null
  cpuNsPerOpMedian: number | null
  /** Median over replays of this policy's CPU time / lru's in the same round; null for `opt`. */
  ratioToLru: number | null
  /** Fastest replay's wall time per access, ns. */
  wallNsPerOp: number | null
  cpuNsPerOpRuns: number[]
  /** Final window size of an adaptive policy (entries). */
  finalWindow?: number
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >>> 1
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

setFlagsFromString('--expose-gc')
/** A full GC before each timed replay, so a policy is not billed for its predecessor's garbage. */
const collectGarbage = runInNewContext('gc') as () => void

/**
 * Replays `ids` once. CPU time, not wall time, is the cost measure: the machine this runs on is
 * shared, and CPU time does not count the time other processes hold the core (it does count this
 * process's GC threads, a real cost of the allocating policies).
 */
function timeReplay(policy: Policy, ids: Int32Array, keys: readonly string[], gc = true) {
  if (gc) collectGarbage()
  const cpu0 = process.cpuUsage()
  const wall0 = process.hrtime.bigint()
  const hits = policy.replay(ids, keys)
  const wall = Number(process.hrtime.bigint() - wall0)
  const cpu = process.cpuUsage(cpu0)
  return { hits, cpuNs: ((cpu.user + cpu.system) * 1000) / ids.length, wallNs: wall / ids.length }
}

function measureTrace(trace: Trace, keys: readonly string[]): Row[] {
  const runs = new Map<
    string,
    { hits: number; cpu: number[]; wall: number[]; finalWindow: number | undefined }
  >()
  for (let run = 0; run < TIMING_RUNS; run++) {
    // rotate the order so no policy always runs first (or right after a GC-heavy neighbour)
    for (let k = 0; k < POLICIES.length; k++) {
      const def = POLICIES[(k + run) % POLICIES.length]!
      const policy = def.make(trace.capacity)
      const { hits, cpuNs, wallNs } = timeReplay(policy, trace.ids, keys)
      const finalWindow = policy instanceof WTinyLfuPolicy ? policy.cache.windowMax : undefined
      const prior = runs.get(def.name)
      if (prior === undefined)
        runs.set(def.name, { hits, cpu: [cpuNs], wall: [wallNs], finalWindow })
      else {
        if (prior.hits !== hits)
          throw new Error(`${def.name} is not deterministic on ${trace.name}`)
        prior.cpu.push(cpuNs)
        prior.wall.push(wallNs)
      }
    }
  }
  const base = {
    trace: trace.name,
    capacity: trace.capacity,
    capacityPct: (100 * trace.capacity) / KEYSPACE,
    accesses: trace.ids.length,
  }
  const lruRuns = runs.get('lru')!.cpu
  const rows: Row[] = POLICIES.map((def) => {
    const r = runs.get(def.name)!
    const row: Row = {
      ...base,
      policy: def.name,
      hits: r.hits,
      hitRatio: r.hits / trace.ids.length,
      cpuNsPerOp: Math.min(...r.cpu),
      cpuNsPerOpMedian: median(r.cpu),
      ratioToLru: median(r.cpu.map((ns, i) => ns / lruRuns[i]!)),
      wallNsPerOp: Math.min(...r.wall),
      cpuNsPerOpRuns: r.cpu,
    }
    if (r.finalWindow !== undefined) row.finalWindow = r.finalWindow
    return row
  })
  const opt = optimalHits(trace.ids, trace.capacity)
  rows.push({
    ...base,
    policy: 'opt',
    hits: opt,
    hitRatio: opt / trace.ids.length,
    cpuNsPerOp: null,
    cpuNsPerOpMedian: null,
    ratioToLru: null,
    wallNsPerOp: null,
    cpuNsPerOpRuns: [],
  })
  return rows
}

interface HitPathRow {
  policy: string
  capacity: number
  resident: number
  cpuNsPerGet: number
  cpuNsPerGetMedian: number
  /** Median over rounds of this policy's time / lru's time in the same round. */
  ratioToLru: number
  cpuNsPerGetRuns: number[]
}

/**
 * The hit path alone: `capacity / 2` keys, all resident (no policy evicts below capacity), read
 * with Zipf(1.0) gets in short interleaved rounds: fastest round's CPU ns per get, and the median
 * of per-round ratios to lru-cache's `get` (robust to load that shifts between rounds).
 */
function measureHitPath(capacity: number, keys: readonly string[], rng: Rng): HitPathRow[] {
  const resident = capacity >>> 1
  const zipf = new Zipf(resident, 1.0)
  const ids = new Int32Array(HIT_PATH_CHUNK)
  for (let i = 0; i < ids.length; i++) ids[i] = zipf.sample(rng)
  const fill = new Int32Array(resident)
  for (let i = 0; i < resident; i++) fill[i] = i
  const policies = POLICIES.map((def) => {
    const policy = def.make(capacity)
    policy.replay(fill, keys)
    for (let i = 0; i < 2; i++) policy.replay(ids, keys) // warm-up: let the JIT settle
    return { def, policy, samples: [] as number[] }
  })
  for (let round = 0; round < HIT_PATH_ROUNDS; round++) {
    for (let k = 0; k < policies.length; k++) {
      const p = policies[(k + round) % policies.length]!
      const { hits, cpuNs } = timeReplay(p.policy, ids, keys, false)
      if (hits !== ids.length) throw new Error(`${p.def.name}: the hit-path trace missed`)
      p.samples.push(cpuNs)
    }
  }
  const lru = policies.find((p) => p.def.name === 'lru')!.samples
  return policies.map((p) => ({
    policy: p.def.name,
    capacity,
    resident,
    cpuNsPerGet: Math.min(...p.samples),
    cpuNsPerGetMedian: median(p.samples),
    ratioToLru: median(p.samples.map((ns, i) => ns / lru[i]!)),
    cpuNsPerGetRuns: p.samples,
  }))
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length)
}
function lpad(s: string, n: number): string {
  return s.length >= n ? s : ' '.repeat(n - s.length) + s
}
function signed(x: number, digits: number): string {
  return `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`
}

function buildTraces(): Trace[] {
  const rng = new Rng(SEED)
  const perm = permutation(KEYSPACE, rng)
  const zipf10 = new Zipf(KEYSPACE, 1.0)
  const traces: Trace[] = []
  for (const fraction of CAPACITY_FRACTIONS) {
    const capacity = Math.round(KEYSPACE * fraction)
    for (const s of [0.8, 1.0, 1.2]) {
      traces.push({
        name: `zipf-${s.toFixed(1)}`,
        description: `Zipf(${s}) over ${KEYSPACE} keys`,
        capacity,
        ids: zipfTrace(s, new Rng(SEED + Math.round(s * 10)), perm),
      })
    }
    traces.push({
      name: 'scan',
      description: `Zipf(1.0) over ${KEYSPACE} keys in segments of ${2 * capacity} accesses, each followed by a one-off scan of ${capacity} fresh keys`,
      capacity,
      ids: scanTrace(capacity, new Rng(SEED + 1000 + capacity), perm, zipf10),
    })
    traces.push({
      name: 'shifting',
      description: `uniform over a window of ${Math.round(SHIFT_WIDTH * capacity)} consecutive keys sliding by 1 fresh key every ${SHIFT_USES} accesses`,
      capacity,
      ids: shiftingTrace(capacity, new Rng(SEED + 2000 + capacity)),
    })
  }
  return traces
}

function main(): void {
  const started = Date.now()
  const traces = buildTraces()
  let maxId = KEYSPACE
  for (const t of traces)
    for (let i = 0; i < t.ids.length; i++) if (t.ids[i]! > maxId) maxId = t.ids[i]!
  const keys = keysUpTo(maxId)

  // JIT warm-up on a small trace
  const warm = traces[1]!.ids.subarray(0, 200_000)
  for (let r = 0; r < 2; r++) for (const def of POLICIES) def.make(2_000).replay(warm, keys)

  console.log(
    `admission bench (${MODE}): ${KEYSPACE} keys, ${ACCESSES} accesses per trace, capacities ${CAPACITY_FRACTIONS.map((f) => `${f * 100}%`).join(' and ')}, ${TIMING_RUNS} timed replay(s) per policy, node ${process.version}`,
  )
  // The hit path first, before the trace replays churn the heap.
  const hitPath = CAPACITY_FRACTIONS.flatMap((f) =>
    measureHitPath(Math.round(KEYSPACE * f), keys, new Rng(SEED + 3000)),
  )

  const rows: Row[] = []
  for (const trace of traces) {
    const t0 = Date.now()
    const traceRows = measureTrace(trace, keys)
    rows.push(...traceRows)
    const summary = traceRows.map((r) => `${r.policy} ${(100 * r.hitRatio).toFixed(1)}%`).join('  ')
    console.log(
      `  ${pad(trace.name, 9)} C=${pad(String(trace.capacity), 7)} ${summary}  (${Date.now() - t0} ms)`,
    )
  }

  // ---- tables
  const names = POLICIES.map((p) => p.name)
  const w = 14
  const rowOf = (trace: Trace, policy: string) =>
    rows.find(
      (r) => r.trace === trace.name && r.capacity === trace.capacity && r.policy === policy,
    )!
  const label = (trace: Trace) =>
    `${pad(trace.name, 10)}${pad(`${((100 * trace.capacity) / KEYSPACE).toFixed(0)}% ${trace.capacity}`, 10)}`

  console.log('\nHit ratio, % of accesses (opt = Belady, the upper bound)')
  console.log(
    `${pad('trace', 10)}${pad('capacity', 10)}${[...names, 'opt'].map((n) => lpad(n, w)).join('')}${lpad('w-tlfu - lru', w)}${lpad('+hc - lru', w)}`,
  )
  for (const trace of traces) {
    const lru = rowOf(trace, 'lru').hitRatio
    console.log(
      `${label(trace)}${[...names, 'opt'].map((n) => lpad((100 * rowOf(trace, n).hitRatio).toFixed(2), w)).join('')}${lpad(signed(100 * (rowOf(trace, 'w-tinylfu').hitRatio - lru), 2), w)}${lpad(signed(100 * (rowOf(trace, 'w-tinylfu+hc').hitRatio - lru), 2), w)}`,
    )
  }

  const cw = 16
  const cell = (ns: number, ratio: number) => lpad(`${ns.toFixed(0)} ${ratio.toFixed(2)}x`, cw)
  console.log(
    `\nCPU ns per access (get, and set on a miss) replaying the same trace, fastest of ${TIMING_RUNS}; x = vs lru in the same round`,
  )
  console.log(`${pad('trace', 10)}${pad('capacity', 10)}${names.map((n) => lpad(n, cw)).join('')}`)
  for (const trace of traces) {
    console.log(
      `${label(trace)}${names.map((n) => cell(rowOf(trace, n).cpuNsPerOp!, rowOf(trace, n).ratioToLru!)).join('')}`,
    )
  }

  const adaptive = rows.filter((r) => r.policy === 'w-tinylfu+hc')
  console.log(
    `\nw-tinylfu+hc window at the end of each trace (starts at 1%; one step per 10 x capacity requests): ${adaptive.map((r) => `${r.trace}@${r.capacity} ${((100 * r.finalWindow!) / r.capacity).toFixed(1)}%`).join(', ')}`,
  )

  console.log(
    `\nHit path only: capacity / 2 keys resident, Zipf(1.0) gets; CPU ns per get, fastest of ${HIT_PATH_ROUNDS} rounds of ${HIT_PATH_CHUNK}; x = median ratio to lru in the same round`,
  )
  console.log(`${pad('capacity', 20)}${names.map((n) => lpad(n, cw)).join('')}`)
  for (const f of CAPACITY_FRACTIONS) {
    const capacity = Math.round(KEYSPACE * f)
    const mine = hitPath.filter((h) => h.capacity === capacity)
    const get = (n: string) => mine.find((h) => h.policy === n)!
    console.log(
      `${pad(String(capacity), 20)}${names.map((n) => lpad(`${get(n).cpuNsPerGet.toFixed(1)} ${get(n).ratioToLru.toFixed(2)}x`, cw)).join('')}`,
    )
  }

  const here = dirname(fileURLToPath(import.meta.url))
  const out = join(here, 'results', 'admission.json')
  mkdirSync(dirname(out), { recursive: true })
  writeFileSync(
    out,
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        node: process.version,
        mode: MODE,
        seed: SEED,
        keyspace: KEYSPACE,
        accesses: ACCESSES,
        timedReplays: TIMING_RUNS,
        costMeasure:
          'process CPU time (user + system) per access, fastest of the timed replays (median kept too)',
        policies: {
          lru: 'lru-cache 11, get then set on a miss',
          'lru+tlfu': 'TinyLFU admission (count-min sketch, no window) in front of lru-cache',
          'w-tinylfu':
            'W-TinyLFU: 1% window LRU, SLRU main 20/80, 4-bit CM sketch reset at 10x capacity',
          'w-tinylfu+hc': 'w-tinylfu with Caffeine hill-climbing window (sample 10x capacity)',
          'w-tinylfu+dk': 'w-tinylfu with a doorkeeper Bloom filter (only with --doorkeeper)',
          opt: 'Belady MIN with bypass (upper bound)',
        },
        traces: traces.map((t) => ({
          name: t.name,
          capacity: t.capacity,
          description: t.description,
        })),
        results: rows,
        hitPath,
        elapsedMs: Date.now() - started,
      },
      null,
      2,
    )}\n`,
  )
  console.log(`\nwrote ${out} (${((Date.now() - started) / 1000).toFixed(1)} s)`)
}

main()

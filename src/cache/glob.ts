/**
 * Redis-style globs matched in linear time, with the semantics of Redis's own matcher
 * (`stringmatchlen`), so that L1 drops exactly the keys `SCAN MATCH` finds in L2:
 *
 * - `*` any run of bytes, `?` one byte, `\x` the byte `x`;
 * - `[abc]`, `[^abc]`, ranges `[a-z]` (reversed ones too: `[z-a]` is `[a-z]`), `\]` inside a
 *   class; `[]` matches nothing, and a class left open runs to the end of the pattern;
 * - keys and patterns are compared as UTF-8 bytes (a non-ASCII character is several bytes to `?`),
 *   range ends as signed chars, as Redis on x86 compares them.
 *
 * A compiled glob is a row of one-byte steps with loops where the stars are, run as a bit-parallel
 * automaton: each byte of a key costs one pass over ⌈steps / 31⌉ words, whatever the pattern.
 * Translating globs to a RegExp (as this module once did) made `*a*a*a*a*a*a*b` take seconds on a
 * 60-character key, on every instance the pattern reached through the bus.
 */
import { invalid } from '../errors.js'
import type { L1Store } from './l1-store.js'
import type { L2Tier } from './store-types.js'

/** Longest glob accepted, in characters. Bounds the words a step costs (⌈1024 / 31⌉ = 34). */
export const MAX_GLOB_LENGTH = 1024

const WORD_BITS = 31
const NON_ASCII = /[\u0080-\uffff]/

/** `text` as a string of its UTF-8 bytes (one char per byte), as Redis compares them. */
function bytesOf(text: string): string {
  return NON_ASCII.test(text) ? Buffer.from(text, 'utf8').toString('latin1') : text
}

/** A byte as a signed C char (-128 to 127). */
function signed(byte: number): number {
  return byte >= 0x80 ? byte - 0x100 : byte
}

/** One-byte steps and the star loops between them, as bit masks over the steps' positions. */
interface Automaton {
  /** Words per state set. */
  readonly words: number
  /** For each byte value, the steps (bit `j`: the step from position `j`) it can take. */
  readonly accepts: Int32Array
  /** Positions with a star loop (any byte keeps the match there). */
  readonly loops: Int32Array
  /** Position reached once every step is taken. */
  readonly final: number
}

/**
 * Compiles a glob, reading its classes and escapes exactly as Redis does.
 *
 * @throws ValidationError (`pattern`) when it is empty or longer than {@link MAX_GLOB_LENGTH}.
 */
function compile(glob: string): Automaton {
  if (typeof glob !== 'string' || glob.length === 0) {
    throw invalid('pattern', 'must be a non-empty glob string')
  }
  if (glob.length > MAX_GLOB_LENGTH) {
    throw invalid(
      'pattern',
      `is ${glob.length} characters; globs are limited to ${MAX_GLOB_LENGTH}`,
    )
  }
  const p = bytesOf(glob)
  const n = p.length
  /** Per step: the ranges of signed bytes it accepts, and whether they are negated. */
  const steps: { ranges: number[]; negate: boolean }[] = []
  const loopAt: boolean[] = [false]
  for (let i = 0; i < n; ) {
    const c = p.charCodeAt(i)
    if (c === 0x2a /* * */) {
      loopAt[steps.length] = true
      i++
      continue
    }
    if (c === 0x3f /* ? */) {
      steps.push({ ranges: [-128, 127], negate: false })
      i++
    } else if (c === 0x5b /* [ */) {
      i++
      const negate = i < n && p.charCodeAt(i) === 0x5e /* ^ */
      if (negate) i++
      const ranges: number[] = []
      for (;;) {
        if (i >= n) break // a class left open ends with the pattern
        const d = p.charCodeAt(i)
        if (d === 0x5c /* \ */ && n - i >= 2) {
          i++
          ranges.push(signed(p.charCodeAt(i)), signed(p.charCodeAt(i)))
        } else if (d === 0x5d /* ] */) {
          i++
          break
        } else if (n - i >= 3 && p.charCodeAt(i + 1) === 0x2d /* - */) {
          // Redis compares range ends as C chars, signed on x86: bytes 0x80-0xFF come before 0.
          const from = signed(d)
          const to = signed(p.charCodeAt(i + 2))
          ranges.push(Math.min(from, to), Math.max(from, to))
          i += 2
        } else {
          ranges.push(signed(d), signed(d))
        }
        i++
      }
      steps.push({ ranges, negate })
    } else {
      const literal = c === 0x5c /* \ */ && n - i >= 2 ? p.charCodeAt(++i) : c
      steps.push({ ranges: [signed(literal), signed(literal)], negate: false })
      i++
    }
    loopAt[steps.length] = false
  }
  const positions = steps.length + 1
  const words = Math.ceil(positions / WORD_BITS)
  const accepts = new Int32Array(256 * words)
  const loops = new Int32Array(words)
  for (let j = 0; j < steps.length; j++) {
    const { ranges, negate } = steps[j]!
    const word = (j / WORD_BITS) | 0
    const bit = 1 << (j % WORD_BITS)
    for (let byte = 0; byte < 256; byte++) {
      const value = signed(byte)
      let inside = false
      for (let r = 0; r < ranges.length && !inside; r += 2) {
        inside = value >= ranges[r]! && value <= ranges[r + 1]!
      }
      if (inside !== negate) accepts[byte * words + word]! |= bit
    }
  }
  for (let j = 0; j < positions; j++) {
    if (loopAt[j]) loops[(j / WORD_BITS) | 0]! |= 1 << (j % WORD_BITS)
  }
  return { words, accepts, loops, final: steps.length }
}

/** Runs the automaton over `key`'s bytes: one pass over the state words per byte. */
function run(a: Automaton, key: string): boolean {
  const text = bytesOf(key)
  // Redis matches the empty string against the empty pattern only, and globs are never empty.
  if (text.length === 0) return false
  const { words, accepts, loops } = a
  let state = new Int32Array(words)
  let next = new Int32Array(words)
  state[0] = 1
  for (let i = 0; i < text.length; i++) {
    const row = (text.charCodeAt(i) & 0xff) * words
    let carry = 0
    let alive = 0
    for (let w = 0; w < words; w++) {
      const stepped = state[w]! & accepts[row + w]!
      // A step moves a position one bit up; bit 30 carries into the next word's bit 0.
      const moved = ((stepped << 1) & 0x7fffffff) | carry
      carry = (stepped >>> (WORD_BITS - 1)) & 1
      const kept = moved | (state[w]! & loops[w]!)
      next[w] = kept
      alive |= kept
    }
    if (alive === 0) return false
    const swap = state
    state = next
    next = swap
  }
  return (state[(a.final / WORD_BITS) | 0]! & (1 << (a.final % WORD_BITS))) !== 0
}

/**
 * A predicate on keys for a glob, in linear time.
 *
 * @throws ValidationError (`pattern`) for an empty glob or one over {@link MAX_GLOB_LENGTH}.
 */
export function globMatcher(glob: string): (key: string) => boolean {
  const automaton = compile(glob)
  return (key) => run(automaton, key)
}

/**
 * A predicate on keys for a glob, or for a caller's own RegExp, tested as given (`lastIndex`
 * neutralised): its cost is the caller's, bounded only by the key length. A RegExp never comes
 * from another instance (see `bus-link.ts`).
 */
export function keyMatcher(pattern: string | RegExp): (key: string) => boolean {
  if (typeof pattern === 'string') return globMatcher(pattern)
  return (key) => {
    pattern.lastIndex = 0
    return pattern.test(key)
  }
}

/** Keys per batch of an L1 listing: as many as one SCAN step of the Redis driver asks for. */
const L1_BATCH = 1000

/**
 * `CacheManager.scanKeys`: the keys matching the glob `pattern`, in batches. L2's, one batch per
 * SCAN step, while L2 is in use and can list; otherwise L1's, in batches of {@link L1_BATCH}.
 *
 * @throws ValidationError (`pattern`) for an empty glob or one over 1024 characters.
 */
export function listKeys(
  tiers: { l1: L1Store | undefined; l2: L2Tier | undefined },
  pattern: string,
): AsyncGenerator<string[], void, undefined> {
  const matches = globMatcher(pattern)
  return tiers.l2?.scanKeys?.(pattern) ?? listL1(tiers.l1, matches)
}

async function* listL1(
  l1: L1Store | undefined,
  matches: (key: string) => boolean,
): AsyncGenerator<string[], void, undefined> {
  if (l1 === undefined) return
  // Taken at once: the reads a consumer makes between batches promote and evict entries, which
  // an iterator over the LRU's own list would not survive.
  const keys: string[] = []
  for (const key of l1.keys()) if (matches(key)) keys.push(key)
  for (let i = 0; i < keys.length; i += L1_BATCH) yield keys.slice(i, i + L1_BATCH)
}

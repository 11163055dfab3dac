import { CorruptedValueError } from '../errors.js'
import {
  COMPRESSED_HEADER_BYTES,
  DEFAULT_MAX_VALUE_BYTES,
  FLAG_DEFLATE,
  HEADER_BYTES,
  KNOWN_FLAGS,
  MAGIC,
  readStamp,
  VERSION,
  zlibModule,
} from './entry-format.js'
import { packr } from './msgpack.js'
import { checkDecoded } from './packable.js'
import { messageOf } from './value-path.js'

/*
 * Reading an L2 entry (the layout is in entry-format.ts): nothing Redis holds is trusted, so
 * anything but a whole, well-formed entry or a native integer is a CorruptedValueError (a miss).
 */

/** An entry read back from L2. `value` is private to the caller (nothing aliases the input bytes). */
export interface DecodedEntry {
  value: unknown
  /** Epoch ms after which the entry is stale (`Infinity` = never). */
  freshUntil: number
  tags: readonly string[]
  /** True for a value a native Redis command wrote (an `INCRBY` counter), not an encoded entry. */
  native: boolean
  /** Encoded bytes, as stored. */
  size: number
  /** The write stamp (hex), unique per write; `''` for native values. */
  stamp: string
  /** How long the loader took, in ms (0 when unknown). */
  loadMs: number
}

/**
 * Decodes what L2 holds at `key`: an entry written by {@link encodeEntry}, or the ASCII integer a
 * native `INCRBY` leaves (`"42"`, `"-3"`), returned as `{ value: 42, freshUntil: Infinity,
 * tags: [], native: true }` (precision is lost past 2^53, as `increment()` loses it).
 *
 * @throws CorruptedValueError for anything else (another application's JSON, wrong magic byte,
 *   unknown version or flags, truncation, inflate failure, malformed msgpack, trailing bytes, an
 *   unregistered custom type name, a body larger than `maxValueBytes` once inflated, references
 *   or cycles, nesting deeper than the cache writes, a type it never writes). It never throws
 *   anything else and never returns a value it did not fully decode.
 */
export function decodeEntry(
  bytes: Uint8Array,
  key: string,
  maxValueBytes = DEFAULT_MAX_VALUE_BYTES,
): DecodedEntry {
  const size = bytes.length
  if (size === 0) throw new CorruptedValueError(key, 'empty value')
  const first = bytes[0]!
  if (first !== MAGIC) {
    if (first === 0x2d || (first >= 0x30 && first <= 0x39)) return decodeNative(bytes, key)
    throw new CorruptedValueError(key, `not a stratacache entry (${describeForeign(bytes)})`)
  }
  if (size < HEADER_BYTES) throw new CorruptedValueError(key, 'truncated header')
  const version = bytes[1]! >> 4
  const flags = bytes[1]! & 0x0f
  if (version !== VERSION) {
    throw new CorruptedValueError(
      key,
      `unsupported format version ${version} (this reader knows ${VERSION})`,
    )
  }
  if ((flags & ~KNOWN_FLAGS) !== 0) {
    throw new CorruptedValueError(key, `unknown flags 0x${flags.toString(16)}`)
  }
  const input = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, size)
  // A Buffer body, so that msgpack binaries decode as Buffer (from a Uint8Array they would not).
  const compressed = (flags & FLAG_DEFLATE) !== 0
  if (!compressed && size - HEADER_BYTES > maxValueBytes) {
    throw new CorruptedValueError(key, `${size - HEADER_BYTES} bytes, more than maxValueBytes`)
  }
  const body = compressed ? inflate(input, key, maxValueBytes) : input.subarray(HEADER_BYTES)
  let tuple: unknown
  try {
    tuple = packr().unpack(body)
    if (Array.isArray(tuple)) checkDecoded(tuple[0])
  } catch (error) {
    throw new CorruptedValueError(key, `undecodable msgpack: ${messageOf(error)}`, error)
  }
  if (!Array.isArray(tuple) || tuple.length !== 4) {
    throw new CorruptedValueError(key, 'not an entry tuple [value, freshUntil, tags, loadMs]')
  }
  const loadMs: unknown = tuple[3]
  if (typeof loadMs !== 'number' || !(loadMs >= 0)) {
    throw new CorruptedValueError(key, 'loadMs is not a number >= 0')
  }
  const freshUntil: unknown = tuple[1]
  const tags: unknown = tuple[2]
  if (typeof freshUntil !== 'number' || Number.isNaN(freshUntil)) {
    throw new CorruptedValueError(key, 'freshUntil is not a number')
  }
  if (!Array.isArray(tags) || !tags.every((tag) => typeof tag === 'string')) {
    throw new CorruptedValueError(key, 'tags are not an array of strings')
  }
  return { value: tuple[0], freshUntil, tags, native: false, size, stamp: readStamp(input), loadMs }
}

function inflate(input: Buffer, key: string, maxValueBytes: number): Buffer {
  if (input.length < COMPRESSED_HEADER_BYTES) throw new CorruptedValueError(key, 'truncated header')
  const expected = input.readUInt32BE(HEADER_BYTES)
  if (expected === 0 || expected > maxValueBytes) {
    throw new CorruptedValueError(
      key,
      `implausible inflated length ${expected} (maxValueBytes is ${maxValueBytes})`,
    )
  }
  let body: Buffer
  try {
    body = zlibModule().inflateRawSync(input.subarray(COMPRESSED_HEADER_BYTES), {
      maxOutputLength: expected,
    })
  } catch (error) {
    throw new CorruptedValueError(key, `inflate failed: ${messageOf(error)}`, error)
  }
  if (body.length !== expected) {
    throw new CorruptedValueError(key, `inflated to ${body.length} bytes, header says ${expected}`)
  }
  return body
}

/** Redis integers are at most 20 characters: `-9223372036854775808`. */
const MAX_INTEGER_CHARS = 20

function decodeNative(bytes: Uint8Array, key: string): DecodedEntry {
  const size = bytes.length
  const negative = bytes[0] === 0x2d
  const start = negative ? 1 : 0
  let valid = size <= MAX_INTEGER_CHARS && size > start
  // Redis writes no leading zeros and no "-0"; anything else is not an INCRBY result.
  if (valid && bytes[start] === 0x30) valid = size === 1
  for (let i = start; valid && i < size; i++) {
    const byte = bytes[i]!
    if (byte < 0x30 || byte > 0x39) valid = false
  }
  if (!valid) {
    throw new CorruptedValueError(
      key,
      'not a stratacache entry (text, but not an integer Redis wrote)',
    )
  }
  const value = Number(Buffer.from(bytes.buffer, bytes.byteOffset, size).toString('latin1'))
  return {
    value,
    freshUntil: Number.POSITIVE_INFINITY,
    tags: [],
    native: true,
    size,
    stamp: '',
    loadMs: 0,
  }
}

function describeForeign(bytes: Uint8Array): string {
  const first = bytes[0]!
  if (first === 0x7b || first === 0x5b || first === 0x22)
    return 'looks like JSON written by another client'
  if (first >= 0x20 && first < 0x7f) return 'looks like text written by another client'
  return `unknown format, first byte 0x${first.toString(16).padStart(2, '0')}`
}

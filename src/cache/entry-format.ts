import { randomBytes } from 'node:crypto'
import { deflateRawSync, inflateRawSync, constants as zlib } from 'node:zlib'
import { ENTRY_STAMP_BYTES, ENTRY_STAMP_OFFSET } from '../drivers/l2-driver.js'
import { CorruptedValueError, invalid, SerializationError } from '../errors.js'
import { checkDecoded, packAfterHeader, packr, toPackable } from './msgpack.js'
import { messageOf } from './value-path.js'

/*
 * An L2 entry:
 *
 *   byte 0    0xC1, a byte msgpack never uses ("never used") and no text starts with, so an
 *             entry is told apart from anything another client or a native command wrote.
 *   byte 1    format version (high nibble, 2) and flags (low nibble; bit 0: deflate-raw body).
 *   bytes 2-9 the write stamp: 4 random bytes of the writing process and a 4-byte counter. Unique
 *             per write, at a fixed offset, so that strict mode can check with one small
 *             `GETRANGE key 2 9` that an L1 copy is still the value Redis holds.
 *   bytes 10-13 only when compressed: the inflated body length, uint32 big-endian. It bounds
 *             inflation (a corrupted or hostile entry cannot inflate into gigabytes) and catches
 *             truncation, which raw deflate has no checksum to catch.
 *   rest      msgpack (see ./msgpack.ts) of the tuple [value, freshUntil, tags, loadMs].
 */

const MAGIC = 0xc1
/** 2: the write stamp and loadMs were added (version 1 entries read as corrupted: a miss). */
const VERSION = 2
const FLAG_DEFLATE = 0x01
const KNOWN_FLAGS = FLAG_DEFLATE
/** Where the write stamp sits in an entry, and how long it is (drivers read it with GETRANGE). */
export const STAMP_OFFSET = ENTRY_STAMP_OFFSET
export const STAMP_BYTES = ENTRY_STAMP_BYTES
const HEADER_BYTES = STAMP_OFFSET + STAMP_BYTES
const COMPRESSED_HEADER_BYTES = HEADER_BYTES + 4
const PROCESS_STAMP = randomBytes(4)
let stampCounter = 0

/** Writes a fresh write stamp at {@link STAMP_OFFSET}. */
function stamp(out: Buffer): void {
  PROCESS_STAMP.copy(out, STAMP_OFFSET)
  stampCounter = (stampCounter + 1) >>> 0
  out.writeUInt32BE(stampCounter, STAMP_OFFSET + 4)
}

/** The write stamp of an encoded entry (or of the bytes `GETRANGE` returned), as hex. */
export function readStamp(bytes: Uint8Array, offset = STAMP_OFFSET): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + offset, STAMP_BYTES).toString('hex')
}
/**
 * Deflate level 1 (Z_BEST_SPEED). On cache payloads (JSON-like rows, repeated keys) it keeps most
 * of the ratio of the default level 6 at a fraction of the CPU; see `bench/codec.ts`.
 */
export const DEFLATE_LEVEL = zlib.Z_BEST_SPEED
/** The default largest encoded value (the cache option `maxValueBytes`): 16 MiB. */
export const DEFAULT_MAX_VALUE_BYTES = 16 * 1024 * 1024

/** What {@link encodeEntry} stores. */
export interface EntryToEncode {
  value: unknown
  /** Epoch ms after which the entry is stale; `Infinity` for never. */
  freshUntil: number
  tags: readonly string[]
  /** How long the loader took to produce the value, in ms (0 when unknown): XFetch's delta. */
  loadMs?: number
}

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
 * Encodes an entry for L2. The body is compressed with raw deflate when its msgpack form is
 * larger than `compressionThreshold` bytes, and kept compressed only if that saves space.
 *
 * @param compressionThreshold - bytes; `0` compresses every body, `Infinity` or `false` never.
 * @param maxValueBytes - the largest msgpack body accepted (readers refuse larger ones).
 * @returns a buffer to write to L2. For speed it may be a view into msgpackr's write arena: write
 *   it, or copy it before keeping it for long.
 * @throws SerializationError when the value cannot be encoded (path in `field`) or its encoded
 *   form is larger than `maxValueBytes`.
 * @throws ValidationError when `compressionThreshold`, `freshUntil` or `tags` are malformed.
 */
export function encodeEntry(
  entry: EntryToEncode,
  compressionThreshold: number | false,
  maxValueBytes = DEFAULT_MAX_VALUE_BYTES,
): Buffer {
  const { freshUntil, tags } = entry
  if (
    compressionThreshold !== false &&
    (typeof compressionThreshold !== 'number' || !(compressionThreshold >= 0))
  ) {
    throw invalid(
      'compressionThreshold',
      `must be a number >= 0 or false, got ${String(compressionThreshold)}`,
    )
  }
  if (typeof freshUntil !== 'number' || Number.isNaN(freshUntil)) {
    throw invalid('freshUntil', `must be epoch ms or Infinity, got ${String(freshUntil)}`)
  }
  if (!Array.isArray(tags) || !tags.every((tag) => typeof tag === 'string')) {
    throw invalid('tags', 'must be an array of strings')
  }
  const loadMs = entry.loadMs ?? 0
  if (typeof loadMs !== 'number' || !(loadMs >= 0)) {
    throw invalid('loadMs', `must be a number >= 0, got ${String(loadMs)}`)
  }
  const tuple = [toPackable(entry.value), freshUntil, tags, loadMs]
  let packed: Buffer
  try {
    // Reserving the header's bytes in front lets an uncompressed entry go out without a copy.
    packed = packAfterHeader(tuple, HEADER_BYTES)
  } catch (error) {
    throw new SerializationError('value', `msgpack refused it: ${messageOf(error)}`, error)
  }
  const bodyLength = packed.length - HEADER_BYTES
  if (bodyLength > maxValueBytes) {
    throw new SerializationError(
      'value',
      `encodes to ${bodyLength} bytes, more than maxValueBytes (${maxValueBytes})`,
    )
  }
  if (compressionThreshold !== false && bodyLength > compressionThreshold) {
    const deflated = deflateRawSync(packed.subarray(HEADER_BYTES), { level: DEFLATE_LEVEL })
    if (deflated.length + COMPRESSED_HEADER_BYTES < packed.length) {
      const out = Buffer.allocUnsafe(COMPRESSED_HEADER_BYTES + deflated.length)
      out[0] = MAGIC
      out[1] = (VERSION << 4) | FLAG_DEFLATE
      stamp(out)
      out.writeUInt32BE(bodyLength, HEADER_BYTES)
      deflated.copy(out, COMPRESSED_HEADER_BYTES)
      return out
    }
  }
  packed[0] = MAGIC
  packed[1] = VERSION << 4
  stamp(packed)
  return packed
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
    body = inflateRawSync(input.subarray(COMPRESSED_HEADER_BYTES), { maxOutputLength: expected })
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

/**
 * Bytes an encoded entry's body takes uncompressed: what it costs in memory once decoded, so L1
 * bounds and `averageSize` count values, not how well they compress.
 */
export function uncompressedSize(bytes: Uint8Array): number {
  if (
    bytes.length >= COMPRESSED_HEADER_BYTES &&
    bytes[0] === MAGIC &&
    (bytes[1]! & FLAG_DEFLATE) !== 0
  ) {
    return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(HEADER_BYTES)
  }
  return Math.max(0, bytes.length - HEADER_BYTES)
}

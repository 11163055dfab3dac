import type * as Zlib from 'node:zlib'
import { ENTRY_STAMP_BYTES, ENTRY_STAMP_OFFSET } from '../drivers/l2-driver.js'
import { invalid, SerializationError } from '../errors.js'
import { packageRequire } from '../module-url.js'
import { packAfterHeader, packedLength } from './msgpack.js'
import { toPackable } from './packable.js'
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
 *
 * Written here (encodeEntry, or measureEntry for a cache with no L2), read in entry-read.ts.
 */

export const MAGIC = 0xc1
/** 2: the write stamp and loadMs were added (version 1 entries read as corrupted: a miss). */
export const VERSION = 2
export const FLAG_DEFLATE = 0x01
export const KNOWN_FLAGS = FLAG_DEFLATE
/** Where the write stamp sits in an entry, and how long it is (drivers read it with GETRANGE). */
export const STAMP_OFFSET = ENTRY_STAMP_OFFSET
export const STAMP_BYTES = ENTRY_STAMP_BYTES
export const HEADER_BYTES = STAMP_OFFSET + STAMP_BYTES
export const COMPRESSED_HEADER_BYTES = HEADER_BYTES + 4
/** This process's half of every write stamp: random, drawn on first use. */
let processStamp: Buffer | undefined
let stampCounter = 0

/** The next stamp's process half, and its counter (both halves of {@link readStamp}'s hex). */
function nextStamp(): { process: Buffer; counter: number } {
  if (processStamp === undefined) {
    // Math.random, not node:crypto: the half only has to differ between processes, and V8 seeds
    // each isolate's generator from the system's entropy. Loading node:crypto would cost a
    // memory-only cache some 10 ms on its first set (see nodeCrypto).
    processStamp = Buffer.alloc(4)
    processStamp.writeUInt32BE(Math.floor(Math.random() * 0x100000000))
  }
  stampCounter = (stampCounter + 1) >>> 0
  return { process: processStamp, counter: stampCounter }
}

/** Writes a fresh write stamp at {@link STAMP_OFFSET}. */
function stamp(out: Buffer): void {
  const { process, counter } = nextStamp()
  process.copy(out, STAMP_OFFSET)
  out.writeUInt32BE(counter, STAMP_OFFSET + 4)
}

/** The write stamp of an encoded entry (or of the bytes `GETRANGE` returned), as hex. */
export function readStamp(bytes: Uint8Array, offset = STAMP_OFFSET): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + offset, STAMP_BYTES).toString('hex')
}
/**
 * Deflate level 1 (Z_BEST_SPEED). On cache payloads (JSON-like rows, repeated keys) it keeps most
 * of the ratio of the default level 6 at a fraction of the CPU; see `bench/codec.ts`.
 */
export const DEFLATE_LEVEL = 1
let zlib: typeof Zlib | undefined
/**
 * `node:zlib`, loaded by the first entry compressed or inflated: Node builds the module on first
 * use, some 10 ms of a cold start, which a cache that never compresses need not pay.
 */
export function zlibModule(): typeof Zlib {
  if (zlib === undefined) zlib = packageRequire('node:zlib') as typeof Zlib
  return zlib
}
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

/** Checks an entry's fields and returns its msgpack tuple, `[value, freshUntil, tags, loadMs]`. */
function entryTuple(entry: EntryToEncode): unknown[] {
  const { freshUntil, tags } = entry
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
  return [toPackable(entry.value), freshUntil, tags, loadMs]
}

/** Packs `tuple` behind {@link HEADER_BYTES} free bytes (for a header written in place). */
function packBody(tuple: unknown[]): Buffer {
  try {
    return packAfterHeader(tuple, HEADER_BYTES)
  } catch (error) {
    throw new SerializationError('value', `msgpack refused it: ${messageOf(error)}`, error)
  }
}

function checkBodyLength(bodyLength: number, maxValueBytes: number): void {
  if (bodyLength > maxValueBytes) {
    throw new SerializationError(
      'value',
      `encodes to ${bodyLength} bytes, more than maxValueBytes (${maxValueBytes})`,
    )
  }
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
  if (
    compressionThreshold !== false &&
    (typeof compressionThreshold !== 'number' || !(compressionThreshold >= 0))
  ) {
    throw invalid(
      'compressionThreshold',
      `must be a number >= 0 or false, got ${String(compressionThreshold)}`,
    )
  }
  // Reserving the header's bytes in front lets an uncompressed entry go out without a copy.
  const packed = packBody(entryTuple(entry))
  const bodyLength = packed.length - HEADER_BYTES
  checkBodyLength(bodyLength, maxValueBytes)
  if (compressionThreshold !== false && bodyLength > compressionThreshold) {
    const deflated = zlibModule().deflateRawSync(packed.subarray(HEADER_BYTES), {
      level: DEFLATE_LEVEL,
    })
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

/** What {@link measureEntry} tells of an entry it did not encode. */
export interface MeasuredEntry {
  /** The bytes of the msgpack body {@link encodeEntry} would write, uncompressed. */
  size: number
  /** A fresh write stamp (hex), as {@link readStamp} reads one from an encoded entry. */
  stamp: string
}

/**
 * An entry as {@link encodeEntry} with no compression would take it (the same checks, the same
 * errors, the body's exact size, a fresh stamp), without encoding it: for a cache with no L2,
 * which keeps the value and not its bytes. The size is counted where it can be (`packedLength`,
 * msgpack.ts), so msgpackr is only loaded for the rarer types.
 *
 * @throws SerializationError and ValidationError, as {@link encodeEntry}.
 */
export function measureEntry(
  entry: EntryToEncode,
  maxValueBytes = DEFAULT_MAX_VALUE_BYTES,
): MeasuredEntry {
  const tuple = entryTuple(entry)
  let size: number
  try {
    size = packedLength(tuple)
  } catch (error) {
    throw new SerializationError('value', `msgpack refused it: ${messageOf(error)}`, error)
  }
  checkBodyLength(size, maxValueBytes)
  const { process, counter } = nextStamp()
  return { size, stamp: process.toString('hex') + counter.toString(16).padStart(8, '0') }
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

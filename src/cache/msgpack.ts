import type * as Msgpackr from 'msgpackr'
import { packageRequire } from '../module-url.js'
import { typeNamed } from './custom-types.js'
import { messageOf } from './value-path.js'

/*
 * stratacache's msgpack dialect: msgpackr with `moreTypes` (Date, Set, RegExp, typed arrays,
 * bigint of any size, undefined, NaN/Infinity) plus one extension type for what msgpackr loses
 * when records are off:
 *
 * - `Map`: msgpackr writes a Map as a msgpack map, which decodes as a plain object (string keys)
 *   once `useRecords` is false. Its `addExtension({ Class: Map })` is never consulted, because
 *   `constructor === Map` is tested before extensions. So Maps are boxed before packing.
 * - registered custom types: msgpackr dispatches on classes; ours are recognised by predicate.
 * - `-0`: packed as the integer 0.
 * - strings with lone surrogates: packed as WTF-8, decoded as U+FFFD replacement characters.
 * - an own `__proto__` key: decoded as the key `__proto_` (msgpackr's pollution guard).
 *
 * A walk (`toPackable`, in packable.ts) replaces those by `Tagged` boxes, copy-on-write, so a value without
 * any of them is packed as it is, with no allocation besides the walk's trail.
 */

/** The msgpack ext type of stratacache's boxes. msgpackr leaves 1-100 to applications. */
export const EXT_TYPE = 0x53 // 'S'

/** What a box holds, its first element: the boxes are written by packable.ts, read here. */
export const KIND_MAP = 0
export const KIND_CUSTOM = 1
export const KIND_NEGATIVE_ZERO = 2
export const KIND_STRING = 3
export const KIND_OBJECT = 4

/** A part of a value boxed for msgpackr, written as an extension of type {@link EXT_TYPE}. */
export class Tagged {
  readonly data: unknown[]
  constructor(data: unknown[]) {
    this.data = data
  }
}

/** msgpackr's packer and its flag for space reserved in front, once loaded (see {@link packr}). */
let loaded: { packr: Msgpackr.Packr; reserveStartSpace: number } | undefined

/**
 * The one packer. Records off: every object is a standard msgpack map, readable by any client and
 * with no shared structure state to corrupt. `variableMapSize` writes small objects as fixmaps
 * (2 bytes per object smaller) and lifts msgpackr's 65,535-key limit; `copyBuffers` makes decoded
 * binaries own their memory, so a decoded value never pins or aliases the bytes it came from.
 * `structuredClone: false` refuses the reference extensions when decoding: bytes in Redis could
 * otherwise decode into cycles, or into a few hundred bytes of shared references that a copy on
 * read expands exponentially.
 *
 * msgpackr is loaded, and the packer made, when the first value is encoded or decoded, not when
 * stratacache is imported: a cold start that reads before it writes does not wait for it.
 */
export function packr(): Msgpackr.Packr {
  if (loaded !== undefined) return loaded.packr
  const msgpackr = packageRequire('msgpackr') as typeof Msgpackr
  msgpackr.addExtension({
    Class: Tagged,
    type: EXT_TYPE,
    write: (tagged: Tagged) => tagged.data,
    read: (data: unknown) => readTagged(data),
  } as Parameters<typeof msgpackr.addExtension>[0])
  const packer = new msgpackr.Packr({
    moreTypes: true,
    structuredClone: false,
    useRecords: false,
    mapsAsObjects: true,
    variableMapSize: true,
    copyBuffers: true,
    int64AsType: 'bigint',
  })
  loaded = { packr: packer, reserveStartSpace: msgpackr.RESERVE_START_SPACE }
  return packer
}

/** `value` packed with `headerBytes` left free in front of it, for a header written in place. */
export function packAfterHeader(value: unknown, headerBytes: number): Buffer {
  const packer = packr()
  return packer.pack(
    value,
    (loaded as { reserveStartSpace: number }).reserveStartSpace | headerBytes,
  )
}

/*
 * The exact length of what `packr().pack(value)` writes, counted without packing, for a value
 * `toPackable` (packable.ts) returned. A cache without L2 encodes nothing, yet it must know each entry's
 * encoded size (L1's bounds, `maxValueBytes`, `averageSize`): counting lets memory-only mode run
 * without loading msgpackr at all (about 25 ms of a cold start, its native addon included).
 *
 * The count follows msgpackr's writer with the options of `packr()` (records off, variable map
 * size, `moreTypes`): the common types are counted here, and anything else (binaries, typed
 * arrays, `RegExp`, bigints past 64 bits, objects whose `constructor` is not `Object`) makes the
 * count give up with `UNCOUNTED`, so that the caller packs for real. test/cache/codec.test.ts
 * checks the count against msgpackr on every supported type and on arbitrary values.
 */

/** {@link packedSize}'s answer when some part's size is not known without packing. */
const UNCOUNTED = -1

/**
 * Bytes `value` (already packable) takes in msgpack, or {@link UNCOUNTED}. Iterative where it
 * can be cheap: the common record (a plain object of scalars) costs one loop and no calls.
 */
function packedSize(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return stringSize(value)
    case 'number':
      return numberSize(value)
    case 'boolean':
      return 1
    case 'undefined':
      return 3
    case 'bigint':
      // int64, else uint64; larger ones use an extension of variable length.
      return value < 0x8000000000000000n && value >= -0x8000000000000000n
        ? 9
        : value < 0x10000000000000000n && value > 0n
          ? 9
          : UNCOUNTED
    case 'object':
      return value === null ? 1 : objectSize(value)
    default:
      return UNCOUNTED
  }
}

function objectSize(value: object): number {
  const ctor = value.constructor
  if (ctor === Object) return plainSize(value as Record<string, unknown>)
  if (ctor === Array) return arraySize(value as unknown[])
  if (ctor === Date) return dateSize(value as Date)
  // A box and a Set are one-byte-tagged extensions (3 bytes) in front of an array.
  if (ctor === Tagged) return add(3, arraySize((value as Tagged).data))
  if (ctor === Set) return add(3, arraySize(Array.from(value as Set<unknown>)))
  return UNCOUNTED
}

function plainSize(value: Record<string, unknown>): number {
  // msgpackr writes `Object.keys`, so inherited enumerable keys are not counted either.
  const keys = Object.keys(value)
  let size = headerSize(keys.length)
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!
    const item = packedSize(value[key])
    if (item === UNCOUNTED) return UNCOUNTED
    size += stringSize(key) + item
  }
  return size
}

function arraySize(value: readonly unknown[]): number {
  let size = headerSize(value.length)
  for (let i = 0; i < value.length; i++) {
    const item = packedSize(value[i])
    if (item === UNCOUNTED) return UNCOUNTED
    size += item
  }
  return size
}

function add(header: number, body: number): number {
  return body === UNCOUNTED ? UNCOUNTED : header + body
}

/** An array or map header: fix (up to 15 entries), 16-bit or 32-bit length. */
function headerSize(length: number): number {
  return length < 0x10 ? 1 : length < 0x10000 ? 3 : 5
}

/** A well-formed string (toPackable boxes the others): header by UTF-8 length, then the bytes. */
function stringSize(value: string): number {
  let bytes = value.length
  // ASCII, the common case, is one byte per unit; only then is a scan needed at all.
  for (let i = 0; i < value.length; i++) {
    if (value.charCodeAt(i) >= 0x80) {
      bytes = Buffer.byteLength(value, 'utf8')
      break
    }
  }
  return (bytes < 0x20 ? 1 : bytes < 0x100 ? 2 : bytes < 0x10000 ? 3 : 5) + bytes
}

function numberSize(value: number): number {
  if (value >>> 0 === value) return value < 0x80 ? 1 : value < 0x100 ? 2 : value < 0x10000 ? 3 : 5
  if (value >> 0 === value)
    return value >= -0x20 ? 1 : value >= -0x80 ? 2 : value >= -0x8000 ? 3 : 5
  return 9
}

/** msgpack timestamps: 32-bit seconds, 64-bit with nanoseconds, 96-bit; msgpackr's invalid date. */
function dateSize(value: Date): number {
  const ms = value.getTime()
  const seconds = ms / 1000
  if (Number.isNaN(ms)) return 3
  if (seconds >= 0 && seconds < 0x100000000 && value.getMilliseconds() === 0) return 6
  return seconds > 0 && seconds < 0x100000000 ? 10 : 15
}

/**
 * Bytes of a packable value in msgpack: counted when every part's size is known, else packed.
 * The same number as `packr().pack(value).length`.
 */
export function packedLength(value: unknown): number {
  const size = packedSize(value)
  return size === UNCOUNTED ? packr().pack(value).length : size
}

/** Decodes a box. Throws on anything malformed; the entry decoder reports it as corruption. */
function readTagged(data: unknown): unknown {
  if (!Array.isArray(data) || data.length === 0) throw new Error('malformed stratacache extension')
  switch (data[0]) {
    case KIND_MAP: {
      if (data.length % 2 !== 1) throw new Error('malformed Map extension')
      const map = new Map<unknown, unknown>()
      for (let i = 1; i < data.length; i += 2) map.set(data[i], data[i + 1])
      return map
    }
    case KIND_CUSTOM:
      return readCustom(data)
    case KIND_NEGATIVE_ZERO:
      return -0
    case KIND_STRING: {
      const units: unknown = data[1]
      if (!(units instanceof Uint16Array)) throw new Error('malformed string extension')
      let out = ''
      // In chunks: spreading a long array into one call would overflow the argument stack.
      for (let i = 0; i < units.length; i += 8192) {
        out += String.fromCharCode(...units.subarray(i, i + 8192))
      }
      return out
    }
    case KIND_OBJECT: {
      if (data.length % 2 !== 1) throw new Error('malformed object extension')
      const object: Record<string, unknown> = {}
      for (let i = 1; i < data.length; i += 2) {
        const key: unknown = data[i]
        if (typeof key !== 'string') throw new Error('malformed object extension key')
        Object.defineProperty(object, key, {
          value: data[i + 1],
          writable: true,
          enumerable: true,
          configurable: true,
        })
      }
      return object
    }
    default:
      throw new Error(`unknown stratacache extension kind ${String(data[0])}`)
  }
}

function readCustom(data: unknown[]): unknown {
  const name: unknown = data[1]
  if (data.length !== 3 || typeof name !== 'string')
    throw new Error('malformed custom type extension')
  const type = typeNamed(name)
  if (type === undefined) {
    throw new Error(`unknown custom type "${name}": call registerType() for it before reading`)
  }
  try {
    return type.deserialize(data[2])
  } catch (error) {
    throw new Error(`deserialize() of registered type "${name}" threw: ${messageOf(error)}`, {
      cause: error,
    })
  }
}

import type * as Msgpackr from 'msgpackr'
import { packageRequire } from '../module-url.js'
import { TYPED_ARRAY_PROTOTYPES } from './clone.js'
import { type RegisteredType, typeNamed, typeOf } from './custom-types.js'
import {
  describeObject,
  INDEX,
  MAP_KEY,
  MAP_VALUE,
  MAX_DEPTH,
  messageOf,
  PROP,
  SERIALIZED,
  SET_MEMBER,
  Trail,
  unsupportedReason,
} from './value-path.js'

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
 * A walk ({@link toPackable}) replaces those by `Tagged` boxes, copy-on-write, so a value without
 * any of them is packed as it is, with no allocation besides the walk's trail.
 */

/** The msgpack ext type of stratacache's boxes. msgpackr leaves 1-100 to applications. */
export const EXT_TYPE = 0x53 // 'S'

const KIND_MAP = 0
const KIND_CUSTOM = 1
const KIND_NEGATIVE_ZERO = 2
const KIND_STRING = 3
const KIND_OBJECT = 4

class Tagged {
  readonly data: unknown[]
  constructor(data: unknown[]) {
    this.data = data
  }
}

const NEGATIVE_ZERO = new Tagged([KIND_NEGATIVE_ZERO])

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

// ES2024, in Node since 20.0; the project's TypeScript lib (ES2023) does not declare it yet.
const isWellFormed = (String.prototype as unknown as { isWellFormed(this: string): boolean })
  .isWellFormed

type Plain = Record<string, unknown>

/**
 * Returns `value` ready for {@link packr}: the same reference when it holds nothing msgpackr
 * would lose, else a copy with those parts boxed. Validates as it goes.
 *
 * @throws SerializationError naming the exact path of a part that cannot be encoded.
 */
export function toPackable(value: unknown, path = 'value'): unknown {
  return packableChild(value, 0, new Trail(path))
}

/** Bytes of `value` in the L2 encoding, without the entry header and tuple (a few bytes more). */
export function encodedSize(value: unknown): number {
  return packr().pack(toPackable(value)).length
}

/**
 * Throws unless a decoded value is one the cache could have written: a tree no deeper than
 * {@link MAX_DEPTH}, of the types {@link toPackable} lets through (msgpackr also decodes errors
 * and `DataView`s, which it never packs for us). Bytes in Redis are not trusted: a copy on read
 * or a walk on a value nested thousands of levels deep would overflow the stack on every hit.
 */
export function checkDecoded(value: unknown): void {
  if (typeof value === 'object' && value !== null) checkDecodedObject(value, 0)
}

function checkDecodedObject(value: object, depth: number): void {
  if (depth >= MAX_DEPTH) throw new Error(`nested deeper than ${MAX_DEPTH} levels`)
  const child = depth + 1
  const proto: unknown = Object.getPrototypeOf(value)
  if (proto === Array.prototype) {
    const array = value as unknown[]
    for (let i = 0; i < array.length; i++) {
      const item = array[i]
      if (typeof item === 'object' && item !== null) checkDecodedObject(item, child)
    }
    return
  }
  if (proto === Object.prototype || proto === null) {
    // for-in needs no key array; inherited keys (a polluted prototype) are only checked too.
    for (const key in value) {
      const item = (value as Plain)[key]
      if (typeof item === 'object' && item !== null) checkDecodedObject(item, child)
    }
    return
  }
  if (proto === Map.prototype || proto === Set.prototype) {
    for (const entry of (value as Map<unknown, unknown>).entries()) {
      for (const item of entry) {
        if (typeof item === 'object' && item !== null) checkDecodedObject(item, child)
      }
    }
    return
  }
  if (
    proto === Date.prototype ||
    proto === RegExp.prototype ||
    proto === Buffer.prototype ||
    proto === ArrayBuffer.prototype ||
    TYPED_ARRAY_PROTOTYPES.has(proto as object) ||
    typeOf(value) !== undefined
  ) {
    return
  }
  throw new Error(`${describeObject(value)}, a type the cache never writes`)
}

function packableChild(value: unknown, depth: number, trail: Trail): unknown {
  switch (typeof value) {
    case 'object':
      return value === null ? null : packableObject(value, depth, trail)
    case 'number':
      return value === 0 && 1 / value < 0 ? NEGATIVE_ZERO : value
    case 'string':
      return isWellFormed.call(value) ? value : boxString(value)
    case 'function':
    case 'symbol':
      return trail.fail(depth, `a ${typeof value} cannot be cached`)
    default:
      return value
  }
}

function packableObject(value: object, depth: number, trail: Trail): unknown {
  if (depth >= MAX_DEPTH) trail.tooDeep(depth, value)
  trail.nodes[depth] = value
  const proto: unknown = Object.getPrototypeOf(value)
  if (proto === Object.prototype || proto === null)
    return packablePlain(value as Plain, depth, trail)
  switch (proto) {
    case Array.prototype:
      return packableArray(value as unknown[], depth, trail)
    case Map.prototype:
      return boxMap(value as Map<unknown, unknown>, depth, trail)
    case Set.prototype:
      return packableSet(value as Set<unknown>, depth, trail)
    case Date.prototype:
    case RegExp.prototype:
    case Buffer.prototype:
    case ArrayBuffer.prototype:
      return value
  }
  if (TYPED_ARRAY_PROTOTYPES.has(proto as object)) return value
  let type: RegisteredType | undefined
  try {
    type = typeOf(value)
  } catch (error) {
    trail.fail(depth, `a registered type's is() threw: ${messageOf(error)}`, error)
  }
  if (type === undefined) return trail.fail(depth, unsupportedReason(value))
  let data: unknown
  try {
    data = type.serialize(value)
  } catch (error) {
    trail.fail(
      depth,
      `serialize() of registered type "${type.name}" threw: ${messageOf(error)}`,
      error,
    )
  }
  return new Tagged([
    KIND_CUSTOM,
    type.name,
    packableChild(data, trail.at(depth + 1, SERIALIZED, type.name), trail),
  ])
}

/**
 * True when `packed` replaces `original`. Replacements are always objects (a copy or a box), and
 * testing that keeps `NaN !== NaN` from counting as a change.
 */
function changed(packed: unknown, original: unknown): boolean {
  return packed !== original && typeof packed === 'object'
}

function packablePlain(source: Plain, depth: number, trail: Trail): unknown {
  const child = depth + 1
  let out: Plain | undefined
  for (const key in source) {
    if (trail.inheritedKeys && !Object.hasOwn(source, key)) continue
    if (key === '__proto__' || !isWellFormed.call(key)) {
      return boxObject(source, Object.keys(source), depth, trail)
    }
    const item = source[key]
    // Most fields are primitives that pack as they are: settle those without a call.
    if (typeof item === 'string' ? isWellFormed.call(item) : isPlainScalar(item)) continue
    const packed = packableChild(item, trail.at(child, PROP, key), trail)
    if (changed(packed, item)) {
      if (out === undefined) out = { ...source }
      out[key] = packed
    }
  }
  return out ?? source
}

function packableArray(source: unknown[], depth: number, trail: Trail): unknown {
  const child = depth + 1
  let out: unknown[] | undefined
  for (let i = 0; i < source.length; i++) {
    const item = source[i]
    if (typeof item === 'string' ? isWellFormed.call(item) : isPlainScalar(item)) continue
    const packed = packableChild(item, trail.at(child, INDEX, i), trail)
    if (changed(packed, item)) {
      if (out === undefined) out = source.slice()
      out[i] = packed
    }
  }
  return out ?? source
}

/** A non-string primitive msgpackr carries unchanged: anything but `-0`, functions and symbols. */
function isPlainScalar(value: unknown): boolean {
  switch (typeof value) {
    case 'number':
      return value !== 0 || 1 / value > 0
    case 'boolean':
    case 'undefined':
    case 'bigint':
      return true
    default:
      return value === null
  }
}

function packableSet(source: Set<unknown>, depth: number, trail: Trail): unknown {
  const child = depth + 1
  const members: unknown[] = []
  let anyChanged = false
  let i = 0
  for (const member of source) {
    const packed = packableChild(member, trail.at(child, SET_MEMBER, i++), trail)
    if (changed(packed, member)) anyChanged = true
    members.push(packed)
  }
  return anyChanged ? new Set(members) : source
}

function boxMap(source: Map<unknown, unknown>, depth: number, trail: Trail): Tagged {
  const child = depth + 1
  const data: unknown[] = [KIND_MAP]
  let i = 0
  for (const [key, item] of source) {
    data.push(packableChild(key, trail.at(child, MAP_KEY, i), trail))
    data.push(packableChild(item, trail.at(child, MAP_VALUE, i), trail))
    i++
  }
  return new Tagged(data)
}

function boxObject(source: Plain, keys: string[], depth: number, trail: Trail): Tagged {
  const child = depth + 1
  const data: unknown[] = [KIND_OBJECT]
  for (const key of keys) {
    data.push(isWellFormed.call(key) ? key : boxString(key))
    data.push(packableChild(source[key], trail.at(child, PROP, key), trail))
  }
  return new Tagged(data)
}

function boxString(value: string): Tagged {
  const units = new Uint16Array(value.length)
  for (let i = 0; i < value.length; i++) units[i] = value.charCodeAt(i)
  return new Tagged([KIND_STRING, units])
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
      const object: Plain = {}
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

import { TYPED_ARRAY_PROTOTYPES } from './clone.js'
import { type RegisteredType, typeOf } from './custom-types.js'
import {
  KIND_CUSTOM,
  KIND_MAP,
  KIND_NEGATIVE_ZERO,
  KIND_OBJECT,
  KIND_STRING,
  packedLength,
  Tagged,
} from './msgpack.js'
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
 * Which values stratacache's msgpack dialect (msgpack.ts) carries, checked both ways: on the way
 * in, {@link toPackable} validates a value and boxes what msgpackr would lose; on the way out,
 * {@link checkDecoded} refuses what the cache could never have written.
 */

const NEGATIVE_ZERO = new Tagged([KIND_NEGATIVE_ZERO])

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
  return packedLength(toPackable(value))
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

/**
 * Query arguments in a canonical text form: equal queries give equal text whatever the order of
 * their properties, and different queries never collide, because every value carries its type
 * (`5` the number, `"5"` the string, `5n` the BigInt, dates, decimals and bytes each marked).
 * This is the cache key of a read, so it runs on every cached call: one pass, no intermediate
 * objects, keys sorted only where an object has more than one.
 */
import { createHash } from 'node:crypto'
import { Decimal, ObjectEnumValue, skip } from '@prisma/client/runtime/client'

/** Thrown for a value the canonical form cannot name (an unknown class): that call is not cached. */
export class UncacheableArgs extends Error {}

/**
 * The canonical text of `value`. `undefined` properties are left out (Prisma ignores them), as
 * are `Prisma.skip` values.
 *
 * @example
 * ```ts
 * canonicalArgs({ where: { b: 1, a: 'x' } }) === canonicalArgs({ where: { a: 'x', b: 1 } })
 * ```
 */
export function canonicalArgs(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value)
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value)
    case 'boolean':
      return value ? 'true' : 'false'
    case 'bigint':
      return `${value}n`
    case 'object':
      if (value === null) return 'null'
      return canonicalObject(value)
    default:
      throw new UncacheableArgs(`a ${typeof value} in the query arguments`)
  }
}

/** Letters, digits, `_` and `$`: nothing JSON would escape (a loop beats a regex here). */
function isIdentifier(key: string): boolean {
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i)
    const letter = (c >= 97 && c <= 122) || (c >= 65 && c <= 90)
    if (!letter && !(c >= 48 && c <= 57) && c !== 95 && c !== 36) return false
  }
  return key.length > 0
}

function canonicalObject(value: object): string {
  if (Array.isArray(value)) {
    let out = '['
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ','
      out += canonicalArgs(value[i])
    }
    return `${out}]`
  }
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return canonicalInstance(value)
  // Most argument objects have one property (`{ where }`, `{ id }`): no key array, no sort.
  let only: string | undefined
  let count = 0
  for (const key in value) {
    if (++count > 1) break
    only = key
  }
  if (count === 1) return `{${property(only!, (value as Record<string, unknown>)[only!])}}`
  const keys = Object.keys(value)
  keys.sort()
  let out = '{'
  for (const key of keys) {
    const text = property(key, (value as Record<string, unknown>)[key])
    if (text === '') continue
    out += out.length === 1 ? text : `,${text}`
  }
  return `${out}}`
}

/** `"key":value`, or `''` for a property Prisma ignores (`undefined`, `Prisma.skip`). */
function property(key: string, item: unknown): string {
  if (item === undefined || item === skip) return ''
  // Argument names are identifiers; only JSON filter paths may need escaping.
  const name = isIdentifier(key) ? `"${key}":` : `${JSON.stringify(key)}:`
  return name + canonicalArgs(item)
}

/** Values of known classes, each under a marker no plain value can produce. */
function canonicalInstance(value: object): string {
  if (value instanceof Date)
    return `D(${Number.isNaN(value.getTime()) ? 'NaN' : value.toISOString()})`
  if (value instanceof Uint8Array) return `B(${Buffer.from(value).toString('base64')})`
  if (Decimal.isDecimal(value)) return `M(${value.toString()})`
  // Prisma.DbNull, JsonNull, AnyNull.
  if (value instanceof ObjectEnumValue) return `N(${String(value)})`
  // A field reference (`prisma.product.fields.price`) compares with another column.
  const ref = value as { modelName?: unknown; name?: unknown; isList?: unknown }
  if (typeof ref.modelName === 'string' && typeof ref.name === 'string' && 'isList' in ref) {
    return `F(${ref.modelName}.${ref.name})`
  }
  const name = (value as { constructor?: { name?: string } }).constructor?.name
  throw new UncacheableArgs(`an instance of ${name || 'an unknown class'} in the query arguments`)
}

/** Canonical text longer than this is hashed in the key (Redis keys stay small). */
const MAX_INLINE = 200

/**
 * The cache key of a read: namespace, model, operation and canonical arguments, the arguments
 * replaced by their SHA-256 when long.
 */
export function readKey(
  namespace: string,
  model: string,
  operation: string,
  canonical: string,
): string {
  const args =
    canonical.length <= MAX_INLINE
      ? canonical
      : `#${createHash('sha256').update(canonical).digest('base64url')}`
  return `${namespace}:${model}:${operation}:${args}`
}

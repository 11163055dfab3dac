/**
 * Identities of records: the text naming one record by one of its unique keys (`id=5`,
 * `email="a@b.c"`, `productId_userId=3,7`). A read by a unique key and a write that returns or
 * names the same record must produce the same text, whatever form the value came in (`5` or `5n`
 * for a BigInt, a `Date` or an ISO string, `'12.50'` or a `Decimal`), so values are normalised
 * by the field's type.
 */
import { Decimal } from '@prisma/client/runtime/client'
import type { DmmfField } from '../schema/dmmf.js'
import type { ModelNode, UniqueKey } from '../schema/model-graph.js'

/**
 * The identity text of one value of `field`, or `undefined` when it is not a plain value. Values
 * PostgreSQL holds as one (a uuid in any case, with or without hyphens or braces; a `citext` in
 * any case; a `char(n)` with trailing spaces; a `date` at any time of day) give one text.
 */
export function identityValue(field: DmmfField | undefined, value: unknown): string | undefined {
  if (field === undefined || value === null || value === undefined) return undefined
  try {
    switch (field.type) {
      case 'Int':
      case 'Float':
        return typeof value === 'number' ? String(value === 0 ? 0 : value) : undefined
      case 'BigInt':
        return typeof value === 'bigint' || typeof value === 'number'
          ? String(BigInt(value))
          : undefined
      case 'Decimal':
        return typeof value === 'object' || typeof value === 'string' || typeof value === 'number'
          ? new Decimal(value as Decimal.Value).toString()
          : undefined
      case 'DateTime':
        return value instanceof Date || typeof value === 'string'
          ? dateText(field, new Date(value))
          : undefined
      case 'Boolean':
        return typeof value === 'boolean' ? String(value) : undefined
      case 'Bytes':
        return value instanceof Uint8Array ? Buffer.from(value).toString('base64') : undefined
      default: // String, enums
        return typeof value === 'string' ? JSON.stringify(textOf(field, value)) : undefined
    }
  } catch {
    return undefined // an unparseable date or decimal: Prisma will reject the query anyway
  }
}

/** {@link identityValue}, with `null` as a value of its own (a filter or a row may hold it). */
export function valueText(field: DmmfField | undefined, value: unknown): string | undefined {
  return value === null ? 'null' : identityValue(field, value)
}

const UUID_HEX = /^[0-9a-f]{32}$/

/** A string as PostgreSQL compares it in the field's column type. */
function textOf(field: DmmfField, value: string): string {
  switch (field.nativeType?.[0]) {
    case 'Uuid': {
      const hex = value.toLowerCase().replace(/[{}-]/g, '')
      if (!UUID_HEX.test(hex)) return value
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
    }
    case 'Citext':
      return value.toLowerCase()
    case 'Char':
      return value.replace(/ +$/, '')
    default:
      return value
  }
}

/** A date-time as its column holds it: `date` keeps the day, `time` the time of day. */
function dateText(field: DmmfField, date: Date): string {
  const iso = date.toISOString()
  switch (field.nativeType?.[0]) {
    case 'Date':
      return iso.slice(0, 10)
    case 'Time':
    case 'Timetz':
      return iso.slice(11)
    default:
      return iso
  }
}

/** The identity of `values` (one per field of `key`), or `undefined` if one is not plain. */
export function identityOf(
  node: ModelNode,
  key: UniqueKey,
  values: readonly unknown[],
): string | undefined {
  let text = `${key.name}=`
  for (let i = 0; i < key.fields.length; i++) {
    const part = identityValue(node.fields.get(key.fields[i]!), values[i])
    if (part === undefined) return undefined
    text += i === 0 ? part : `,${part}`
  }
  return text
}

/** A single-field key's value in a where clause: the value itself or `{ equals: value }`. */
function pinned(value: unknown): unknown {
  if (typeof value === 'object' && value !== null && !(value instanceof Date)) {
    const keys = Object.keys(value)
    if (keys.length === 1 && keys[0] === 'equals') return (value as { equals: unknown }).equals
  }
  return value
}

/** The unique key a `WhereUniqueInput` pins, with its values by field and its identity. */
export interface PinnedKey {
  readonly identity: string
  readonly values: Readonly<Record<string, unknown>>
}

/**
 * The first unique key of the model (primary key first) whose fields a `WhereUniqueInput` gives
 * as plain values. Other filters beside it only narrow the same record.
 */
export function pinnedKey(node: ModelNode, where: unknown): PinnedKey | undefined {
  if (typeof where !== 'object' || where === null) return undefined
  const clause = where as Record<string, unknown>
  for (const key of node.uniqueKeys) {
    let values: unknown[]
    if (key.fields.length === 1) {
      values = [pinned(clause[key.fields[0]!])]
    } else {
      const compound = clause[key.name]
      if (typeof compound !== 'object' || compound === null) continue
      values = key.fields.map((field) => (compound as Record<string, unknown>)[field])
    }
    const identity = identityOf(node, key, values)
    if (identity !== undefined) {
      return { identity, values: Object.fromEntries(key.fields.map((f, i) => [f, values[i]])) }
    }
  }
  return undefined
}

/** The identity a `WhereUniqueInput` pins (see {@link pinnedKey}). */
export function identityOfWhere(node: ModelNode, where: unknown): string | undefined {
  return pinnedKey(node, where)?.identity
}

/**
 * The identities of a record under every unique key of its model, or `undefined` when the record
 * lacks a field of some key (then a write to it cannot name all the reads that may hold it).
 */
export function identitiesOfRecord(node: ModelNode, record: unknown): string[] | undefined {
  if (typeof record !== 'object' || record === null) return undefined
  const row = record as Record<string, unknown>
  const identities: string[] = []
  for (const key of node.uniqueKeys) {
    const identity = identityOf(
      node,
      key,
      key.fields.map((field) => row[field]),
    )
    if (identity === undefined) return undefined
    identities.push(identity)
  }
  return identities
}

/**
 * The records a filter (`updateMany` / `deleteMany`) is pinned to, when the model has a single
 * unique key given at the top of the filter as a value, `{ equals }` or `{ in: [...] }`. Any other
 * condition beside it only narrows the set. `undefined`: the records cannot be named.
 */
export function identitiesOfFilter(node: ModelNode, where: unknown): string[] | undefined {
  const only = node.uniqueKeys.length === 1 ? node.uniqueKeys[0] : undefined
  if (only === undefined || only.fields.length !== 1) return undefined
  if (typeof where !== 'object' || where === null) return undefined
  const condition = (where as Record<string, unknown>)[only.fields[0]!]
  const list =
    typeof condition === 'object' &&
    condition !== null &&
    Array.isArray((condition as { in?: unknown }).in) &&
    Object.keys(condition).length === 1
      ? (condition as { in: unknown[] }).in
      : [pinned(condition)]
  const identities: string[] = []
  for (const value of list) {
    const identity = identityOf(node, only, [value])
    if (identity === undefined) return undefined
    identities.push(identity)
  }
  return identities
}

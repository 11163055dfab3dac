/**
 * Opaque cursors for keyset pagination: the sort values of a boundary row, as base64url JSON
 * `{ "o": "createdAt:desc,id:desc", "v": ["2026-12-01T10:00:00.000Z", 17] }`. `o` names the
 * order the cursor was made for, so a cursor from another order is refused rather than
 * misread. Decoding checks every value against its field's type, so a tampered cursor is a
 * `ValidationError` on `options.cursor`, never a malformed query. Cursors are not signed: a
 * forged one can only start a page at some position, which any client can do with real ones.
 */
import { invalid } from '../../errors.js'
import type { DmmfField } from '../../prisma/schema/dmmf.js'
import type { SortKey } from './order-by.js'

/** A sort value as Prisma takes it in a filter. */
export type SortValue = string | number | bigint | boolean | Date

/**
 * A place in the order: the sort values of a row, and whether reading from it starts at that
 * row (`inclusive`) or just beyond it. Pages hand out exclusive positions (their boundary rows);
 * an empty page hands back its own position with the other inclusivity, so that turning round
 * on it neither skips nor repeats the row at that position.
 */
export interface Position {
  readonly values: readonly SortValue[]
  readonly inclusive: boolean
}

const CURSOR_FIELD = 'options.cursor'
/** Cursors this code makes are far shorter; longer input is refused before it is decoded. */
const MAX_CURSOR_LENGTH = 4096

/** The signature of an order, kept in its cursors. */
function signatureOf(keys: readonly SortKey[]): string {
  return keys.map((key) => `${key.field.name}:${key.direction}`).join(',')
}

/** The cursor of a position under the order `keys`. */
export function encodeCursor(keys: readonly SortKey[], position: Position): string {
  const body = {
    o: signatureOf(keys),
    v: position.values.map((value, i) => toJson(keys[i]!.field, value)),
    ...(position.inclusive ? { i: 1 } : {}),
  }
  return Buffer.from(JSON.stringify(body)).toString('base64url')
}

/** The sort values of `row` for `keys` (the row holds every key field: the caller selects them). */
export function valuesOf(keys: readonly SortKey[], row: Record<string, unknown>): SortValue[] {
  return keys.map((key) => row[key.field.name] as SortValue)
}

/**
 * The position `cursor` denotes under `keys`. A cursor made by {@link encodeCursor} for the
 * same order is read back; otherwise, when the order is the primary key alone, a plain key value
 * (`17`, `'17'`, a uuid) is accepted, so a plain id works as a cursor. Anything else is a
 * `ValidationError` on `options.cursor`.
 */
export function decodeCursor(keys: readonly SortKey[], cursor: unknown): Position {
  if (typeof cursor === 'string' && cursor.length > MAX_CURSOR_LENGTH) {
    throw invalid(CURSOR_FIELD, `is longer than ${MAX_CURSOR_LENGTH} characters`)
  }
  if (typeof cursor === 'string' && cursor.length > 0) {
    const body = parseBody(cursor)
    if (body !== undefined) return readBody(keys, body)
  }
  const only = keys.length === 1 ? keys[0]!.field : undefined
  if (only?.isId && (typeof cursor === 'string' || typeof cursor === 'number')) {
    return { values: [fromJson(only, plainKey(only, cursor))], inclusive: false }
  }
  if (typeof cursor !== 'string' || cursor.length === 0) {
    throw invalid(CURSOR_FIELD, 'must be a cursor string returned as nextCursor or previousCursor')
  }
  throw invalid(CURSOR_FIELD, 'is not a cursor returned by paginateWithCursor')
}

/** A plain id as the JSON value its field decodes from (`'17'` for an Int id is 17). */
function plainKey(field: DmmfField, cursor: string | number): unknown {
  if (typeof cursor === 'string' && field.type === 'Int' && /^-?\d{1,10}$/.test(cursor)) {
    return Number(cursor)
  }
  if (typeof cursor === 'number' && field.type === 'BigInt') return String(cursor)
  return cursor
}

/** The JSON object inside `cursor`, or `undefined` when it is not base64url of a JSON object. */
function parseBody(cursor: string): Record<string, unknown> | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined
  const text = Buffer.from(cursor, 'base64url').toString('utf8')
  if (!text.startsWith('{')) return undefined
  try {
    const body: unknown = JSON.parse(text)
    return typeof body === 'object' && body !== null && !Array.isArray(body)
      ? (body as Record<string, unknown>)
      : undefined
  } catch {
    throw invalid(CURSOR_FIELD, 'is corrupted (not valid JSON inside)')
  }
}

function readBody(keys: readonly SortKey[], body: Record<string, unknown>): Position {
  if (body.o !== signatureOf(keys)) {
    throw invalid(
      CURSOR_FIELD,
      `was made for another order (${String(body.o)}), not ${signatureOf(keys)}`,
    )
  }
  const values = body.v
  if (!Array.isArray(values) || values.length !== keys.length) {
    throw invalid(CURSOR_FIELD, `must hold ${keys.length} sort values`)
  }
  if (body.i !== undefined && body.i !== 1) throw invalid(CURSOR_FIELD, 'has a bad inclusive flag')
  return {
    values: values.map((value, i) => fromJson(keys[i]!.field, value)),
    inclusive: body.i === 1,
  }
}

function toJson(field: DmmfField, value: SortValue): unknown {
  if (value instanceof Date) return value.toISOString()
  if (typeof value === 'bigint') return value.toString()
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value)
  if (typeof value === 'object' && value !== null) return String(value) // Decimal
  if (value === undefined || value === null) {
    throw invalid('options.orderBy', `${field.name} is null in a row; it cannot be a sort key`)
  }
  return value
}

/** PostgreSQL's numeric holds up to 131072 digits before the point; a cursor's never needs 100. */
const MAX_DECIMAL_LENGTH = 100
const DECIMAL = /^-?\d+(\.\d+)?(e[+-]?\d{1,4})?$/i
const BIGINT = /^-?\d{1,19}$/
const SPECIAL_FLOATS: Record<string, number> = {
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  '-Infinity': Number.NEGATIVE_INFINITY,
}

/** The filter value for `field` from the cursor's JSON value, checked against the field's type. */
function fromJson(field: DmmfField, value: unknown): SortValue {
  const bad = (expected: string) =>
    invalid(CURSOR_FIELD, `holds ${JSON.stringify(value)} for ${field.name}, not ${expected}`)
  switch (field.type) {
    case 'Int':
      // Prisma's Int is PostgreSQL's 32-bit integer.
      if (Number.isInteger(value) && (value as number) >= -(2 ** 31) && (value as number) < 2 ** 31)
        return value as number
      throw bad('a 32-bit integer')
    case 'Float':
      if (typeof value === 'number') return value
      // Own keys only: `in` would find `constructor` and `__proto__` on the prototype.
      if (typeof value === 'string' && Object.hasOwn(SPECIAL_FLOATS, value))
        return SPECIAL_FLOATS[value]!
      throw bad('a number')
    case 'BigInt':
      if (typeof value === 'string' && BIGINT.test(value)) {
        const big = BigInt(value)
        if (big >= -(2n ** 63n) && big < 2n ** 63n) return big
      }
      throw bad('a 64-bit integer string')
    case 'Decimal':
      // Prisma takes a decimal string in filters without going through a float.
      if (typeof value === 'string' && value.length <= MAX_DECIMAL_LENGTH && DECIMAL.test(value))
        return value
      throw bad('a decimal string')
    case 'DateTime': {
      const date = typeof value === 'string' ? new Date(value) : undefined
      if (date !== undefined && !Number.isNaN(date.getTime())) return date
      throw bad('an ISO date')
    }
    case 'Boolean':
      if (typeof value === 'boolean') return value
      throw bad('a boolean')
    default:
      if (typeof value === 'string') return value
      throw bad('a string')
  }
}

/**
 * Checks of the arguments the query patterns take: each failure is a `ValidationError` naming
 * the argument or option (`options.pageSize`, `rows[3]`) and saying what was expected.
 */
import { invalid } from '../../errors.js'
import { describeValue } from '../../option-checks.js'
import { isRecord } from '../../prisma/is-record.js'

/** `value` as an object of options (`undefined` as `{}`), or a `ValidationError` on `field`. */
export function optionsObject(value: unknown, field: string): Record<string, unknown> {
  if (value === undefined) return {}
  if (!isRecord(value)) throw invalid(field, `must be an object, got ${describeValue(value)}`)
  return value
}

/** A `where` argument: `undefined` or an object (as Prisma takes it). */
export function whereObject(value: unknown, field: string): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined
  if (!isRecord(value)) throw invalid(field, `must be a where object, got ${describeValue(value)}`)
  return value
}

/**
 * A `where` that must restrict something: a bulk delete or update with `{}` would touch every
 * row, which is what a filter built from absent request parameters looks like.
 */
export function nonEmptyWhere(value: unknown, field: string): Record<string, unknown> {
  const where = whereObject(value, field)
  if (where === undefined || Object.keys(where).length === 0) {
    throw invalid(field, 'must have at least one condition (an empty where would match every row)')
  }
  return where
}

/** An integer from `min` to `max`, or `fallback` when `undefined`. */
export function integerIn(
  value: unknown,
  field: string,
  min: number,
  max: number,
  fallback?: number,
): number {
  if (value === undefined && fallback !== undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`
    throw invalid(field, `must be an integer ${range}, got ${describeValue(value)}`)
  }
  return value
}

/** An optional boolean. */
export function optionalBoolean(value: unknown, field: string): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value
  throw invalid(field, `must be true or false, got ${describeValue(value)}`)
}

/** An optional `select` / `include` object, as `findMany` takes it. */
export function optionalShape(value: unknown, field: string): Record<string, unknown> | undefined {
  if (value === undefined) return undefined
  if (!isRecord(value)) throw invalid(field, `must be an object, as in findMany`)
  return value
}

/** An optional callback. */
export function optionalFunction<F>(value: unknown, field: string): F | undefined {
  if (value === undefined || typeof value === 'function') return value as F | undefined
  throw invalid(field, `must be a function, got ${describeValue(value)}`)
}

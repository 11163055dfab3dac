/**
 * Filters from a request turned into a Prisma `where`, and field lists into a `select`. With a
 * model, every key is checked against it (and the call's `allowedFields`), so a query string
 * cannot filter on a column the code did not allow; `AND` / `OR` / `NOT` are walked so the
 * keys inside them are checked too.
 */
import { invalid } from '../../errors.js'
import { describeValue, isRecord } from '../../option-checks.js'
import type { ModelNode } from '../../prisma/schema/model-graph.js'
import { type AllowedFields, checkField, scalarField } from './fields.js'

const COMBINATORS: ReadonlySet<string> = new Set(['AND', 'OR', 'NOT'])
const PROTOTYPE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype'])

/**
 * The `where` for `filters`: arrays become `{ in: [...] }` (`{ hasSome }` on a list field),
 * `'%x%'` becomes `{ contains: 'x', mode: 'insensitive' }`, `'x%'` `startsWith`, `'%x'`
 * `endsWith` (insensitive too; with a model, only on String fields), `undefined` values are
 * dropped, `null` is kept (`IS NULL`), anything else is passed on as it is.
 */
export function buildWhere(
  filters: unknown,
  model: ModelNode | undefined,
  allowed: AllowedFields,
  field = 'filters',
): Record<string, unknown> {
  if (!isRecord(filters)) throw invalid(field, `must be an object, got ${describeValue(filters)}`)
  const where: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(filters)) {
    if (value === undefined) continue
    const at = `${field}.${key}`
    // No field is called so; assigned to `where`, `__proto__` would set its prototype.
    if (PROTOTYPE_KEYS.has(key)) throw invalid(at, 'is not a field name')
    if (COMBINATORS.has(key)) {
      where[key] = Array.isArray(value)
        ? value.map((item, i) => buildWhere(item, model, allowed, `${at}[${i}]`))
        : buildWhere(value, model, allowed, at)
      continue
    }
    const column = model === undefined ? undefined : scalarField(model, key, at, allowed)
    if (Array.isArray(value)) {
      where[key] = column?.isList ? { hasSome: value } : { in: value }
    } else if (typeof value === 'string' && (column === undefined || isText(column))) {
      where[key] = likePattern(value)
    } else {
      where[key] = value
    }
  }
  return where
}

function isText(column: { type: string; isList: boolean }): boolean {
  return column.type === 'String' && !column.isList
}

/** A `%` at either end of `value` as the matching string filter; else `value` itself. */
function likePattern(value: string): unknown {
  const leading = value.startsWith('%')
  const trailing = value.length > 1 && value.endsWith('%')
  // Only the ends are wildcards: a % or _ inside is the character itself.
  if (leading && trailing) return { contains: escapeLike(value.slice(1, -1)), mode: 'insensitive' }
  if (trailing) return { startsWith: escapeLike(value.slice(0, -1)), mode: 'insensitive' }
  if (leading) return { endsWith: escapeLike(value.slice(1)), mode: 'insensitive' }
  return value
}

/** `{ name: true, ... }` for `fields`; with a model, each must be one of its fields (relations too). */
export function buildSelect(
  fields: unknown,
  model: ModelNode | undefined,
  allowed: AllowedFields,
): Record<string, true> {
  if (!Array.isArray(fields) || fields.length === 0) {
    throw invalid('fields', 'must be a non-empty array of field names')
  }
  const select: Record<string, true> = {}
  fields.forEach((name, i) => {
    const at = `fields[${i}]`
    if (model !== undefined) {
      checkField(model, name, at, 'any')
      if (allowed !== undefined && !allowed.has(name)) {
        throw invalid(at, `"${name}" is not allowed here (allowed: ${[...allowed].join(', ')})`)
      }
    } else if (typeof name !== 'string' || name.length === 0) {
      throw invalid(at, `must be a field name, got ${describeValue(name)}`)
    }
    select[name as string] = true
  })
  return select
}

/**
 * Prisma's `contains` / `startsWith` / `endsWith` become `LIKE` / `ILIKE` patterns with the value
 * inserted as it is: a `%` or `_` in it acts as a wildcard (searching "50%" also finds
 * "50 percent"). PostgreSQL's default LIKE escape character is the backslash, so escaping
 * backslash, `%` and `_` with it makes the text match literally.
 */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`)
}

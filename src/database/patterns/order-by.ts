/**
 * Sort orders from outside input, checked: every sort field must be a scalar field of the model
 * (and one of the call's `allowedFields`), every direction `asc` or `desc`. The primary key is
 * appended as a tie-breaker so that the order is total: rows with equal sort values then come
 * back in the same order on every query, which pagination needs (without it PostgreSQL may
 * return ties in any order, and a page boundary among ties repeats or skips rows).
 */
import { invalid } from '../../errors.js'
import { describeValue } from '../../option-checks.js'
import type { DmmfField } from '../../prisma/schema/dmmf.js'
import type { ModelNode } from '../../prisma/schema/model-graph.js'
import { type AllowedFields, primaryKeyOf, scalarField } from './fields.js'
import type { SortDirection } from './types.js'

/** One field of a total order. */
export interface SortKey {
  readonly field: DmmfField
  readonly direction: SortDirection
}

/**
 * The sort keys of `orderBy` (`{ price: 'desc' }` or an array of such one-field objects), then
 * the primary key fields not already in it, in the direction of the last given key (ascending
 * when none is given). Throws a `ValidationError` naming `field` (`options.orderBy[1]`).
 */
export function totalOrder(
  model: ModelNode,
  orderBy: unknown,
  field: string,
  allowed?: AllowedFields,
): SortKey[] {
  const keys = orderBy === undefined ? [] : parseOrderBy(model, orderBy, field, allowed)
  const tieDirection = keys.at(-1)?.direction ?? 'asc'
  for (const name of primaryKeyOf(model)) {
    if (keys.some((key) => key.field.name === name)) continue
    keys.push({ field: model.fields.get(name)!, direction: tieDirection })
  }
  return keys
}

function parseOrderBy(
  model: ModelNode,
  orderBy: unknown,
  field: string,
  allowed: AllowedFields,
): SortKey[] {
  const items = Array.isArray(orderBy) ? orderBy : [orderBy]
  if (items.length === 0) throw invalid(field, 'must name at least one field')
  const keys: SortKey[] = []
  items.forEach((item, i) => {
    const at = Array.isArray(orderBy) ? `${field}[${i}]` : field
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw invalid(
        at,
        `must be an object such as { createdAt: 'desc' }, got ${describeValue(item)}`,
      )
    }
    const entries = Object.entries(item)
    if (entries.length !== 1) {
      throw invalid(at, 'must name exactly one field; pass an array for several sort fields')
    }
    const [name, direction] = entries[0]!
    const sortField = scalarField(model, name, at, allowed)
    if (direction !== 'asc' && direction !== 'desc') {
      throw invalid(`${at}.${name}`, `must be 'asc' or 'desc', got ${describeValue(direction)}`)
    }
    if (sortField.isList || sortField.type === 'Json') {
      throw invalid(at, `${model.name}.${name} (${sortField.type}) cannot be sorted on`)
    }
    if (keys.some((key) => key.field.name === name)) throw invalid(at, `repeats "${name}"`)
    keys.push({ field: sortField, direction })
  })
  return keys
}

/** The keys as Prisma's `orderBy`. Optional fields keep PostgreSQL's NULL placement. */
export function prismaOrderBy(keys: readonly SortKey[]): Record<string, SortDirection>[] {
  return keys.map((key) => ({ [key.field.name]: key.direction }))
}

/** The same keys, each direction reversed (to read backwards from a cursor). */
export function reversed(keys: readonly SortKey[]): SortKey[] {
  return keys.map((key) => ({ ...key, direction: key.direction === 'asc' ? 'desc' : 'asc' }))
}

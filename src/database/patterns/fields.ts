/**
 * What the query patterns need to know about a model's fields: checked names (a name from a
 * request must be a field of the model, and one of the call's `allowedFields` when it has
 * some), their Prisma types, the primary key, and the soft-delete fields.
 */
import { invalid } from '../../errors.js'
import type { DmmfField } from '../../prisma/schema/dmmf.js'
import type { ModelNode } from '../../prisma/schema/model-graph.js'
import { checkField, type FieldKinds } from '../model-of.js'

/** Prisma's numeric scalar types: what `getPopular` sorts on and `_sum` / `_avg` add up. */
const NUMERIC_TYPES: ReadonlySet<string> = new Set(['Int', 'BigInt', 'Float', 'Decimal'])

/** Field names a call may use, on top of being fields of the model; `undefined` for all. */
export type AllowedFields = ReadonlySet<string> | undefined

/**
 * The scalar field `name` of `model`, checked with `checkField` and against `allowed`: a
 * `ValidationError` naming `field` otherwise.
 */
export function scalarField(
  model: ModelNode,
  name: unknown,
  field: string,
  allowed?: AllowedFields,
): DmmfField {
  const checked = checkField(model, name, field)
  if (allowed !== undefined && !allowed.has(checked)) {
    throw invalid(field, `"${checked}" is not allowed here (allowed: ${[...allowed].join(', ')})`)
  }
  return model.fields.get(checked)!
}

/** Like {@link scalarField}, and the field must hold numbers (Int, BigInt, Float, Decimal). */
export function numericField(
  model: ModelNode,
  name: unknown,
  field: string,
  allowed?: AllowedFields,
): DmmfField {
  const found = scalarField(model, name, field, allowed)
  if (!NUMERIC_TYPES.has(found.type) || found.isList) {
    throw invalid(field, `${model.name}.${found.name} is ${typeName(found)}, not a number field`)
  }
  return found
}

/**
 * The `allowedFields` option of a call: `undefined`, or an array of field names of `model`
 * (each checked, so that a typo in the allow-list fails at once rather than allowing nothing).
 */
export function allowedFieldsOf(
  model: ModelNode,
  value: unknown,
  field: string,
  kinds: FieldKinds = 'scalar',
): AllowedFields {
  if (value === undefined) return undefined
  if (!Array.isArray(value) || value.length === 0) {
    throw invalid(field, 'must be a non-empty array of field names')
  }
  return new Set(value.map((name, i) => checkField(model, name, `${field}[${i}]`, kinds)))
}

/** The fields of the model's primary key (its first unique key when it has no `@id`). */
export function primaryKeyOf(model: ModelNode): readonly string[] {
  const key = model.uniqueKeys[0]
  if (key === undefined) throw invalid('model', `${model.name} has no primary or unique key`)
  return key.fields
}

/** The soft-delete fields a model has: a Boolean `isDeleted`, a DateTime `deletedAt`. */
export interface SoftDeleteFields {
  readonly isDeleted: boolean
  readonly deletedAt: boolean
}

/** Which soft-delete fields `model` has, or `undefined` when it has neither. */
export function softDeleteFieldsOf(model: ModelNode): SoftDeleteFields | undefined {
  const flag = model.fields.get('isDeleted')
  const stamp = model.fields.get('deletedAt')
  const isDeleted = flag?.kind === 'scalar' && flag.type === 'Boolean' && !flag.isList
  const deletedAt = stamp?.kind === 'scalar' && stamp.type === 'DateTime' && !stamp.isRequired
  return isDeleted || deletedAt ? { isDeleted, deletedAt } : undefined
}

/**
 * The condition "not soft-deleted" for `model`: `isDeleted: false` and/or `deletedAt: null`,
 * or `undefined` when the model is not soft-deletable.
 */
export function notDeletedWhere(model: ModelNode): Record<string, unknown> | undefined {
  const fields = softDeleteFieldsOf(model)
  if (fields === undefined) return undefined
  const where: Record<string, unknown> = {}
  if (fields.isDeleted) where.isDeleted = false
  if (fields.deletedAt) where.deletedAt = null
  return where
}

/** `Int`, `String[]`, `Decimal?`: a field's type as the schema writes it, for messages. */
export function typeName(field: DmmfField): string {
  return `${field.type}${field.isList ? '[]' : field.isRequired ? '' : '?'}`
}

/** `{ AND: [a, b] }` of the conditions that are given (a single one as it is). */
export function allOf(...conditions: (object | undefined)[]): Record<string, unknown> {
  const given = conditions.filter(
    (condition): condition is object =>
      condition !== undefined && Object.keys(condition).length > 0,
  )
  if (given.length === 0) return {}
  if (given.length === 1) return given[0] as Record<string, unknown>
  return { AND: given }
}

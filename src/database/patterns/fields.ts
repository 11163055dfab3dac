/**
 * The model behind a Prisma delegate (`prisma.product`), and what the query patterns need to
 * know about its fields: checked names (a name from a request, such as a sort field from a query
 * string, must be a field of the model, and one of the call's `allowedFields` when it has some),
 * their Prisma types, the primary key, and the soft-delete fields.
 */
import { invalid } from '../../errors.js'
import { describeValue } from '../../option-checks.js'
import { type DmmfField, modelGraphOf } from '../../prisma/schema/dmmf.js'
import type { ModelNode } from '../../prisma/schema/model-graph.js'

/** What the toolkit needs of a model delegate: Prisma 7 delegates carry their model's `$name`. */
export interface NamedDelegate {
  readonly $name?: unknown
}

/**
 * The schema model of `delegate`, looked up in `client`'s schema. Throws a `ValidationError`
 * naming `field` when `delegate` is not a model delegate of that client.
 *
 * @example
 * ```ts
 * modelOf(prisma, prisma.product, 'model').uniqueKeys[0].fields // ['id']
 * ```
 */
export function modelOf(client: unknown, delegate: unknown, field: string): ModelNode {
  const name = (delegate as NamedDelegate | null | undefined)?.$name
  if (typeof delegate !== 'object' || delegate === null || typeof name !== 'string') {
    throw invalid(field, 'must be a Prisma model delegate such as prisma.product')
  }
  const model = modelGraphOf(client, undefined, 'prisma').model(name)
  if (model === undefined) throw invalid(field, `model ${name} is not in this client's schema`)
  return model
}

/** Which kinds of field a name may denote: stored columns only, or relations too. */
export type FieldKinds = 'scalar' | 'any'

/**
 * `name` if it is a field of `model` (a scalar or enum column for `'scalar'`), else a
 * `ValidationError` naming `field` and listing what is allowed, so that no request sorts or
 * filters on a column the code did not mean to expose.
 *
 * @example
 * ```ts
 * checkField(model, request.query.sort, 'options.orderBy') // 'createdAt', or throws
 * ```
 */
export function checkField(
  model: ModelNode,
  name: unknown,
  field: string,
  kinds: FieldKinds = 'scalar',
): string {
  if (typeof name !== 'string' || name.length === 0) {
    throw invalid(field, `must be a field name of ${model.name}, got ${describeValue(name)}`)
  }
  const found = model.fields.get(name)
  if (found === undefined || (kinds === 'scalar' && !isColumn(found.kind))) {
    const allowed = [...model.fields.values()]
      .filter((f) => kinds === 'any' || isColumn(f.kind))
      .map((f) => f.name)
    throw invalid(
      field,
      `"${name}" is not a field of ${model.name} (one of: ${allowed.join(', ')})`,
    )
  }
  return name
}

function isColumn(kind: string): boolean {
  return kind === 'scalar' || kind === 'enum'
}

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

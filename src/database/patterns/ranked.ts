/**
 * "Top n" lists: the most recent rows by a DateTime field (`createdAt` unless told), and the
 * most popular by a number field (`viewCount`). The primary key breaks ties so equal values come
 * back in a stable order; an optional number field puts NULLs last (PostgreSQL puts them first
 * in a descending sort, where they would pass for the most popular).
 */
import { invalid } from '../../errors.js'
import type { PatternContext } from './context.js'
import { allowedFieldsOf, numericField, primaryKeyOf, scalarField, typeName } from './fields.js'
import { integerIn, optionalShape, whereObject } from './options.js'
import type { RuntimeDelegate } from './runtime-delegate.js'

/** The arguments of `getRecent` / `getPopular`, positional or as one options object. */
export interface RankedRequest {
  take: unknown
  field?: unknown
  where?: unknown
  select?: unknown
  allowedFields?: unknown
}

/** See `QueryPatterns.getRecent`. */
export function getRecent(
  context: PatternContext,
  delegate: unknown,
  request: RankedRequest,
  prefix: string,
): Promise<unknown[]> {
  const model = context.modelOf(delegate)
  const allowed = allowedFieldsOf(model, request.allowedFields, `${prefix}allowedFields`)
  const name = request.field ?? 'createdAt'
  const fieldName = `${prefix}field`
  if (request.field === undefined && !model.fields.has('createdAt')) {
    // Positionally there is no field argument: the model is what lacks the default.
    throw invalid(
      prefix ? fieldName : 'model',
      `${model.name} has no createdAt field; pass { field } naming its DateTime field to sort on`,
    )
  }
  const field = scalarField(model, name, fieldName, allowed)
  if (field.type !== 'DateTime' || field.isList) {
    throw invalid(
      fieldName,
      `${model.name}.${field.name} is ${typeName(field)}, not a DateTime field`,
    )
  }
  return ranked(context, delegate, request, prefix, field.name, !field.isRequired)
}

/** See `QueryPatterns.getPopular`. */
export function getPopular(
  context: PatternContext,
  delegate: unknown,
  request: RankedRequest,
  prefix: string,
): Promise<unknown[]> {
  const model = context.modelOf(delegate)
  const allowed = allowedFieldsOf(model, request.allowedFields, `${prefix}allowedFields`)
  const field = numericField(model, request.field, `${prefix}field`, allowed)
  return ranked(context, delegate, request, prefix, field.name, !field.isRequired)
}

async function ranked(
  context: PatternContext,
  delegate: unknown,
  request: RankedRequest,
  prefix: string,
  field: string,
  optional: boolean,
): Promise<unknown[]> {
  const model = context.modelOf(delegate)
  const take = integerIn(request.take, `${prefix}${prefix ? 'take' : 'n'}`, 1, context.maxPageSize)
  const select = optionalShape(request.select, `${prefix}select`)
  const where = whereObject(request.where, `${prefix}where`)
  const orderBy = [
    { [field]: optional ? { sort: 'desc', nulls: 'last' } : 'desc' },
    ...primaryKeyOf(model)
      .filter((name) => name !== field)
      .map((name) => ({ [name]: 'desc' })),
  ]
  return (delegate as RuntimeDelegate).findMany({
    where,
    orderBy,
    take,
    ...(select === undefined ? {} : { select }),
  })
}

/**
 * "Top n" lists: the most recent rows by a DateTime field (`createdAt` unless told), and the
 * most popular by a number field (`viewCount`). The primary key breaks ties so equal values come
 * back in a stable order; an optional number field puts NULLs last (PostgreSQL puts them first
 * in a descending sort, where they would pass for the most popular).
 */
import { invalid } from '../../errors.js'
import type { DmmfField } from '../../prisma/schema/dmmf.js'
import type { ModelNode } from '../../prisma/schema/model-graph.js'
import type { PatternContext } from './context.js'
import { allowedFieldsOf, numericField, primaryKeyOf, scalarField, typeName } from './fields.js'
import { integerIn, optionalShape, whereObject } from './query-patterns-options.js'
import type { RuntimeDelegate } from './types.js'

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
  return ranked(context, model, delegate, request, prefix, field)
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
  return ranked(context, model, delegate, request, prefix, field)
}

/** The top `take` rows by `field`, descending, ties by primary key. */
async function ranked(
  context: PatternContext,
  model: ModelNode,
  delegate: unknown,
  request: RankedRequest,
  prefix: string,
  field: DmmfField,
): Promise<unknown[]> {
  const take = integerIn(request.take, `${prefix}${prefix ? 'take' : 'n'}`, 1, context.maxPageSize)
  const select = optionalShape(request.select, `${prefix}select`)
  const where = whereObject(request.where, `${prefix}where`)
  const orderBy = [
    { [field.name]: field.isRequired ? 'desc' : { sort: 'desc', nulls: 'last' } },
    ...primaryKeyOf(model)
      .filter((name) => name !== field.name)
      .map((name) => ({ [name]: 'desc' })),
  ]
  return (delegate as RuntimeDelegate).findMany({
    where,
    orderBy,
    take,
    ...(select === undefined ? {} : { select }),
  })
}

/** getRecent / getPopular's arguments: `(n, [field,] where, select)` or one options object. */
export function rankedRequestOf(
  first: unknown,
  field: unknown,
  where: unknown,
  select: unknown,
): { request: RankedRequest; prefix: string } {
  if (typeof first === 'object' && first !== null && !Array.isArray(first)) {
    return { request: first as RankedRequest, prefix: 'options.' }
  }
  return { request: { take: first, field, where, select }, prefix: '' }
}

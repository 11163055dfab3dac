/**
 * Text search: rows where any of the given fields contains the query, case-insensitively
 * (`ILIKE '%query%'` in PostgreSQL, the query's `%`, `_` and backslashes escaped: Prisma would
 * pass them on as wildcards). A `String[]` field matches when it has the query as one element
 * (exactly: list filters have no insensitive mode).
 * Soft-deleted rows (`isDeleted` / `deletedAt` on the model) are left out unless
 * `includeDeleted` is set.
 */
import { invalid } from '../../errors.js'
import type { PatternContext } from './context.js'
import { allOf, allowedFieldsOf, notDeletedWhere, scalarField, typeName } from './fields.js'
import { prismaOrderBy, totalOrder } from './order-by.js'
import { integerIn, optionalBoolean, optionalShape, whereObject } from './query-patterns-options.js'
import type { RuntimeDelegate } from './types.js'
import { escapeLike } from './where-builder.js'

/** Rows `search` returns when no `limit` is given. */
export const DEFAULT_SEARCH_LIMIT = 20
/** Longer queries are refused: a pattern scan of kilobytes per row is not a search box. */
export const MAX_QUERY_LENGTH = 500

/** The arguments of `search`, positional or as one options object, checked. */
export interface SearchRequest {
  query: unknown
  fields: unknown
  where?: unknown
  limit?: unknown
  select?: unknown
  orderBy?: unknown
  includeDeleted?: unknown
  allowedFields?: unknown
}

/** See `QueryPatterns.search`. */
export async function search(
  context: PatternContext,
  delegate: unknown,
  request: SearchRequest,
  prefix: string,
): Promise<unknown[]> {
  const model = context.modelOf(delegate)
  const at = (name: string) => `${prefix}${name}`
  if (typeof request.query !== 'string') {
    throw invalid(at('query'), `must be a string, got ${typeof request.query}`)
  }
  const query = request.query.trim()
  if (query.length > MAX_QUERY_LENGTH) {
    throw invalid(at('query'), `must be at most ${MAX_QUERY_LENGTH} characters`)
  }
  const allowed = allowedFieldsOf(model, request.allowedFields, at('allowedFields'))
  if (!Array.isArray(request.fields) || request.fields.length === 0) {
    throw invalid(at('fields'), 'must be a non-empty array of String field names')
  }
  const conditions = request.fields.map((name, i) => {
    const field = scalarField(model, name, `${at('fields')}[${i}]`, allowed)
    if (field.type !== 'String') {
      throw invalid(
        `${at('fields')}[${i}]`,
        `${model.name}.${field.name} is ${typeName(field)}; search needs String or String[] fields`,
      )
    }
    return field.isList
      ? { [field.name]: { has: query } }
      : { [field.name]: { contains: escapeLike(query), mode: 'insensitive' } }
  })
  const limit = integerIn(request.limit, at('limit'), 1, context.maxPageSize, DEFAULT_SEARCH_LIMIT)
  const select = optionalShape(request.select, at('select'))
  const orderBy = prismaOrderBy(totalOrder(model, request.orderBy, at('orderBy'), allowed))
  const includeDeleted = optionalBoolean(request.includeDeleted, at('includeDeleted')) ?? false
  const filter = whereObject(request.where, at('where'))
  // An empty query would match every row through `contains: ''`: a search box left empty.
  if (query.length === 0) return []
  return (delegate as RuntimeDelegate).findMany({
    where: allOf(filter, includeDeleted ? undefined : notDeletedWhere(model), { OR: conditions }),
    orderBy,
    take: limit,
    ...(select === undefined ? {} : { select }),
  })
}

/** The search request in `search`'s arguments: positional or one options object. */
export function searchRequestOf(args: readonly unknown[]): {
  request: SearchRequest
  prefix: string
} {
  const [first, fields, where, limit, select] = args
  if (typeof first === 'object' && first !== null && !Array.isArray(first)) {
    return { request: first as SearchRequest, prefix: 'options.' }
  }
  return { request: { query: first, fields, where, limit, select }, prefix: '' }
}

/**
 * Offset pagination: page `page` of `pageSize` rows and the total, from one snapshot. Sorts by
 * the checked `orderBy` and then the primary key, so rows with equal sort values keep their
 * places from one page to the next.
 */
import { invalid } from '../../errors.js'
import type { PatternContext } from './context.js'
import { allowedFieldsOf } from './fields.js'
import { prismaOrderBy, totalOrder } from './order-by.js'
import { integerIn, optionalShape, optionsObject, whereObject } from './query-patterns-options.js'
import type { RuntimeDelegate } from './types.js'

/** One page of `QueryPatterns.paginate`. */
export interface Page<R> {
  /** The rows of the page. */
  readonly data: R[]
  /** Rows matching `where`, counted in the same snapshot as `data`. */
  readonly total: number
  /** The page, from 1. */
  readonly page: number
  /** Rows per page asked for. */
  readonly pageSize: number
  /** `ceil(total / pageSize)`; 0 when nothing matches. */
  readonly totalPages: number
  /** Whether a page follows. */
  readonly hasNextPage: boolean
  /** Whether a page comes before. */
  readonly hasPreviousPage: boolean
}

/** The most rows a page may skip (2^31 - 1, Prisma's `skip` limit). */
const MAX_SKIP = 2 ** 31 - 1

/** See `QueryPatterns.paginate`. */
export async function paginate(
  context: PatternContext,
  delegate: unknown,
  options: unknown,
  where: unknown,
): Promise<Page<unknown>> {
  const model = context.modelOf(delegate)
  if (options === undefined) throw invalid('options', 'is required ({ page, pageSize })')
  const settings = optionsObject(options, 'options')
  const page = integerIn(settings.page, 'options.page', 1, Number.MAX_SAFE_INTEGER)
  const pageSize = integerIn(settings.pageSize, 'options.pageSize', 1, context.maxPageSize)
  const skip = (page - 1) * pageSize
  // Prisma's skip is a 32-bit Int; and an offset that deep reads every row before it.
  if (skip > MAX_SKIP) {
    throw invalid(
      'options.page',
      `is too large: it skips ${skip} rows, more than ${MAX_SKIP}; page deep lists with paginateWithCursor`,
    )
  }
  const allowed = allowedFieldsOf(model, settings.allowedFields, 'options.allowedFields')
  const orderBy = prismaOrderBy(totalOrder(model, settings.orderBy, 'options.orderBy', allowed))
  const select = optionalShape(settings.select, 'options.select')
  const include = optionalShape(settings.include, 'options.include')
  if (select !== undefined && include !== undefined) {
    throw invalid('options', 'include and select cannot be used together (as in findMany)')
  }
  const filter = whereObject(where, 'where')
  const models = delegate as RuntimeDelegate
  const [total, data] = (await context.batch(
    [
      models.count({ where: filter }),
      models.findMany({
        where: filter,
        orderBy,
        skip,
        take: pageSize,
        ...(select === undefined ? {} : { select }),
        ...(include === undefined ? {} : { include }),
      }),
    ],
    true,
  )) as [number, unknown[]]
  return pageEnvelope(data, total, page, pageSize)
}

/**
 * The envelope of one offset page (the shape `paginate` returns), for lists paged by other means
 * too.
 * Throws a `ValidationError` naming `data`, `total`, `page` or `pageSize` when one is not usable.
 *
 * @example
 * ```ts
 * pageEnvelope(rows, 45, 3, 20) // { data: rows, total: 45, page: 3, pageSize: 20, totalPages: 3,
 *                              //   hasNextPage: false, hasPreviousPage: true }
 * ```
 */
export function pageEnvelope<T>(data: T[], total: number, page: number, pageSize: number): Page<T> {
  if (!Array.isArray(data)) throw invalid('data', 'must be an array of rows')
  integerIn(total, 'total', 0, Number.MAX_SAFE_INTEGER)
  integerIn(page, 'page', 1, Number.MAX_SAFE_INTEGER)
  integerIn(pageSize, 'pageSize', 1, Number.MAX_SAFE_INTEGER)
  const totalPages = Math.ceil(total / pageSize)
  return {
    data,
    total,
    page,
    pageSize,
    totalPages,
    hasNextPage: page < totalPages,
    hasPreviousPage: page > 1,
  }
}

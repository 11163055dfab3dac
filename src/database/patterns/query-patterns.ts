/**
 * QueryPatterns: the common query shapes of a Prisma + PostgreSQL backend (offset and cursor
 * pagination, bulk writes in batches, search, top-n lists, grouped aggregates, filters from
 * request parameters), each one checked: every field name that may come from a request (sort,
 * search, group and filter fields) must be a field of the model, and of the call's
 * `allowedFields` when it gives some, or the call throws a `ValidationError` naming the argument.
 *
 * Works with a plain or an extended client (a `withCache` client caches the reads it caches
 * elsewhere; `$transaction` batches bypass the cache, as guarantee 7 says).
 */
import { aggregate } from './aggregate.js'
import { type BatchOptions, bulkCreate, bulkDelete, bulkUpdate } from './bulk.js'
import { PatternContext } from './context.js'
import { type CursorPage, paginateWithCursor } from './cursor-pagination.js'
import { type Page, paginate } from './pagination.js'
import type {
  Aggregations,
  BulkCreateOptions,
  BulkDeleteOptions,
  CursorPaginateOptions,
  FieldRestriction,
  PaginateOptions,
  QueryPatternsOptions,
  RankedOptions,
  SearchOptions,
} from './query-patterns-options.js'
import { getPopular, getRecent, rankedRequestOf } from './ranked.js'
import { search, searchRequestOf } from './search.js'
import type {
  BulkResult,
  CreateRowOf,
  GroupRowOf,
  ModelDelegate,
  RowOf,
  ScalarFieldOf,
  SelectOf,
  UpdateDataOf,
  WhereOf,
} from './types.js'
import { buildSelect, buildWhere } from './where-builder.js'

type Selected<S> = { select: S }

/**
 * Query patterns over one Prisma client.
 *
 * @example
 * ```ts
 * const patterns = new QueryPatterns(prisma, { maxPageSize: 50 })
 * const page = await patterns.paginate(
 *   prisma.product,
 *   { page: 2, pageSize: 20, orderBy: { createdAt: 'desc' }, select: { id: true, name: true } },
 *   { isActive: true },
 * )
 * page.data[0]?.name // string; page.total, page.totalPages, page.hasNextPage ...
 * ```
 */
export class QueryPatterns {
  readonly #context: PatternContext

  /**
   * @param prisma A Prisma 7 client, plain or extended (its schema is read for field checks).
   * @throws ValidationError on `prisma` (not a Prisma client) or `options.maxPageSize`.
   */
  constructor(prisma: object, options: QueryPatternsOptions = {}) {
    this.#context = PatternContext.of(prisma, options)
  }

  /**
   * Page `page` (from 1) of `pageSize` rows matching `where`, with the total. `count` and
   * `findMany` run in one `$transaction([...])` at REPEATABLE READ, so `total` and `data` come
   * from the same snapshot even while rows are inserted. `where` is trusted (code-built); build
   * it from request parameters with {@link buildOptimizedWhere} and a model.
   *
   * @throws ValidationError on `model`, `options.page`, `options.pageSize` (above
   *   `maxPageSize`), `options.orderBy[...]` (not a field, or not allowed), `options.select`...
   * @example
   * ```ts
   * const { data, total, totalPages } = await patterns.paginate(prisma.product, { page: 1, pageSize: 20 })
   * ```
   */
  paginate<D extends ModelDelegate, const O extends PaginateOptions<D>>(
    model: D,
    options: O,
    where?: WhereOf<D>,
  ): Promise<Page<RowOf<D, O>>> {
    return paginate(this.#context, model, options, where) as Promise<Page<RowOf<D, O>>>
  }

  /**
   * Keyset pagination: `take` rows after (or, `direction: 'backward'`, before) `cursor`, in the
   * order of `orderBy` then the primary key. Stable under concurrent writes: a row that existed
   * when paging began is never repeated or skipped, however many rows are inserted meanwhile.
   * Cursors are opaque strings; pass `nextCursor` forward, `previousCursor` backward.
   *
   * @throws ValidationError on `options.take`, `options.orderBy` (not a field, optional, an
   *   enum...), `options.cursor` (tampered, or made for another orderBy), `options.direction`.
   * @example
   * ```ts
   * let page = await patterns.paginateWithCursor(prisma.product, { take: 20, orderBy: { createdAt: 'desc' } })
   * while (page.nextCursor) {
   *   page = await patterns.paginateWithCursor(prisma.product, { take: 20, orderBy: { createdAt: 'desc' }, cursor: page.nextCursor })
   * }
   * ```
   */
  paginateWithCursor<D extends ModelDelegate, const O extends CursorPaginateOptions<D>>(
    model: D,
    options: O,
    where?: WhereOf<D>,
  ): Promise<CursorPage<RowOf<D, O>>> {
    return paginateWithCursor(this.#context, model, options, where) as Promise<
      CursorPage<RowOf<D, O>>
    >
  }

  /**
   * Inserts `rows` with `createMany`, `batchSize` rows per statement (default 500; a number as
   * third argument is the batch size). Each batch is atomic; a failing batch rejects and leaves
   * the earlier ones. Resolves to `{ count, batches }`, plus `rows` with `returnRows: true`.
   *
   * @throws ValidationError on `rows` / `rows[i]`, `options.batchSize`, `options.onProgress`.
   * @example
   * ```ts
   * await patterns.bulkCreate(prisma.product, rows, { batchSize: 100, onProgress: ({ done, total }) => log(done, total) })
   * ```
   */
  bulkCreate<D extends ModelDelegate>(
    model: D,
    rows: readonly CreateRowOf<D>[],
    options: BulkCreateOptions & { returnRows: true },
  ): Promise<
    BulkResult & {
      /** The rows created. */
      rows: RowOf<D>[]
    }
  >
  bulkCreate<D extends ModelDelegate>(
    model: D,
    rows: readonly CreateRowOf<D>[],
    options?: number | BulkCreateOptions,
  ): Promise<BulkResult>
  bulkCreate(model: ModelDelegate, rows: readonly unknown[], options?: unknown) {
    return bulkCreate(this.#context, model, rows, options)
  }

  /**
   * Applies `updates` (`updateMany` each), `batchSize` per `$transaction` (default 500; a
   * number as third argument is the batch size): each batch applies wholly or not at all.
   * Resolves to the rows updated. Each `where` must have a condition.
   *
   * @throws ValidationError on `updates[i].where` (missing or empty), `updates[i].data`,
   *   `options.batchSize`.
   * @example
   * ```ts
   * await patterns.bulkUpdate(prisma.product, prices.map((p) => ({ where: { id: p.id }, data: { price: p.price } })), 50)
   * ```
   */
  bulkUpdate<D extends ModelDelegate>(
    model: D,
    updates: readonly { where: WhereOf<D>; data: UpdateDataOf<D> }[],
    options?: number | BatchOptions,
  ): Promise<BulkResult> {
    return bulkUpdate(this.#context, model, updates, options)
  }

  /**
   * Deletes the rows matching `where` in batches of `batchSize` primary keys (default 500), or
   * soft-deletes them (`isDeleted: true` and/or `deletedAt: now` on rows not yet deleted).
   * `where` must have a condition. Also callable positionally:
   * `bulkDelete(model, where, softDelete, batchSize)`.
   *
   * @throws ValidationError on `where` (missing or empty), `options.softDelete` (the model has
   *   no isDeleted / deletedAt), `options.batchSize`.
   * @example
   * ```ts
   * const { count } = await patterns.bulkDelete(prisma.note, { createdAt: { lt: cutoff } }, { softDelete: true })
   * ```
   */
  bulkDelete<D extends ModelDelegate>(
    model: D,
    where: WhereOf<D>,
    options?: BulkDeleteOptions,
  ): Promise<BulkResult>
  bulkDelete<D extends ModelDelegate>(
    model: D,
    where: WhereOf<D>,
    softDelete: boolean,
    batchSize?: number,
  ): Promise<BulkResult>
  bulkDelete(model: ModelDelegate, where: unknown, options?: unknown, batchSize?: unknown) {
    return bulkDelete(this.#context, model, where, options, batchSize)
  }

  /**
   * Rows where any of `fields` contains `query`, case-insensitively, leaving out soft-deleted
   * rows (models with `isDeleted` / `deletedAt`; `includeDeleted: true` keeps them). An empty
   * (or blank) query resolves to `[]` without a query. Positional arguments, or one options
   * object (with `orderBy`, `includeDeleted`, `allowedFields`).
   *
   * @throws ValidationError on `query`, `fields[i]` (not a String field of the model, or not
   *   allowed), `limit` (above `maxPageSize`), `where`; `options.`-prefixed in the object form.
   * @example
   * ```ts
   * await patterns.search(prisma.product, 'cable', ['name', 'description'], { isActive: true }, 20)
   * ```
   */
  search<D extends ModelDelegate, const S extends SelectOf<D> | undefined = undefined>(
    model: D,
    query: string,
    fields: readonly ScalarFieldOf<D>[],
    where?: WhereOf<D>,
    limit?: number,
    select?: S,
  ): Promise<RowOf<D, Selected<S>>[]>
  search<D extends ModelDelegate, const O extends SearchOptions<D>>(
    model: D,
    options: O,
  ): Promise<RowOf<D, O>[]>
  search(model: ModelDelegate, ...args: unknown[]) {
    const { request, prefix } = searchRequestOf(args)
    return search(this.#context, model, request, prefix)
  }

  /**
   * The `n` most recent rows by `createdAt` (or `field`, a DateTime), newest first.
   *
   * @throws ValidationError on `n` / `options.take`, `options.field` (not a DateTime field, or
   *   the model has no `createdAt`).
   * @example
   * ```ts
   * await patterns.getRecent(prisma.product, 10, { isActive: true }, { id: true, name: true })
   * ```
   */
  getRecent<D extends ModelDelegate, const S extends SelectOf<D> | undefined = undefined>(
    model: D,
    n: number,
    where?: WhereOf<D>,
    select?: S,
  ): Promise<RowOf<D, Selected<S>>[]>
  getRecent<D extends ModelDelegate, const O extends RankedOptions<D>>(
    model: D,
    options: O,
  ): Promise<RowOf<D, O>[]>
  getRecent(model: ModelDelegate, first: unknown, where?: unknown, select?: unknown) {
    const { request, prefix } = rankedRequestOf(first, undefined, where, select)
    return getRecent(this.#context, model, request, prefix)
  }

  /**
   * The `n` rows with the highest `field` (a number field such as `viewCount`), highest first;
   * rows where an optional field is NULL come last.
   *
   * @throws ValidationError on `n`, `field` (not a number field, or not allowed).
   * @example
   * ```ts
   * await patterns.getPopular(prisma.product, 10, 'viewCount', { isActive: true })
   * ```
   */
  getPopular<D extends ModelDelegate, const S extends SelectOf<D> | undefined = undefined>(
    model: D,
    n: number,
    field: ScalarFieldOf<D>,
    where?: WhereOf<D>,
    select?: S,
  ): Promise<RowOf<D, Selected<S>>[]>
  getPopular<D extends ModelDelegate, const O extends RankedOptions<D>>(
    model: D,
    options: O,
  ): Promise<RowOf<D, O>[]>
  getPopular(
    model: ModelDelegate,
    first: unknown,
    field?: unknown,
    where?: unknown,
    select?: unknown,
  ) {
    const { request, prefix } = rankedRequestOf(first, field, where, select)
    return getPopular(this.#context, model, request, prefix)
  }

  /**
   * `groupBy` on checked fields: one row per distinct combination of `groupBy`, ordered by them,
   * with the requested `_count` / `_sum` / `_avg` / `_min` / `_max` (default `{ _count: true }`).
   *
   * @throws ValidationError on `groupBy[i]`, `aggregations._sum.<field>` (not a number field)...
   * @example
   * ```ts
   * await patterns.aggregate(prisma.order, ['status'], { createdAt: { gte: lastMonth } }, { _sum: { totalCents: true }, _count: true })
   * ```
   */
  aggregate<
    D extends ModelDelegate,
    const B extends readonly ScalarFieldOf<D>[],
    const A extends Aggregations<D> = { _count: true },
  >(
    model: D,
    groupBy: B,
    where?: WhereOf<D>,
    aggregations?: A,
    options?: FieldRestriction<D>,
  ): Promise<GroupRowOf<D, { by: B[number][] } & A>[]> {
    return aggregate(this.#context, model, groupBy, where, aggregations, options) as Promise<
      GroupRowOf<D, { by: B[number][] } & A>[]
    >
  }

  /**
   * `{ field: true, ... }` for `findMany`'s `select`; with `model`, each name must be one of its
   * fields (relations included) and of `options.allowedFields`.
   *
   * @throws ValidationError on `fields` / `fields[i]`.
   * @example
   * ```ts
   * patterns.getOptimizedSelect(['id', 'name']) // { id: true, name: true }
   * ```
   */
  getOptimizedSelect<const F extends readonly string[]>(
    fields: F,
    model?: ModelDelegate,
    options?: { allowedFields?: readonly string[] },
  ): { [K in F[number]]: true } {
    const { node, allowed } = this.#context.restriction(model, options?.allowedFields, 'any')
    return buildSelect(fields, node, allowed) as { [K in F[number]]: true }
  }

  /**
   * A `where` from request filters: arrays become `{ in }`, `'%x%'` / `'x%'` / `'%x'` become
   * insensitive `contains` / `startsWith` / `endsWith`, `undefined` values are dropped, `null`
   * is kept. With `model`, every key (inside `AND` / `OR` / `NOT` too) must be a scalar field of
   * it and of `options.allowedFields`, and patterns apply to String fields only.
   *
   * @throws ValidationError on `filters.<key>` (not a field, or not allowed).
   * @example
   * ```ts
   * patterns.buildOptimizedWhere({ categoryId: [1, 2], name: '%cable%', featured: undefined }, prisma.product)
   * // { categoryId: { in: [1, 2] }, name: { contains: 'cable', mode: 'insensitive' } }
   * ```
   */
  buildOptimizedWhere<D extends ModelDelegate>(
    filters: Record<string, unknown>,
    model: D,
    options?: FieldRestriction<D>,
  ): WhereOf<D>
  buildOptimizedWhere(filters: Record<string, unknown>): Record<string, unknown>
  buildOptimizedWhere(
    filters: Record<string, unknown>,
    model?: ModelDelegate,
    options?: { allowedFields?: readonly string[] },
  ): unknown {
    const { node, allowed } = this.#context.restriction(model, options?.allowedFields)
    return buildWhere(filters, node, allowed)
  }
}

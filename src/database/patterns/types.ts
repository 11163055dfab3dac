/**
 * The types QueryPatterns gives its callers, read off the Prisma delegate they pass (as
 * `batchFindMany` does): `where`, `select` and row types of that model, so that
 * `patterns.paginate(prisma.product, ...)` returns `Product` rows, or the selected subset.
 */
import type { Types } from '@prisma/client/runtime/client'

/** What QueryPatterns calls on a model delegate; `prisma.product` of a plain or extended client. */
export interface ModelDelegate {
  findMany(args: never): PromiseLike<unknown>
}

type ArgsOf<D, Op extends Types.Public.Operation> = Types.Public.Args<D, Op>
type ArgField<D, Op extends Types.Public.Operation, K extends string> =
  ArgsOf<D, Op> extends { [P in K]?: infer V } ? V : never

/** The model's `where` input (`Prisma.ProductWhereInput`). */
export type WhereOf<D> = ArgField<D, 'findMany', 'where'>
/** The model's `select` input. */
export type SelectOf<D> = ArgField<D, 'findMany', 'select'>
/** The model's `include` input. */
export type IncludeOf<D> = ArgField<D, 'findMany', 'include'>
/** The model's `orderBy` input, as `findMany` takes it. */
export type OrderByOf<D> = ArgField<D, 'findMany', 'orderBy'>

type Selection<O> = O extends { select: infer S extends object }
  ? { select: S }
  : O extends { include: infer I extends object }
    ? { include: I }
    : Record<never, never>

/** The row `findMany` returns for the delegate `D` with the `select` / `include` of `O`. */
export type RowOf<D, O = Record<never, never>> =
  Types.Public.Result<D, Selection<O>, 'findMany'> extends readonly (infer R)[] ? R : never

/** Names of the model's stored (scalar) fields, as they appear in its rows. */
export type ScalarFieldOf<D> = keyof RowOf<D> & string

/** A sort direction. */
export type SortDirection = 'asc' | 'desc'

/**
 * One sort field, or several in priority order: `{ createdAt: 'desc' }`, `[{ a: 'asc' }, ...]`.
 * A key computed from a request (`{ [request.query.sort]: 'asc' }`, typed `string`) is accepted
 * too: such names are what the runtime check (and `allowedFields`) is for.
 */
export type SimpleOrderBy<D> = OrderItem<D> | readonly OrderItem<D>[]

type OrderItem<D> = { [K in ScalarFieldOf<D>]?: SortDirection } | { [key: string]: SortDirection }

/** One input row of `createMany` for the model. */
export type CreateRowOf<D> =
  ArgField<D, 'createMany', 'data'> extends infer R
    ? R extends readonly (infer E)[]
      ? E
      : R
    : never

/** The `data` of `updateMany` for the model. */
export type UpdateDataOf<D> = ArgField<D, 'updateMany', 'data'>

/** The `groupBy` rows of the model for the given arguments (`by`, `_count`, `_sum`...). */
export type GroupRowOf<D, A> =
  Types.Public.Result<D, A, 'groupBy'> extends readonly (infer R)[] ? R : never

/** Progress of a bulk operation, reported after each batch. */
export interface BulkProgress {
  /**
   * Work done so far: input rows sent (create; skipped duplicates included), updates applied
   * (update), rows deleted (delete).
   */
  readonly done: number
  /**
   * Work in all: the input length for create and update; for delete the rows that matched when
   * it started (raised if rows matching later are met, so `done <= total` always).
   */
  readonly total: number
  /** The number of the batch just finished, from 1. */
  readonly batch: number
}

/** Called after each batch; an error it throws stops the operation (earlier batches stay). */
export type ProgressCallback = (progress: BulkProgress) => void

/** What a bulk operation did. */
export interface BulkResult {
  /** Rows created, updated or deleted. */
  readonly count: number
  /** Batches run (each one statement, or one transaction for updates). */
  readonly batches: number
}

/**
 * The methods the query patterns call on a model delegate, untyped: the public functions are
 * typed by the caller's delegate (see types.ts), and arguments are checked before these calls.
 * Each returns Prisma's lazy PrismaPromise, which `$transaction([...])` can batch.
 */
export interface RuntimeDelegate {
  findMany(args: unknown): PromiseLike<unknown[]>
  findFirst(args: unknown): PromiseLike<unknown>
  count(args: unknown): PromiseLike<number>
  createMany(args: unknown): PromiseLike<{ count: number }>
  createManyAndReturn(args: unknown): PromiseLike<unknown[]>
  updateMany(args: unknown): PromiseLike<{ count: number }>
  deleteMany(args: unknown): PromiseLike<{ count: number }>
  groupBy(args: unknown): PromiseLike<unknown[]>
}

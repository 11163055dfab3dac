/**
 * The options of QueryPatterns' methods, typed by the caller's delegate `D` so that field names
 * are checked at compile time too, and the run-time checks of the arguments and options the
 * patterns take (for names that come from requests, and for untyped callers): each failure is a
 * `ValidationError` naming the argument or option (`options.pageSize`, `rows[3]`) and saying what
 * was expected.
 */
import { invalid } from '../../errors.js'
import { describeValue, isRecord } from '../../option-checks.js'
import type { BatchOptions } from './bulk.js'
import type { IncludeOf, ScalarFieldOf, SelectOf, SimpleOrderBy, WhereOf } from './types.js'

/** Options of `new QueryPatterns(prisma, options)`. */
export interface QueryPatternsOptions {
  /**
   * Largest `pageSize`, `take`, `limit` or `n` a call accepts.
   * @default 100
   */
  maxPageSize?: number
}

/** Field names a call may sort, search, group or filter on (each also a field of the model). */
export interface FieldRestriction<D> {
  /** Restricts the fields a request may name further than "fields of the model". */
  allowedFields?: readonly ScalarFieldOf<D>[]
}

/** Options of {@link QueryPatterns.paginate}. */
export interface PaginateOptions<D> extends FieldRestriction<D> {
  /** The page, from 1. */
  page: number
  /** Rows per page, from 1 to `maxPageSize`. */
  pageSize: number
  /**
   * Sort fields (checked); the primary key is appended as tie-breaker.
   * @default the primary key
   */
  orderBy?: SimpleOrderBy<D>
  /** Fields to return, as in Prisma's `select`. */
  select?: SelectOf<D>
  /** Relations to load, as in Prisma's `include`. */
  include?: IncludeOf<D>
}

/** Options of {@link QueryPatterns.paginateWithCursor}. */
export interface CursorPaginateOptions<D> extends FieldRestriction<D> {
  /** Rows per page, from 1 to `maxPageSize`. */
  take: number
  /**
   * Where to start: a `nextCursor` / `previousCursor` of an earlier page of the same `orderBy`,
   * or (ordering by the primary key alone) a plain key value. None (or `null`): the first page
   * (the last one with `direction: 'backward'`).
   */
  cursor?: string | number | null
  /**
   * Sort fields: required (never-null) scalars Prisma can compare (not enums, Json, Bytes or
   * lists); the primary key is appended as tie-breaker.
   * @default the primary key, ascending
   */
  orderBy?: SimpleOrderBy<D>
  /**
   * `'forward'`: the rows after the cursor; `'backward'`: the rows before it.
   * @default 'forward'
   */
  direction?: 'forward' | 'backward'
  /** Fields to return, as in Prisma's `select`. */
  select?: SelectOf<D>
  /** Relations to load, as in Prisma's `include`. */
  include?: IncludeOf<D>
}

/** Options of {@link QueryPatterns.bulkCreate}. */
export interface BulkCreateOptions extends BatchOptions {
  /** `ON CONFLICT DO NOTHING`: rows whose unique keys exist are skipped (and not counted). */
  skipDuplicates?: boolean
  /** Return the created rows too (`createManyAndReturn`). */
  returnRows?: boolean
}

/** Options of {@link QueryPatterns.bulkDelete}. */
export interface BulkDeleteOptions extends BatchOptions {
  /**
   * Set `isDeleted: true` and/or `deletedAt: now` instead of deleting; the model must have such
   * fields (else a `ValidationError` on `options.softDelete`).
   */
  softDelete?: boolean
}

/** Options of {@link QueryPatterns.search} in its one-object form. */
export interface SearchOptions<D> extends FieldRestriction<D> {
  /** The text to find (trimmed); empty: no query, `[]`. At most 500 characters. */
  query: string
  /** String fields to look in (any may match); `String[]` fields match an equal element. */
  fields: readonly ScalarFieldOf<D>[]
  /** A Prisma `where` the rows must also match. */
  where?: WhereOf<D>
  /**
   * Rows to return, from 1 to `maxPageSize`.
   * @default 20
   */
  limit?: number
  /** Fields to return, as in Prisma's `select`. */
  select?: SelectOf<D>
  /**
   * Sort fields (checked).
   * @default the primary key
   */
  orderBy?: SimpleOrderBy<D>
  /**
   * Include soft-deleted rows (`isDeleted: true` / `deletedAt` set).
   * @default false
   */
  includeDeleted?: boolean
}

/** Options of {@link QueryPatterns.getRecent} and {@link QueryPatterns.getPopular}. */
export interface RankedOptions<D> extends FieldRestriction<D> {
  /** Rows to return, from 1 to `maxPageSize`. */
  take: number
  /**
   * The sort field: a DateTime for getRecent, a number for getPopular.
   * @default 'createdAt' for getRecent (getPopular needs it)
   */
  field?: ScalarFieldOf<D>
  /** A Prisma `where` the rows must also match. */
  where?: WhereOf<D>
  /** Fields to return, as in Prisma's `select`. */
  select?: SelectOf<D>
}

/** The aggregates `aggregate` may compute, over the model's fields. */
export type Aggregations<D> = {
  /** Count rows (`true`), or non-null values of the fields named. */
  _count?: true | { [K in ScalarFieldOf<D> | '_all']?: true }
  /** Sum the fields named. */
  _sum?: { [K in ScalarFieldOf<D>]?: true }
  /** Average the fields named. */
  _avg?: { [K in ScalarFieldOf<D>]?: true }
  /** Smallest value of the fields named. */
  _min?: { [K in ScalarFieldOf<D>]?: true }
  /** Largest value of the fields named. */
  _max?: { [K in ScalarFieldOf<D>]?: true }
}

/** `value` as an object of options (`undefined` as `{}`), or a `ValidationError` on `field`. */
export function optionsObject(value: unknown, field: string): Record<string, unknown> {
  if (value === undefined) return {}
  if (!isRecord(value)) throw invalid(field, `must be an object, got ${describeValue(value)}`)
  return value
}

/** A `where` argument: `undefined` or an object (as Prisma takes it). */
export function whereObject(value: unknown, field: string): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined
  if (!isRecord(value)) throw invalid(field, `must be a where object, got ${describeValue(value)}`)
  return value
}

/**
 * A `where` that must restrict something: a bulk delete or update with `{}` would touch every
 * row, which is what a filter built from absent request parameters looks like.
 */
export function nonEmptyWhere(value: unknown, field: string): Record<string, unknown> {
  const where = whereObject(value, field)
  if (where === undefined || Object.keys(where).length === 0) {
    throw invalid(field, 'must have at least one condition (an empty where would match every row)')
  }
  return where
}

/** An integer from `min` to `max`, or `fallback` when `undefined`. */
export function integerIn(
  value: unknown,
  field: string,
  min: number,
  max: number,
  fallback?: number,
): number {
  if (value === undefined && fallback !== undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`
    throw invalid(field, `must be an integer ${range}, got ${describeValue(value)}`)
  }
  return value
}

/** An optional boolean. */
export function optionalBoolean(value: unknown, field: string): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value
  throw invalid(field, `must be true or false, got ${describeValue(value)}`)
}

/** An optional `select` / `include` object, as `findMany` takes it. */
export function optionalShape(value: unknown, field: string): Record<string, unknown> | undefined {
  if (value === undefined) return undefined
  if (!isRecord(value)) throw invalid(field, `must be an object, as in findMany`)
  return value
}

/** An optional callback. */
export function optionalFunction<F>(value: unknown, field: string): F | undefined {
  if (value === undefined || typeof value === 'function') return value as F | undefined
  throw invalid(field, `must be a function, got ${describeValue(value)}`)
}

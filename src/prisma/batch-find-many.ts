import type { Types } from '@prisma/client/runtime/client'
import { invalid } from '../errors.js'
import { isRecord } from '../option-checks.js'

/** A Prisma model delegate (`prisma.user`), plain or from an extended client. */
export interface FindManyDelegate {
  /** The model's `findMany`, which runs the batched query. */
  findMany(args: never): PromiseLike<unknown>
}

type FindManyArgs<D> = Types.Public.Args<D, 'findMany'>
type ArgField<D, K extends string> = FindManyArgs<D> extends { [P in K]?: infer V } ? V : never

/** Options of {@link batchFindMany}: `include` or `select` as for `findMany`, and the key field. */
export interface BatchFindManyOptions<D> {
  /** Relations to load with each row, as in `findMany`. */
  include?: ArgField<D, 'include'>
  /** Fields to return, as in `findMany`; the `by` field is added for matching if missing. */
  select?: ArgField<D, 'select'>
  /**
   * The unique field `ids` are values of.
   * @default 'id'
   */
  by?: string
}

type Selection<O> = O extends { select: infer S }
  ? { select: S }
  : O extends { include: infer I }
    ? { include: I }
    : Record<never, never>

/** The row type `findMany` returns for `delegate` with these options' `include` / `select`. */
export type BatchRow<D, O> =
  Types.Public.Result<D, Selection<O>, 'findMany'> extends readonly (infer R)[] ? R : never

type PlainRow<D> = BatchRow<D, Record<never, never>>

/** The type of the key values: the type of the `by` field (default `id`) of the model. */
export type BatchKey<D, O> = O extends { by: infer B extends string }
  ? B extends keyof PlainRow<D>
    ? PlainRow<D>[B]
    : unknown
  : 'id' extends keyof PlainRow<D>
    ? PlainRow<D>['id']
    : unknown

/**
 * The Map key of a value: primitives as they are (BigInt compares by value in a Map); a Date by
 * its time; Decimal, bytes and other objects by their string form.
 */
function keyOf(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value
  if (value instanceof Date) return `date:${value.getTime()}`
  return `object:${String(value)}`
}

function validate(delegate: unknown, ids: unknown, options: unknown): void {
  if (
    (typeof delegate !== 'object' && typeof delegate !== 'function') ||
    delegate === null ||
    typeof (delegate as { findMany?: unknown }).findMany !== 'function'
  ) {
    throw invalid('delegate', 'must be a Prisma model delegate with findMany (e.g. prisma.user)')
  }
  if (!Array.isArray(ids)) throw invalid('ids', `must be an array, got ${typeof ids}`)
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] === null || ids[i] === undefined) throw invalid(`ids[${i}]`, 'must not be null')
  }
  if (!isRecord(options)) throw invalid('options', 'must be an object')
  if (options.by !== undefined && (typeof options.by !== 'string' || options.by.length === 0)) {
    throw invalid('options.by', 'must be a non-empty field name')
  }
  if (options.include !== undefined && options.select !== undefined) {
    throw invalid('options', 'include and select cannot be used together (as in findMany)')
  }
  for (const field of ['include', 'select'] as const) {
    if (options[field] !== undefined && !isRecord(options[field])) {
      throw invalid(`options.${field}`, 'must be an object, as in findMany')
    }
  }
}

/**
 * Loads the rows whose `by` field (default `id`) is in `ids` with ONE `findMany` and returns them
 * in the order of `ids`: `null` where no row matched, the same row object for repeated ids. With
 * `select` lacking the `by` field, it is selected for matching and removed from the rows. An empty
 * `ids` resolves to `[]` without a query. `by` should be a unique field: with a non-unique one,
 * the first row found for each value is returned.
 *
 * Works with a plain or an extended client (an extension that caches `findMany` caches it too).
 * Bad arguments reject with a `ValidationError` naming the field (`delegate`, `ids[2]`,
 * `options.by`...).
 *
 * @example
 * ```ts
 * const users = await batchFindMany(prisma.user, [3, 1, 3, 99]) // [user3, user1, user3, null]
 * const orders = await batchFindMany(prisma.order, ids, { include: { items: true } })
 * const names = await batchFindMany(prisma.user, emails, { by: 'email', select: { name: true } })
 * ```
 */
export async function batchFindMany<
  D extends FindManyDelegate,
  const O extends BatchFindManyOptions<D> = Record<never, never>,
>(delegate: D, ids: readonly BatchKey<D, O>[], options?: O): Promise<(BatchRow<D, O> | null)[]> {
  const settings: unknown = options ?? {}
  validate(delegate, ids, settings)
  const { by = 'id', include, select } = settings as BatchFindManyOptions<D>
  if (ids.length === 0) return []
  const unique: unknown[] = []
  const seen = new Set<unknown>()
  for (const id of ids) {
    const key = keyOf(id)
    if (seen.has(key)) continue
    seen.add(key)
    unique.push(id)
  }
  const args: Record<string, unknown> = { where: { [by]: { in: unique } } }
  let strip = false
  if (select !== undefined) {
    const fields = { ...(select as Record<string, unknown>) }
    if (fields[by] !== true) {
      fields[by] = true
      strip = true
    }
    args.select = fields
  } else if (include !== undefined) {
    args.include = include
  }
  const rows = await delegate.findMany(args as never)
  if (!Array.isArray(rows)) throw invalid('delegate', 'findMany did not return an array')
  const found = new Map<unknown, unknown>()
  for (const row of rows as Record<string, unknown>[]) {
    const key = keyOf(row[by])
    if (found.has(key)) continue
    if (strip) {
      const { [by]: _matched, ...rest } = row
      found.set(key, rest)
    } else {
      found.set(key, row)
    }
  }
  return ids.map((id) => (found.get(keyOf(id)) ?? null) as BatchRow<D, O> | null)
}

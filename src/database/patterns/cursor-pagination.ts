/**
 * Keyset ("cursor") pagination: each page is the `take` rows strictly after (or before) the
 * position its cursor names, in a total order of the sort fields and the primary key. Unlike
 * offsets, positions do not move when rows are inserted or deleted elsewhere, so paging through
 * a table that is being written never repeats or skips a row that existed when paging began.
 */
import { invalid } from '../../errors.js'
import type { PatternContext } from './context.js'
import { decodeCursor, encodeCursor, type Position, valuesOf } from './cursor.js'
import { allOf, allowedFieldsOf } from './fields.js'
import { after, checkKeysetKeys } from './keyset.js'
import { prismaOrderBy, reversed, type SortKey, totalOrder } from './order-by.js'
import { integerIn, optionalShape, optionsObject, whereObject } from './query-patterns-options.js'
import type { RuntimeDelegate } from './types.js'

/** One page of `QueryPatterns.paginateWithCursor`. */
export interface CursorPage<R> {
  /** The rows of the page, in the requested order (also when paging backwards). */
  readonly data: R[]
  /** Pass as `cursor` with `direction: 'forward'` for the next page; `null` when none follows. */
  readonly nextCursor: string | null
  /** Pass as `cursor` with `direction: 'backward'` for the page before; `null` at the start. */
  readonly previousCursor: string | null
  /** Whether a page follows. */
  readonly hasNextPage: boolean
  /** Whether a page comes before. */
  readonly hasPreviousPage: boolean
}

/** See `QueryPatterns.paginateWithCursor`. */
export async function paginateWithCursor(
  context: PatternContext,
  delegate: unknown,
  options: unknown,
  where: unknown,
): Promise<CursorPage<unknown>> {
  const model = context.modelOf(delegate)
  const settings = optionsObject(options, 'options')
  if (options === undefined) throw invalid('options', 'is required ({ take, cursor?, orderBy? })')
  const take = integerIn(settings.take, 'options.take', 1, context.maxPageSize)
  const direction = settings.direction ?? 'forward'
  if (direction !== 'forward' && direction !== 'backward') {
    throw invalid('options.direction', `must be 'forward' or 'backward', got ${String(direction)}`)
  }
  const allowed = allowedFieldsOf(model, settings.allowedFields, 'options.allowedFields')
  const keys = totalOrder(model, settings.orderBy, 'options.orderBy', allowed)
  checkKeysetKeys(model, keys, 'options.orderBy')
  const select = optionalShape(settings.select, 'options.select')
  const include = optionalShape(settings.include, 'options.include')
  if (select !== undefined && include !== undefined) {
    throw invalid('options', 'include and select cannot be used together (as in findMany)')
  }
  const filter = whereObject(where, 'where')
  const position =
    settings.cursor === undefined || settings.cursor === null
      ? undefined
      : decodeCursor(keys, settings.cursor)

  // Backwards: read the rows before the cursor nearest first, then turn them round.
  const readKeys = direction === 'forward' ? keys : reversed(keys)
  const shape = withKeyFields(select, include, keys)
  const rowsQuery = (delegate as RuntimeDelegate).findMany({
    where: allOf(filter, position && after(readKeys, position)),
    orderBy: prismaOrderBy(readKeys),
    take: take + 1,
    ...shape.args,
  })
  // Whether any row lies on the other side of the cursor (the complement of "after it"). Read
  // beside the page, not in one snapshot with it: a flag, where a row inserted in between
  // changes nothing that matters, and a transaction would double the page's latency.
  const queries: PromiseLike<unknown>[] = [rowsQuery]
  if (position !== undefined) {
    const otherSide = { values: position.values, inclusive: !position.inclusive }
    queries.push(
      (delegate as RuntimeDelegate).findFirst({
        where: allOf(filter, after(reversed(readKeys), otherSide)),
        select: Object.fromEntries(keys.map((key) => [key.field.name, true])),
      }),
    )
  }
  const [found, beforeRow] = await Promise.all(queries)
  const rows = found as Record<string, unknown>[]
  const more = rows.length > take
  const page = rows.slice(0, take)
  if (direction === 'backward') page.reverse()
  const behind = position !== undefined && beforeRow !== null && beforeRow !== undefined
  const hasNextPage = direction === 'forward' ? more : behind
  const hasPreviousPage = direction === 'forward' ? behind : more
  const first = page[0]
  const last = page.at(-1)
  return {
    data: page.map(shape.strip),
    nextCursor: hasNextPage ? cursorAt(keys, last, position) : null,
    previousCursor: hasPreviousPage ? cursorAt(keys, first, position) : null,
    hasNextPage,
    hasPreviousPage,
  }
}

/**
 * The cursor of `row`, or, on an empty page, the requested position turned round: what was
 * "after p" is "up to p" going back, so the row at p is neither skipped nor repeated.
 */
function cursorAt(
  keys: readonly SortKey[],
  row: Record<string, unknown> | undefined,
  position: Position | undefined,
): string | null {
  if (row !== undefined)
    return encodeCursor(keys, { values: valuesOf(keys, row), inclusive: false })
  if (position === undefined) return null
  return encodeCursor(keys, { values: position.values, inclusive: !position.inclusive })
}

/**
 * The `select` / `include` arguments to send, widened by the sort keys a cursor is made of, and
 * how to trim each row returned, so that callers get back exactly the fields they selected.
 */
interface KeyedSelection {
  readonly args: { select?: Record<string, unknown>; include?: Record<string, unknown> }
  readonly strip: (row: Record<string, unknown>) => Record<string, unknown>
}

/**
 * With `select`, adds each key field it lacks and strips them from rows; `include` and no
 * selection return every scalar already.
 */
function withKeyFields(
  select: Record<string, unknown> | undefined,
  include: Record<string, unknown> | undefined,
  keys: readonly SortKey[],
): KeyedSelection {
  if (select === undefined) {
    return { args: include === undefined ? {} : { include }, strip: (row) => row }
  }
  const added = keys.map((key) => key.field.name).filter((name) => select[name] !== true)
  if (added.length === 0) return { args: { select }, strip: (row) => row }
  const widened = { ...select, ...Object.fromEntries(added.map((name) => [name, true])) }
  return {
    args: { select: widened },
    strip: (row) => {
      const kept = { ...row }
      for (const name of added) delete kept[name]
      return kept
    },
  }
}

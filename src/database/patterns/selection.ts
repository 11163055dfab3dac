/**
 * A `select` widened by the fields a pattern needs to read from each row (the sort keys a
 * cursor is made of), and the function that takes them out again, so that callers get back
 * exactly the fields they selected.
 */
import type { SortKey } from './order-by.js'

/** The `select` / `include` arguments to send, and how to trim each row returned. */
export interface KeyedSelection {
  readonly args: { select?: Record<string, unknown>; include?: Record<string, unknown> }
  readonly strip: (row: Record<string, unknown>) => Record<string, unknown>
}

/**
 * With `select`, adds each key field it lacks and strips them from rows; `include` and no
 * selection return every scalar already.
 */
export function withKeyFields(
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

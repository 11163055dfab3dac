/**
 * The answer of the raw SQL reader: which tables a text writes and how each is changed, and how
 * the answers for several statements (or two readings of one text) add up.
 */

/** A table name as raw SQL gives it: unquoted names folded to lower case, quoted ones exact. */
export interface TableName {
  /** `undefined` when unqualified: the connection's `search_path` decides. */
  schema: string | undefined
  name: string
}

/**
 * How a statement changes a table's rows, which decides the foreign-key actions that can fire:
 * none for `insert`, `ON UPDATE` ones for `update`, `ON DELETE` ones for `delete`, any for
 * `other` (`MERGE`, `TRUNCATE`, `COPY ... FROM`, DDL, `SELECT ... INTO`, or several kinds).
 */
export type RawChange = 'insert' | 'update' | 'delete' | 'other'

/** A table written by raw SQL, and how. */
export interface RawTable extends TableName {
  change: RawChange
  /**
   * For `update`: the columns assigned (as PostgreSQL folds them). `undefined` when they could
   * not be read: any column may have changed.
   */
  columns?: string[]
}

/**
 * `read`: no statement can write. `write`: the statements write these tables (each once) and,
 * as far as the text shows, no other; `cascade` when a `TRUNCATE ... CASCADE` also empties the
 * tables that reference them. `unknown`: anything may have changed.
 */
export type RawWriteTargets =
  | { kind: 'read' }
  | { kind: 'write'; tables: RawTable[]; cascade?: true }
  | { kind: 'unknown' }

/**
 * The table `table` changed as `change`; `undefined` (its name could not be read) stays so.
 *
 * @example
 * ```ts
 * changedAs({ schema: undefined, name: 't' }, 'delete')
 * // { schema: undefined, name: 't', change: 'delete' }
 * ```
 */
export function changedAs(
  table: TableName | undefined,
  change: RawChange,
  columns?: string[],
): RawTable | undefined {
  if (table === undefined) return undefined
  const { schema, name } = table
  return columns === undefined ? { schema, name, change } : { schema, name, change, columns }
}

/**
 * A write of these tables, each once with the changes of all its mentions combined (see
 * {@link combineChanges}), or unknown if one of them could not be read.
 *
 * @example
 * ```ts
 * written([deleteOfT, deleteOfT]) // { kind: 'write', tables: [deleteOfT] }
 * written([deleteOfT, undefined]) // { kind: 'unknown' }
 * ```
 */
export function written(
  tables: readonly (RawTable | undefined)[],
  cascade: boolean | undefined = false,
): RawWriteTargets {
  const known: RawTable[] = []
  for (const table of tables) {
    if (table === undefined) return unknown()
    const { schema, name } = table
    const seen = known.findIndex((other) => other.schema === schema && other.name === name)
    if (seen < 0) known.push(table)
    else known[seen] = combineChanges(known[seen]!, table)
  }
  return cascade ? { kind: 'write', tables: known, cascade } : { kind: 'write', tables: known }
}

/**
 * One table changed two ways: the same kind stays that kind; inserts and updates are updates
 * (inserted rows fire no action, so the updates' columns are all that matter); any other pair is
 * `other`, since the caller must then follow both kinds of action.
 *
 * @example
 * ```ts
 * combineChanges(insertOfT, { ...t, change: 'update', columns: ['a'] }) // update of ['a']
 * combineChanges(deleteOfT, updateOfT) // other
 * ```
 */
export function combineChanges(first: RawTable, second: RawTable): RawTable {
  const { schema, name } = first
  const changes = new Set([first.change, second.change])
  if (changes.size === 1 && first.change !== 'update') return { schema, name, change: first.change }
  if (changes.has('other') || changes.has('delete')) return { schema, name, change: 'other' }
  // Only inserts and updates are left, at least one an update.
  const updates = [first, second].filter((table) => table.change === 'update')
  if (updates.some((table) => table.columns === undefined)) {
    return { schema, name, change: 'update' }
  }
  const columns = [...new Set(updates.flatMap((table) => table.columns!))]
  return { schema, name, change: 'update', columns }
}

/**
 * Both texts' changes: `unknown` if either is, `read` if both are, else every table written by
 * either (with `cascade` if either cascades).
 *
 * @example
 * ```ts
 * combineTargets({ kind: 'read' }, { kind: 'unknown' }) // { kind: 'unknown' }
 * ```
 */
export function combineTargets(first: RawWriteTargets, second: RawWriteTargets): RawWriteTargets {
  if (first.kind === 'unknown' || second.kind === 'unknown') return unknown()
  if (first.kind === 'read') return second
  if (second.kind === 'read') return first
  return written([...first.tables, ...second.tables], first.cascade || second.cascade)
}

/** A fresh `{ kind: 'unknown' }` (callers may keep and change what they get). */
export function unknown(): RawWriteTargets {
  return { kind: 'unknown' }
}

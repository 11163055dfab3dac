/**
 * The statements that change rows, `INSERT`, `UPDATE`, `DELETE` and `MERGE`: where one starts,
 * the table it writes, and how (a {@link RawChange}): an `INSERT` adds rows unless its
 * `ON CONFLICT DO UPDATE` updates some, an `UPDATE` sets the columns it lists, and a `MERGE` may
 * do all three.
 */
import { assignedColumns } from './raw-sql-assignments.js'
import { commandEnd, readTableName, type Statement } from './raw-sql-statement.js'
import { changedAs, type RawChange, type RawTable } from './raw-targets.js'
import { isKeyword, isRelationNamePart, isSymbol } from './sql-keywords.js'
import type { SqlToken } from './sql-tokens.js'

const DATA_CHANGE_COMMANDS = new Set(['insert', 'update', 'delete', 'merge'])

/**
 * Whether `at` starts an `INSERT`, `UPDATE`, `DELETE` or `MERGE` statement (not a column that
 * happens to be called `update`), judged by the word after the command.
 *
 * @example
 * ```ts
 * startsDataChange(tokenizeSql('(update t SET a = 1)', options)!.tokens, 1) // true
 * startsDataChange(tokenizeSql('(update IS NULL)', options)!.tokens, 1) // false
 * ```
 */
export function startsDataChange(tokens: readonly SqlToken[], at: number): boolean {
  const command = tokens[at]
  if (command?.kind !== 'word' || !DATA_CHANGE_COMMANDS.has(command.text)) return false
  const next = tokens[at + 1]
  if (command.text === 'update') return isKeyword(next, 'only') || isRelationNamePart(next)
  return isKeyword(next, command.text === 'delete' ? 'from' : 'into')
}

/**
 * The table written by the `INSERT`/`UPDATE`/`DELETE`/`MERGE` at `at` and how, or `undefined` if
 * its target cannot be read. Records the `(` of `SET (a, b) = ...` in `columnLists`.
 *
 * @example
 * ```ts
 * // DELETE FROM ONLY s.t
 * dataChangeTarget(statement, 0, new Set()) // { schema: 's', name: 't', change: 'delete' }
 * // UPDATE t SET (a, "B") = (1, 2)
 * dataChangeTarget(statement, 0, new Set())
 * // { schema: undefined, name: 't', change: 'update', columns: ['a', 'B'] }
 * ```
 */
export function dataChangeTarget(
  statement: Statement,
  at: number,
  columnLists: Set<number>,
): RawTable | undefined {
  const { tokens } = statement
  const command = tokens[at]!.text
  const end = commandEnd(statement, at + 1)
  at += command === 'update' ? 1 : 2
  if (command !== 'insert' && isKeyword(tokens[at], 'only')) at++
  const target = readTableName(tokens, at)
  if (target === undefined) return undefined
  let set: number | undefined
  let change: RawChange
  if (command === 'update') {
    set = setAfterTarget(tokens, target.next)
    change = 'update'
  } else if (command === 'insert') {
    set = doUpdateSet(statement, target.next, end)
    change = set === undefined ? 'insert' : 'update'
  } else {
    change = command === 'delete' ? 'delete' : 'other'
  }
  if (change !== 'update') return changedAs(target.table, change)
  const columns = set === undefined ? undefined : assignedColumns(statement, set, end, columnLists)
  return changedAs(target.table, 'update', columns)
}

/** The `SET` after `UPDATE t [*] [[AS] alias]`, if it is there. */
function setAfterTarget(tokens: readonly SqlToken[], at: number): number | undefined {
  if (isSymbol(tokens[at], '*')) at++
  if (isKeyword(tokens[at], 'as')) at += 2
  else if (isRelationNamePart(tokens[at]) && !isKeyword(tokens[at], 'set')) at++
  return isKeyword(tokens[at], 'set') ? at : undefined
}

/**
 * For an `INSERT` whose target ends at `from`: the index after its `ON CONFLICT ... DO UPDATE`
 * (where `SET` should be), or `undefined` for a plain insert (or `DO NOTHING`). `DO` is reserved,
 * so outside parentheses `DO UPDATE` can be nothing else; inside them no statement may change
 * data (the server refuses a data-changing `WITH` there), so they are skipped.
 */
function doUpdateSet(statement: Statement, from: number, end: number): number | undefined {
  const { tokens, closingParen } = statement
  for (let at = from; at < end; at++) {
    if (isSymbol(tokens[at], '(')) at = closingParen[at]!
    else if (isKeyword(tokens[at], 'do') && isKeyword(tokens[at + 1], 'update')) return at + 2
  }
  return undefined
}

/**
 * Which tables a raw SQL call (`$executeRaw`, `$queryRaw` and their `Unsafe` forms) may change,
 * read from its text, so that the extension invalidates the cached reads of those tables, or of
 * everything when the text does not say. It errs one way only: `read` is answered only when no
 * statement can write, and any doubt is `unknown`.
 *
 * What no SQL text shows is not seen: triggers, rules, views that call functions, user-defined
 * operators and casts, functions called as `row.func`, and user functions that overload a
 * built-in name of `PURE_FUNCTIONS` (sql-function-calls.ts). Foreign-key cascades are the
 * caller's to follow: each table comes with how it changed (`RawChange`), which tells which
 * referential actions can fire.
 */
import { invalid } from '../../errors.js'
import { commandTargets, rewritten } from './raw-sql-commands.js'
import { dataChangeTarget, startsDataChange } from './raw-sql-data-change.js'
import { readTableName, type Statement, skipWithList, toStatement } from './raw-sql-statement.js'
import {
  combineTargets,
  type RawTable,
  type RawWriteTargets,
  type TableName,
  unknown,
  written,
} from './raw-targets.js'
import { callsUnknownFunction } from './sql-function-calls.js'
import { isKeyword, isSymbol } from './sql-keywords.js'
import { type SqlToken, tokenizeSql } from './sql-tokens.js'

export type { RawChange, RawTable, RawWriteTargets, TableName } from './raw-targets.js'

/**
 * What the raw SQL text `sql` (PostgreSQL, one or more statements) may change. Never throws for
 * a string: what it cannot read is `unknown`.
 *
 * @example
 * ```ts
 * rawWriteTargets('UPDATE "Order" SET total = $1 WHERE id = $2')
 * // { kind: 'write', tables: [
 * //   { schema: undefined, name: 'Order', change: 'update', columns: ['total'] },
 * // ] }
 * rawWriteTargets('DELETE FROM app.orders')
 * // { kind: 'write', tables: [{ schema: 'app', name: 'orders', change: 'delete' }] }
 * rawWriteTargets('SELECT count(*) FROM orders') // { kind: 'read' }
 * rawWriteTargets('SELECT refresh_totals()') // { kind: 'unknown' }
 * ```
 */
export function rawWriteTargets(sql: string): RawWriteTargets {
  if (typeof sql !== 'string') throw invalid('sql', 'must be a string')
  try {
    const lexed = tokenizeSql(sql, { backslashEscapes: false })
    if (lexed === undefined) return unknown()
    const targets = targetsOfText(lexed.tokens)
    if (!lexed.backslashInPlainString) return targets
    // A server with standard_conforming_strings off would split this text differently: answer
    // for both readings. If that reading does not lex, such a server runs nothing.
    const legacy = tokenizeSql(sql, { backslashEscapes: true })
    return legacy === undefined ? targets : combineTargets(targets, targetsOfText(legacy.tokens))
  } catch {
    // A bug here must cost cache hits, never serve a stale read.
    return unknown()
  }
}

function targetsOfText(tokens: readonly SqlToken[]): RawWriteTargets {
  let targets: RawWriteTargets = { kind: 'read' }
  let start = 0
  for (let end = 0; end <= tokens.length; end++) {
    if (end < tokens.length && !isSymbol(tokens[end], ';')) continue
    if (end > start) {
      const statement = toStatement(tokens.slice(start, end))
      targets = combineTargets(
        targets,
        statement === undefined ? unknown() : statementTargets(statement, 0),
      )
      if (targets.kind === 'unknown') return targets
    }
    start = end + 1
  }
  return targets
}

/** What the statement starting at `start` writes, with everything nested in it. */
function statementTargets(statement: Statement, start: number): RawWriteTargets {
  const { tokens } = statement
  if (isKeyword(tokens[start], 'explain')) return explainTargets(statement, start)
  const columnLists = new Set<number>()
  const command = skipPrefix(statement, start, columnLists)
  if (command === undefined) return unknown()
  const commands = new Set([command])
  let targets = commandTargets(statement, command, columnLists)
  targets = combineTargets(targets, nestedTargets(statement, start, columnLists, commands))
  targets = combineTargets(targets, selectIntoTargets(tokens, start, commands))
  if (targets.kind === 'unknown') return targets
  return callsUnknownFunction(tokens, start, tokens.length, columnLists) ? unknown() : targets
}

/** The index of the command after any opening parentheses and `WITH` list. */
function skipPrefix(
  statement: Statement,
  at: number,
  columnLists: Set<number>,
): number | undefined {
  const { tokens } = statement
  while (isSymbol(tokens[at], '(')) at++
  if (!isKeyword(tokens[at], 'with')) return at
  const command = skipWithList(statement, at, columnLists)
  if (command === undefined) return undefined
  return isSymbol(tokens[command], '(') ? skipPrefix(statement, command, columnLists) : command
}

/**
 * `EXPLAIN` runs its statement only with `ANALYZE` (in any spelling or option list, even
 * `ANALYZE false`, to keep this simple and on the safe side); otherwise it writes nothing.
 */
function explainTargets(statement: Statement, start: number): RawWriteTargets {
  const { tokens, closingParen } = statement
  let at = start + 1
  let runs = false
  if (isSymbol(tokens[at], '(')) {
    const close = closingParen[at]!
    runs = tokens.slice(at, close).some(isAnalyze)
    at = close + 1
  } else {
    for (; isAnalyze(tokens[at]) || isKeyword(tokens[at], 'verbose'); at++) {
      if (isAnalyze(tokens[at])) runs = true
    }
  }
  if (at >= tokens.length) return unknown()
  const explained = statementTargets(statement, at)
  return runs || explained.kind === 'unknown' ? explained : { kind: 'read' }
}

function isAnalyze(token: SqlToken | undefined): boolean {
  return isKeyword(token, 'analyze') || isKeyword(token, 'analyse')
}

const NESTED_COMMANDS = new Set([
  'select',
  'values',
  'table',
  'insert',
  'update',
  'delete',
  'merge',
])

/**
 * Data changes that open a parenthesis: `WITH x AS (DELETE ...)`, `COPY (UPDATE ... RETURNING
 * *) TO`, and the statement after a nested `WITH` list. Wherever the grammar allows them, they
 * run; where it does not, the server rejects the text, so counting them is harmless. Adds the
 * index of each to `commands`.
 */
function nestedTargets(
  statement: Statement,
  start: number,
  columnLists: Set<number>,
  commands: Set<number>,
): RawWriteTargets {
  const { tokens } = statement
  const tables: (RawTable | undefined)[] = []
  for (let at = start + 1; at < tokens.length; at++) {
    if (!isSymbol(tokens[at - 1], '(')) continue
    let command: number | undefined = at
    if (isKeyword(tokens[at], 'with')) {
      command = skipWithList(statement, at, columnLists)
      const word = command === undefined ? undefined : tokens[command]
      if (!(isSymbol(word, '(') || (word?.kind === 'word' && NESTED_COMMANDS.has(word.text)))) {
        return unknown()
      }
    }
    if (command !== undefined && startsDataChange(tokens, command)) {
      commands.add(command)
      tables.push(dataChangeTarget(statement, command, columnLists))
    }
  }
  return tables.length === 0 ? { kind: 'read' } : written(tables)
}

const SELECT_INTO_NOISE = new Set(['temporary', 'temp', 'unlogged', 'local', 'global', 'table'])

/**
 * `SELECT ... INTO [TEMP] [TABLE] t` creates and fills `t`. Any `INTO` that does not follow the
 * command `INSERT` or `MERGE` (one of `commands`, not a column named `insert`) is read as one:
 * nothing else in the grammar uses the word.
 */
function selectIntoTargets(
  tokens: readonly SqlToken[],
  start: number,
  commands: ReadonlySet<number>,
): RawWriteTargets {
  const tables: (TableName | undefined)[] = []
  for (let at = start; at < tokens.length; at++) {
    if (!isKeyword(tokens[at], 'into')) continue
    if (commands.has(at - 1) && isDataChangeInto(tokens[at - 1])) continue
    let name = at + 1
    while (tokens[name]?.kind === 'word' && SELECT_INTO_NOISE.has(tokens[name]!.text)) name++
    tables.push(readTableName(tokens, name)?.table)
  }
  return tables.length === 0 ? { kind: 'read' } : rewritten(tables)
}

function isDataChangeInto(command: SqlToken | undefined): boolean {
  return isKeyword(command, 'insert') || isKeyword(command, 'merge')
}

/**
 * One statement of a raw SQL text, as tokens with their parentheses matched, and the pieces of
 * grammar several statement kinds share: a table name, a `WITH` list, the start of an
 * `INSERT`/`UPDATE`/`DELETE`/`MERGE` and its target.
 */

import type { RawTable } from './raw-sql.js'
import { isKeyword, isRelationNamePart, isSymbol } from './sql-keywords.js'
import type { SqlToken } from './sql-tokens.js'

export interface Statement {
  readonly tokens: readonly SqlToken[]
  /** For each `(`, the index of its `)`; -1 for every other token. */
  readonly closingParen: readonly number[]
}

/**
 * The tokens of one statement, or `undefined` when its parentheses do not balance.
 *
 * @example
 * ```ts
 * toStatement(tokenizeSql('SELECT (1)', options)!.tokens)?.closingParen // [-1, 3, -1, -1]
 * ```
 */
export function toStatement(tokens: readonly SqlToken[]): Statement | undefined {
  const closingParen = new Array<number>(tokens.length).fill(-1)
  const open: number[] = []
  for (let at = 0; at < tokens.length; at++) {
    if (isSymbol(tokens[at], '(')) open.push(at)
    else if (isSymbol(tokens[at], ')')) {
      const opening = open.pop()
      if (opening === undefined) return undefined
      closingParen[opening] = at
    }
  }
  return open.length === 0 ? { tokens, closingParen } : undefined
}

/** A table name read at some index, and the index after it. */
export interface NameAt {
  readonly table: RawTable
  readonly next: number
}

/**
 * The (possibly qualified) table name at `at`: `t`, `s.t`, `"S"."T"`, `db.s.t` (the database part
 * is dropped). Parts after a dot may be any word, even a reserved one, as in PostgreSQL.
 *
 * @example
 * ```ts
 * readTableName(tokenizeSql('"S".Orders x', options)!.tokens, 0)
 * // { table: { schema: 'S', name: 'orders' }, next: 3 }
 * ```
 */
export function readTableName(tokens: readonly SqlToken[], at: number): NameAt | undefined {
  if (!isRelationNamePart(tokens[at])) return undefined
  const parts = [tokens[at]!.text]
  at++
  while (isSymbol(tokens[at], '.')) {
    const part = tokens[at + 1]
    if (part === undefined || (part.kind !== 'word' && part.kind !== 'quoted')) return undefined
    parts.push(part.text)
    at += 2
  }
  if (parts.length > 3) return undefined
  const name = parts[parts.length - 1]!
  return { table: { schema: parts[parts.length - 2], name }, next: at }
}

/**
 * Skips a `WITH` list from the `with` at `at` and returns the index of the statement it
 * prefixes, or `undefined` if the list does not parse. Records the `(` of CTE column lists
 * (`WITH t (a, b) AS`), which look like calls, in `columnLists`.
 *
 * @example
 * ```ts
 * // WITH x AS (SELECT 1) DELETE FROM t
 * skipWithList(statement, 0, new Set()) // 7, the index of DELETE
 * ```
 */
export function skipWithList(
  statement: Statement,
  at: number,
  columnLists: Set<number>,
): number | undefined {
  const { tokens, closingParen } = statement
  at++
  if (isKeyword(tokens[at], 'recursive')) at++
  for (;;) {
    if (!isRelationNamePart(tokens[at])) return undefined
    at++
    if (isSymbol(tokens[at], '(')) {
      columnLists.add(at)
      at = closingParen[at]! + 1
    }
    if (!isKeyword(tokens[at], 'as')) return undefined
    at++
    if (isKeyword(tokens[at], 'not')) at++
    if (isKeyword(tokens[at], 'materialized')) at++
    if (!isSymbol(tokens[at], '(')) return undefined
    at = closingParen[at]! + 1
    if (!isSymbol(tokens[at], ',')) return at
    at++
  }
}

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
 * The table written by the `INSERT`/`UPDATE`/`DELETE`/`MERGE` at `at`, or `undefined` if its
 * target cannot be read. Records the `(` of `UPDATE t SET (a, b) = ...` in `columnLists`.
 *
 * @example
 * ```ts
 * dataChangeTarget(tokenizeSql('DELETE FROM ONLY s.t', options)!.tokens, 0, new Set())
 * // { schema: 's', name: 't' }
 * ```
 */
export function dataChangeTarget(
  tokens: readonly SqlToken[],
  at: number,
  columnLists: Set<number>,
): RawTable | undefined {
  const command = tokens[at]!.text
  at += command === 'update' ? 1 : 2
  if (command !== 'insert' && isKeyword(tokens[at], 'only')) at++
  const target = readTableName(tokens, at)
  if (target === undefined) return undefined
  if (command === 'update') markSetColumnList(tokens, target.next, columnLists)
  return target.table
}

/** After `UPDATE t [*] [[AS] alias]`, a `SET (` opens the list of assigned columns. */
function markSetColumnList(tokens: readonly SqlToken[], at: number, columnLists: Set<number>) {
  if (isSymbol(tokens[at], '*')) at++
  if (isKeyword(tokens[at], 'as')) at += 2
  else if (isRelationNamePart(tokens[at]) && !isKeyword(tokens[at], 'set')) at++
  if (isKeyword(tokens[at], 'set') && isSymbol(tokens[at + 1], '(')) columnLists.add(at + 1)
}

/**
 * One statement of a raw SQL text, as tokens with their parentheses matched, and the pieces of
 * grammar several statement kinds share: a table name, a `WITH` list, the end of a command.
 */

import type { TableName } from './raw-targets.js'
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
  readonly table: TableName
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

/**
 * The end (exclusive) of the command at `at`: the `)` closing a parenthesis opened before it (as
 * around `WITH x AS (DELETE ...)`), or the end of the statement.
 *
 * @example
 * ```ts
 * // WITH x AS (DELETE FROM t RETURNING *) SELECT 1
 * commandEnd(statement, 4) // 9, the index of `)`
 * ```
 */
export function commandEnd(statement: Statement, at: number): number {
  const { tokens, closingParen } = statement
  for (; at < tokens.length; at++) {
    if (isSymbol(tokens[at], ')')) return at
    if (isSymbol(tokens[at], '(')) at = closingParen[at]!
  }
  return tokens.length
}

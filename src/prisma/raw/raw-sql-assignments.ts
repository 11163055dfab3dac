/**
 * The columns a `SET` list assigns, in `UPDATE t SET ...` and `INSERT ... ON CONFLICT DO UPDATE
 * SET ...`: `a = 1`, `"B" = a + 1`, `(c, d) = (1, 2)`, `(c, d) = (SELECT ...)`, `e[1] = 0`,
 * `f.x = 0` (a field of composite column `f`). The caller follows foreign-key `ON UPDATE` actions
 * only for the referenced columns listed, so a column missed here would be a stale read: anything
 * that does not read exactly as the grammar says makes the list unknown.
 */
import type { Statement } from './raw-sql-statement.js'
import { isKeyword, isSymbol } from './sql-keywords.js'
import type { SqlToken } from './sql-tokens.js'

/**
 * The words that end a `SET` list outside parentheses and brackets: `UPDATE`'s `FROM`, `WHERE`
 * and `RETURNING` (`ON CONFLICT DO UPDATE` has the last two). No expression holds one there,
 * except `FROM` in `a IS [NOT] DISTINCT FROM b`; every other `FROM` of an expression
 * (`extract(x FROM y)`, `substring(...)`, subqueries) is inside parentheses.
 */
const LIST_ENDS = new Set(['from', 'where', 'returning'])

/**
 * The columns assigned by the `SET` list at `set` (the index of `SET`), up to `end` (exclusive;
 * see `commandEnd`), each once, names as PostgreSQL folds them; `undefined` when the list does
 * not read as one. Records the `(` of each `(a, b) = ...` in `columnLists` (they are not calls).
 *
 * @example
 * ```ts
 * // UPDATE t SET a = a + 1, (b, "C") = (SELECT 1, 2) WHERE d IS DISTINCT FROM e
 * assignedColumns(statement, 2, statement.tokens.length, new Set()) // ['a', 'b', 'C']
 * ```
 */
export function assignedColumns(
  statement: Statement,
  set: number,
  end: number,
  columnLists: Set<number>,
): string[] | undefined {
  const { tokens, closingParen } = statement
  if (!isKeyword(tokens[set], 'set')) return undefined
  const columns = new Set<string>()
  let at = set + 1
  for (;;) {
    if (at >= end) return undefined
    if (isSymbol(tokens[at], '(')) {
      columnLists.add(at)
      const close = closingParen[at]!
      for (let item = at + 1; item < close; item++) {
        const column = readTarget(tokens, item, close)
        if (column === undefined) return undefined
        columns.add(column.name)
        item = column.next
        if (item < close && !isSymbol(tokens[item], ',')) return undefined
      }
      at = close + 1
    } else {
      const column = readTarget(tokens, at, end)
      if (column === undefined) return undefined
      columns.add(column.name)
      at = column.next
    }
    if (!isSymbol(tokens[at], '=') || at >= end) return undefined
    const next = endOfExpression(statement, at + 1, end)
    if (next === undefined) return undefined
    if (!isSymbol(tokens[next], ',') || next >= end) return [...columns]
    at = next + 1
  }
}

/**
 * An assignment target at `at`: a column name, then any `.field` or `[subscript]` (which assign
 * part of that column), and the index after it. A table-qualified `t.a` is not SQL here: the
 * server reads it as field `a` of a column `t`, which is what this returns too.
 */
function readTarget(
  tokens: readonly SqlToken[],
  at: number,
  end: number,
): { name: string; next: number } | undefined {
  const name = tokens[at]
  if (at >= end || name === undefined || (name.kind !== 'word' && name.kind !== 'quoted')) {
    return undefined
  }
  at++
  for (;;) {
    if (isSymbol(tokens[at], '.') && at + 1 < end) {
      const field = tokens[at + 1]!
      if (field.kind !== 'word' && field.kind !== 'quoted') return undefined
      at += 2
    } else if (isSymbol(tokens[at], '[')) {
      const close = closingBracket(tokens, at, end)
      if (close === undefined) return undefined
      at = close + 1
    } else {
      return { name: name.text, next: at }
    }
  }
}

/** The `]` matching the `[` at `at`, before `end`. */
function closingBracket(tokens: readonly SqlToken[], at: number, end: number): number | undefined {
  let depth = 0
  for (; at < end; at++) {
    if (isSymbol(tokens[at], '[')) depth++
    else if (isSymbol(tokens[at], ']') && --depth === 0) return at
  }
  return undefined
}

/**
 * The index of the `,` or list-ending word after the expression starting at `at`, or `end`;
 * `undefined` if its brackets do not balance. Commas and words inside parentheses (calls,
 * subqueries, rows) and brackets (`ARRAY[1, 2]`) are the expression's own.
 */
function endOfExpression(statement: Statement, at: number, end: number): number | undefined {
  const { tokens, closingParen } = statement
  let brackets = 0
  for (; at < end; at++) {
    const token = tokens[at]!
    if (isSymbol(token, '(')) at = closingParen[at]!
    else if (isSymbol(token, '[')) brackets++
    else if (isSymbol(token, ']')) {
      if (--brackets < 0) return undefined
    } else if (brackets === 0 && (isSymbol(token, ',') || isListEnd(token, tokens[at - 1]))) {
      return at
    }
  }
  return brackets === 0 ? end : undefined
}

function isListEnd(token: SqlToken, before: SqlToken | undefined): boolean {
  if (token.kind !== 'word' || !LIST_ENDS.has(token.text)) return false
  return !(token.text === 'from' && isKeyword(before, 'distinct'))
}

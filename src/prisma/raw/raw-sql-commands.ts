/**
 * What each kind of statement writes, judged by its command word: data changes write their
 * target, `TRUNCATE`/`COPY FROM`/table DDL write the tables they name (a change of kind `other`:
 * rows may go, come or change), queries and session commands write nothing, and everything else
 * (`CALL`, `DO`, `EXECUTE`, `COMMIT`, `VACUUM`, other DDL...) cannot be told.
 */
import { dataChangeTarget, startsDataChange } from './raw-sql-data-change.js'
import { type NameAt, readTableName, type Statement } from './raw-sql-statement.js'
import { changedAs, type RawWriteTargets, type TableName, unknown, written } from './raw-targets.js'
import { isKeyword, isSymbol } from './sql-keywords.js'
import type { SqlToken } from './sql-tokens.js'

/**
 * Commands that change no table (`LOCK` only waits). `COMMIT`, `END` and `ROLLBACK` are not
 * among them: they make earlier writes visible or undo them, which a cache filled in between
 * must hear about.
 */
const SESSION_COMMANDS = new Set([
  'show',
  'set',
  'reset',
  'begin',
  'start',
  'savepoint',
  'release',
  'lock',
])

const QUERY_COMMANDS = new Set(['select', 'values', 'table'])

/**
 * What the command at `at` writes, not counting statements nested in parentheses (the caller
 * looks for those everywhere). `columnLists` collects `(` that open column lists.
 *
 * @example
 * ```ts
 * // TRUNCATE a, b CASCADE
 * commandTargets(statement, 0, new Set()) // { kind: 'write', tables: [a, b], cascade: true }
 * ```
 */
export function commandTargets(
  statement: Statement,
  at: number,
  columnLists: Set<number>,
): RawWriteTargets {
  const { tokens } = statement
  const command = tokens[at]
  if (command?.kind !== 'word') return unknown()
  if (QUERY_COMMANDS.has(command.text)) return { kind: 'read' }
  // `SET CONSTRAINTS ... IMMEDIATE` fires deferred constraint triggers, which may write.
  if (SESSION_COMMANDS.has(command.text) && !isKeyword(tokens[at + 1], 'constraints')) {
    return { kind: 'read' }
  }
  if (startsDataChange(tokens, at)) return written([dataChangeTarget(statement, at, columnLists)])
  switch (command.text) {
    case 'truncate':
      return truncateTargets(tokens, at + 1)
    case 'copy':
      return copyTargets(statement, at + 1)
    case 'create':
      return createTableTargets(tokens, at + 1)
    case 'alter':
      return alterTableTargets(tokens, at + 1)
    case 'drop':
      return dropTableTargets(tokens, at + 1)
    case 'refresh':
      return refreshTargets(tokens, at + 1)
    default:
      return unknown()
  }
}

/** `TRUNCATE [TABLE] [ONLY] a [*], ... [RESTART|CONTINUE IDENTITY] [CASCADE|RESTRICT]` */
function truncateTargets(tokens: readonly SqlToken[], at: number): RawWriteTargets {
  if (isKeyword(tokens[at], 'table')) at++
  const list = readTableList(tokens, at)
  if (list === undefined) return unknown()
  at = list.next
  if (isKeyword(tokens[at], 'restart') || isKeyword(tokens[at], 'continue')) {
    if (!isKeyword(tokens[at + 1], 'identity')) return unknown()
    at += 2
  }
  const cascade = isKeyword(tokens[at], 'cascade')
  if (cascade || isKeyword(tokens[at], 'restrict')) at++
  if (at !== tokens.length) return unknown()
  return rewritten(list.tables, cascade)
}

/**
 * `COPY t [(a, b)] FROM ...` writes `t`; `COPY t TO` and `COPY (query) TO` write nothing (the
 * query is looked at by the caller); `PROGRAM` runs a server-side command, which may do anything.
 */
function copyTargets(statement: Statement, at: number): RawWriteTargets {
  const { tokens, closingParen } = statement
  if (isKeyword(tokens[at], 'binary')) at++
  let table: TableName | undefined
  if (isSymbol(tokens[at], '(')) {
    at = closingParen[at]! + 1
  } else {
    const name = readTableName(tokens, at)
    if (name === undefined) return unknown()
    table = name.table
    at = isSymbol(tokens[name.next], '(') ? closingParen[name.next]! + 1 : name.next
  }
  if (isKeyword(tokens[at + 1], 'program')) return unknown()
  if (isKeyword(tokens[at], 'to')) return { kind: 'read' }
  if (isKeyword(tokens[at], 'from') && table !== undefined) return rewritten([table])
  return unknown()
}

/**
 * `CREATE [TEMP|UNLOGGED] TABLE [IF NOT EXISTS] t ... [PARTITION OF parent]` writes `t` (and the
 * parent, whose rows now include the partition's). Other `CREATE`s are unknown, and so is
 * `CREATE TABLE ... AS EXECUTE`, which runs a prepared statement.
 */
function createTableTargets(tokens: readonly SqlToken[], at: number): RawWriteTargets {
  if (isKeyword(tokens[at], 'global') || isKeyword(tokens[at], 'local')) at++
  if (['temp', 'temporary', 'unlogged'].some((word) => isKeyword(tokens[at], word))) at++
  if (!isKeyword(tokens[at], 'table')) return unknown()
  at++
  if (isKeyword(tokens[at], 'if')) at += 3
  const name = readTableName(tokens, at)
  if (name === undefined || tokens.some((token) => isKeyword(token, 'execute'))) return unknown()
  const tables: (TableName | undefined)[] = [name.table]
  if (isKeyword(tokens[name.next], 'partition') && isKeyword(tokens[name.next + 1], 'of')) {
    tables.push(readTableName(tokens, name.next + 2)?.table)
  }
  return rewritten(tables)
}

/**
 * `ALTER TABLE [IF EXISTS] [ONLY] t ...` writes `t` and the tables its actions bring in or out:
 * `RENAME TO u`, `SET SCHEMA s`, `ATTACH|DETACH PARTITION p`, `[NO] INHERIT p`. With `CASCADE`
 * it drops objects it cannot name (views on a dropped column), so it is unknown.
 */
function alterTableTargets(tokens: readonly SqlToken[], at: number): RawWriteTargets {
  if (!isKeyword(tokens[at], 'table')) return unknown()
  at++
  if (isKeyword(tokens[at], 'if')) at += 2
  if (isKeyword(tokens[at], 'only')) at++
  const name = readTableName(tokens, at)
  if (name === undefined) return unknown()
  const { schema, name: table } = name.table
  const tables: (TableName | undefined)[] = [name.table]
  for (let word = name.next; word < tokens.length; word++) {
    const next = tokens[word + 1]
    if (isKeyword(tokens[word], 'cascade') && !isReferentialAction(tokens[word - 1])) {
      return unknown()
    }
    if (isKeyword(tokens[word], 'rename') && isKeyword(next, 'to')) {
      const renamed = readTableName(tokens, word + 2)?.table.name
      tables.push(renamed === undefined ? undefined : { schema, name: renamed })
    } else if (isKeyword(tokens[word], 'set') && isKeyword(next, 'schema')) {
      const moved = tokens[word + 2]
      tables.push(moved === undefined ? undefined : { schema: moved.text, name: table })
    } else if (isKeyword(next, 'partition') && isPartitionAction(tokens[word])) {
      tables.push(readTableName(tokens, word + 2)?.table)
    } else if (isKeyword(tokens[word], 'inherit')) {
      tables.push(readTableName(tokens, word + 1)?.table)
    }
  }
  return rewritten(tables)
}

/** `ON DELETE CASCADE` in a foreign key being added is a definition, not a cascading drop. */
function isReferentialAction(before: SqlToken | undefined): boolean {
  return isKeyword(before, 'delete') || isKeyword(before, 'update')
}

function isPartitionAction(token: SqlToken | undefined): boolean {
  return isKeyword(token, 'attach') || isKeyword(token, 'detach')
}

/** `DROP TABLE [IF EXISTS] a, b [RESTRICT]`; with `CASCADE` dependent views go too: unknown. */
function dropTableTargets(tokens: readonly SqlToken[], at: number): RawWriteTargets {
  if (!isKeyword(tokens[at], 'table')) return unknown()
  at++
  if (isKeyword(tokens[at], 'if')) at += 2
  const list = readTableList(tokens, at)
  if (list === undefined) return unknown()
  const end = isKeyword(tokens[list.next], 'restrict') ? list.next + 1 : list.next
  return end === tokens.length ? rewritten(list.tables) : unknown()
}

/** `REFRESH MATERIALIZED VIEW [CONCURRENTLY] v [WITH [NO] DATA]` rewrites `v`. */
function refreshTargets(tokens: readonly SqlToken[], at: number): RawWriteTargets {
  if (!isKeyword(tokens[at], 'materialized') || !isKeyword(tokens[at + 1], 'view')) {
    return unknown()
  }
  at += 2
  if (isKeyword(tokens[at], 'concurrently')) at++
  return rewritten([readTableName(tokens, at)?.table])
}

/** `[ONLY] a [*], [ONLY] b [*] ...` as in `TRUNCATE` and `DROP TABLE`. */
function readTableList(
  tokens: readonly SqlToken[],
  at: number,
): { tables: TableName[]; next: number } | undefined {
  const tables: TableName[] = []
  for (;;) {
    if (isKeyword(tokens[at], 'only')) at++
    const name: NameAt | undefined = readTableName(tokens, at)
    if (name === undefined) return undefined
    tables.push(name.table)
    at = isSymbol(tokens[name.next], '*') ? name.next + 1 : name.next
    if (!isSymbol(tokens[at], ',')) return { tables, next: at }
    at++
  }
}

/**
 * A write of these tables (`undefined`: a name that could not be read), each changed as `other`:
 * `TRUNCATE`, `COPY FROM`, `SELECT INTO` and DDL may remove, add or rewrite any rows.
 *
 * @example
 * ```ts
 * rewritten([{ schema: undefined, name: 't' }], true)
 * // { kind: 'write', tables: [{ schema: undefined, name: 't', change: 'other' }], cascade: true }
 * ```
 */
export function rewritten(
  tables: readonly (TableName | undefined)[],
  cascade?: boolean,
): RawWriteTargets {
  return written(
    tables.map((table) => changedAs(table, 'other')),
    cascade,
  )
}

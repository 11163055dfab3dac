import fc from 'fast-check'
import type { RawChange, RawTable, RawWriteTargets } from '../../src/prisma/raw/raw-sql.js'

// Expected results of rawWriteTargets, shared by the corpus and the property tests.

export const read: RawWriteTargets = { kind: 'read' }
export const unknown: RawWriteTargets = { kind: 'unknown' }

/** A write of these tables. */
export function writes(...tables: RawTable[]): RawWriteTargets {
  return { kind: 'write', tables }
}

/** A `TRUNCATE ... CASCADE` of tables named as in {@link table}. */
export function cascades(...names: string[]): RawWriteTargets {
  return { kind: 'write', tables: names.map(other), cascade: true }
}

/** The table `name` or `schema.name` (split at the first dot), changed as `change`. */
export function table(qualified: string, change: RawChange, columns?: string[]): RawTable {
  const dot = qualified.indexOf('.')
  const [schema, name] =
    dot < 0 ? [undefined, qualified] : [qualified.slice(0, dot), qualified.slice(dot + 1)]
  return columns === undefined ? { schema, name, change } : { schema, name, change, columns }
}

export const inserted = (name: string) => table(name, 'insert')
/** Without `columns`: any column may have been set. */
export const updated = (name: string, columns?: string[]) => table(name, 'update', columns)
export const deleted = (name: string) => table(name, 'delete')
export const other = (name: string) => table(name, 'other')

/** Fragments that stress the lexer: quotes, comment markers, dollar quotes, separators. */
export const sqlSoup = fc
  .array(
    fc.constantFrom(
      ...['SELECT', 'DELETE FROM t', 'UPDATE', 'INSERT INTO', 'WITH x AS', '(', ')', ';', ',', ' '],
      ...["'", "''", '"', '""', "E'\\'", '$$', '$a$', '--', '/*', '*/', '\n', '$1', 'my_func('],
    ),
    { maxLength: 25 },
  )
  .map((parts) => parts.join(''))

/**
 * Statements as token lists, so that the property tests can put anything between tokens. Each
 * token is atomic for PostgreSQL; the expected answer is the one for single spaces.
 */

/**
 * PostgreSQL's keyword classes (src/include/parser/kwlist.h, PostgreSQL 17-18), as far as raw
 * SQL reading needs them: which words can never name a table, and which words followed by `(`
 * are grammar rather than a call of a user's function.
 */
import type { SqlToken } from './sql-tokens.js'

/** Reserved: never a table, column or function name unless quoted. */
const RESERVED = new Set(
  (
    'all analyse analyze and any array as asc asymmetric both case cast check collate column ' +
    'constraint create current_catalog current_date current_role current_time current_timestamp ' +
    'current_user default deferrable desc distinct do else end except false fetch for foreign ' +
    'from grant group having in initially intersect into lateral leading limit localtime ' +
    'localtimestamp not null offset on only or order placing primary references returning ' +
    'select session_user some symmetric system_user table then to trailing true union unique ' +
    'user using variadic when where window with'
  ).split(' '),
)

/**
 * Column-name keywords: they may name a column or table but never a function, so `name(` is
 * grammar (a type modifier as in `varchar(10)`, or a construct such as `coalesce(...)` that the
 * parser turns into a `pg_catalog` function, never one of the user's).
 */
const COLUMN_NAME_KEYWORDS = new Set(
  (
    'between bigint bit boolean char character coalesce dec decimal exists extract float ' +
    'greatest grouping inout int integer interval json json_array json_arrayagg json_exists ' +
    'json_object json_objectagg json_query json_scalar json_serialize json_table json_value ' +
    'least merge_action national nchar none normalize nullif numeric out overlay position ' +
    'precision real row setof smallint substring time timestamp treat trim values varchar ' +
    'xmlattributes xmlconcat xmlelement xmlexists xmlforest xmlnamespaces xmlparse xmlpi ' +
    'xmlroot xmlserialize xmltable'
  ).split(' '),
)

/** Type-or-function-name keywords: they may name a function or type but never a table. */
const TYPE_FUNCTION_NAME_KEYWORDS = new Set(
  (
    'authorization binary collation concurrently cross current_schema freeze full ilike inner ' +
    'is isnull join left like natural notnull outer overlaps right similar tablesample verbose'
  ).split(' '),
)

/**
 * The token is the word `word` (given in lower case; unquoted words are folded).
 *
 * @example
 * ```ts
 * isKeyword({ kind: 'word', text: 'select' }, 'select') // true
 * isKeyword({ kind: 'quoted', text: 'select' }, 'select') // false: a "select" column
 * ```
 */
export function isKeyword(token: SqlToken | undefined, word: string): boolean {
  return token !== undefined && token.kind === 'word' && token.text === word
}

/**
 * The token is the `symbol` `text` (`(`, `;`, `::`...).
 *
 * @example
 * ```ts
 * isSymbol({ kind: 'symbol', text: ';' }, ';') // true
 * ```
 */
export function isSymbol(token: SqlToken | undefined, text: string): boolean {
  return token !== undefined && token.kind === 'symbol' && token.text === text
}

/**
 * The token can be (the first part of) a table name: a quoted name, or a word that is neither
 * reserved nor a type-or-function-name keyword.
 *
 * @example
 * ```ts
 * isRelationNamePart({ kind: 'word', text: 'update' }) // true: unreserved
 * isRelationNamePart({ kind: 'word', text: 'order' }) // false: reserved
 * ```
 */
export function isRelationNamePart(token: SqlToken | undefined): boolean {
  if (token === undefined) return false
  if (token.kind === 'quoted') return true
  return (
    token.kind === 'word' &&
    !RESERVED.has(token.text) &&
    !TYPE_FUNCTION_NAME_KEYWORDS.has(token.text)
  )
}

/**
 * An unqualified word followed by `(` may call a user's function: it is neither reserved nor a
 * column-name keyword. (Quoted and schema-qualified names always may.)
 *
 * @example
 * ```ts
 * mayNameFunction({ kind: 'word', text: 'nextval' }) // true
 * mayNameFunction({ kind: 'word', text: 'coalesce' }) // false: grammar
 * ```
 */
export function mayNameFunction(token: SqlToken): boolean {
  if (token.kind === 'quoted') return true
  return token.kind === 'word' && !RESERVED.has(token.text) && !COLUMN_NAME_KEYWORDS.has(token.text)
}

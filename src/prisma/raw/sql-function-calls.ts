/**
 * Function calls in raw SQL. Any function may write (`nextval`, `set_config`, a user's PL/pgSQL),
 * so a statement that calls one the extension does not know is unreadable, except for the
 * built-ins below, which only compute a value.
 */
import { isKeyword, isSymbol, mayNameFunction } from './sql-keywords.js'
import type { SqlToken } from './sql-tokens.js'

/**
 * Built-in functions (in `pg_catalog`) that never write: aggregates, window functions, and value
 * functions on numbers, text, dates, JSON and arrays. `random` and `gen_random_uuid` are here
 * (they change no table); `nextval`, `setval`, `set_config`, `pg_advisory_lock`, `dblink` and
 * every extension's function are not. Matched unqualified or as `pg_catalog.name`; a name quoted
 * in another case (`"COUNT"`) is another function. Syntax such as `coalesce(...)`,
 * `substring(... from ...)`, `extract(...)`, `cast(...)` or `varchar(10)` is grammar, not a
 * call, and needs no entry.
 */
export const PURE_FUNCTIONS: ReadonlySet<string> = new Set(
  [
    // Aggregates.
    'count sum avg min max array_agg string_agg json_agg jsonb_agg json_object_agg',
    'jsonb_object_agg bool_and bool_or every bit_and bit_or stddev stddev_pop stddev_samp',
    'variance var_pop var_samp percentile_cont percentile_disc mode corr',
    // Window functions.
    'row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value last_value',
    'nth_value',
    // Numbers.
    'abs ceil ceiling floor round trunc sign mod power sqrt exp ln log random',
    // Text.
    'lower upper length char_length character_length octet_length btrim ltrim rtrim substr',
    'substring overlay',
    'replace concat concat_ws left right lpad rpad split_part strpos starts_with initcap',
    'reverse repeat format md5 translate regexp_replace regexp_match regexp_matches',
    'regexp_split_to_array string_to_array array_to_string quote_ident quote_literal',
    'encode decode',
    // Dates and times.
    'now statement_timestamp transaction_timestamp clock_timestamp date_trunc date_part age',
    'date_bin make_date make_time make_timestamp make_timestamptz make_interval to_timestamp',
    'to_char to_date to_number',
    // JSON.
    'to_json to_jsonb row_to_json json_build_object jsonb_build_object json_build_array',
    'jsonb_build_array json_array_length jsonb_array_length json_typeof jsonb_typeof jsonb_set',
    'jsonb_insert jsonb_strip_nulls jsonb_pretty json_extract_path jsonb_extract_path',
    'json_extract_path_text jsonb_extract_path_text json_each jsonb_each json_each_text',
    'jsonb_each_text json_array_elements jsonb_array_elements json_array_elements_text',
    'jsonb_array_elements_text json_object_keys jsonb_object_keys jsonb_path_query',
    'jsonb_path_query_first jsonb_path_exists jsonb_path_match',
    // Arrays and sets.
    'array_length cardinality unnest array_position array_positions array_remove array_append',
    'array_prepend array_cat array_upper array_lower generate_series generate_subscripts',
    // Full-text search, UUIDs, settings (reading only).
    'to_tsvector to_tsquery plainto_tsquery phraseto_tsquery websearch_to_tsquery ts_rank',
    'ts_rank_cd gen_random_uuid current_setting',
  ]
    .join(' ')
    .split(' '),
)

/** The word before a name that makes `name(` a column list: `INSERT INTO t (a, b)`... */
const COLUMN_LIST_INTRODUCERS = new Set([
  'into',
  'table',
  'exists',
  'references',
  'as',
  'copy',
  'binary',
])

/**
 * Whether tokens `from` to `to` (exclusive) call a function that is not in
 * {@link PURE_FUNCTIONS}. `columnListParens` holds the indexes of `(` the statement's reader knows
 * open a column list (`WITH a (x, y) AS`, `UPDATE t SET (a, b) =`). When in doubt it is a call.
 *
 * @example
 * ```ts
 * const { tokens } = tokenizeSql('SELECT count(*), nextval($1)', { backslashEscapes: false })!
 * callsUnknownFunction(tokens, 0, tokens.length, new Set()) // true: nextval
 * ```
 */
export function callsUnknownFunction(
  tokens: readonly SqlToken[],
  from: number,
  to: number,
  columnListParens: ReadonlySet<number>,
): boolean {
  for (let at = from; at + 1 < to; at++) {
    if (!isSymbol(tokens[at + 1], '(') || columnListParens.has(at + 1)) continue
    const name = tokens[at]!
    if (name.kind !== 'word' && name.kind !== 'quoted') continue
    const nameStart = startOfQualifiedName(tokens, at)
    if (nameStart === from) continue // the command itself: `COPY (SELECT ...) TO STDOUT`
    const qualified = nameStart < at
    if (!qualified && !mayNameFunction(name)) continue
    const before = tokens[nameStart - 1]
    if (introducesColumnList(before)) continue
    if (!qualified && name.kind === 'word' && isGrammarWord(name.text, before)) continue
    const inCatalog = !qualified || (nameStart === at - 2 && isCatalog(tokens[nameStart]!))
    if (!(inCatalog && PURE_FUNCTIONS.has(name.text))) return true
  }
  return false
}

/** Walks back over `a.b.` to the first part of the dotted name ending at `at`. */
function startOfQualifiedName(tokens: readonly SqlToken[], at: number): number {
  while (isSymbol(tokens[at - 1], '.')) {
    const part = tokens[at - 2]
    if (part === undefined || (part.kind !== 'word' && part.kind !== 'quoted')) break
    at -= 2
  }
  return at
}

function introducesColumnList(before: SqlToken | undefined): boolean {
  if (isSymbol(before, '::')) return true // a type modifier: `x::mytype(3)`
  return before?.kind === 'word' && COLUMN_LIST_INTRODUCERS.has(before.text)
}

function isCatalog(schema: SqlToken): boolean {
  return schema.text === 'pg_catalog'
}

/**
 * Unreserved words whose `(` is grammar in the position given by the word before them. The
 * operator words (`like`, `join`...) are taken as grammar wherever they are: a user's function
 * with such a name is not worth an `unknown` on every `LEFT JOIN (SELECT ...)`.
 */
function isGrammarWord(word: string, before: SqlToken | undefined): boolean {
  if (isKeyword(before, 'tablesample')) return true // the sampling method: `system(10)`
  switch (word) {
    case 'key':
      return isKeyword(before, 'primary') || isKeyword(before, 'foreign')
    case 'conflict':
      return isKeyword(before, 'on')
    case 'insert':
      return isKeyword(before, 'then') // MERGE ... WHEN NOT MATCHED THEN INSERT (a, b)
    case 'set':
      return isKeyword(before, 'update') // ON CONFLICT DO UPDATE SET (a, b) = ...
    case 'sets':
      return isKeyword(before, 'grouping')
    case 'filter':
    case 'over':
      return isSymbol(before, ')') // count(*) FILTER (WHERE ...) OVER (...)
    case 'like':
    case 'ilike':
    case 'similar':
    case 'overlaps':
    case 'join':
      return true
    default:
      return false
  }
}

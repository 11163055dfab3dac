/**
 * What PostgreSQL's catalog says about a table: its estimated row count, its indexes (key
 * columns in order) and its columns with their types and average stored width.
 */

/** What the analyzer needs of a Prisma client or interactive transaction: raw SQL with values. */
export interface RawQueryable {
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): PromiseLike<T>
  $executeRawUnsafe(query: string, ...values: unknown[]): PromiseLike<number>
}

/** One index of a table. */
export interface TableIndex {
  name: string
  /** Key columns in order (`null` for an expression); `INCLUDE` columns are not keys. */
  columns: (string | null)[]
  unique: boolean
  /** A partial index (`WHERE ...`): it serves only queries that imply its predicate. */
  partial: boolean
}

/** One column of a table. */
export interface TableColumn {
  name: string
  /** `integer`, `text`, `jsonb`, `character varying(20)`... */
  type: string
  /** Average stored width in bytes (from `pg_stats`, after `ANALYZE`), or `null`. */
  avgWidth: number | null
}

/** The catalog's view of one table. */
export interface TableInfo {
  schema: string
  table: string
  /** The planner's row estimate (`pg_class.reltuples`), `null` before the first `ANALYZE`. */
  estimatedRows: number | null
  indexes: TableIndex[]
  columns: TableColumn[]
}

const TABLE_INFO_SQL = `
SELECT CASE WHEN c.reltuples < 0 THEN NULL ELSE c.reltuples::float8 END AS "estimatedRows",
  (SELECT coalesce(json_agg(json_build_object(
      'name', i.relname,
      'unique', x.indisunique,
      'partial', x.indpred IS NOT NULL,
      'columns', (SELECT json_agg(a.attname ORDER BY k.position)
                  FROM unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, position)
                  LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
                  WHERE k.position <= x.indnkeyatts))
    ORDER BY i.relname), '[]'::json)
   FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
   WHERE x.indrelid = c.oid AND x.indisvalid) AS indexes,
  (SELECT coalesce(json_agg(json_build_object(
      'name', a.attname,
      'type', format_type(a.atttypid, a.atttypmod),
      'avgWidth', s.avg_width) ORDER BY a.attnum), '[]'::json)
   FROM pg_attribute a
   LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname AND s.attname = a.attname
   WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2`

interface TableInfoRow {
  estimatedRows: number | null
  indexes: TableIndex[]
  columns: TableColumn[]
}

/**
 * Reads table information once per table for the life of one analysis (in its transaction, so
 * it sees what the analyzed query sees).
 *
 * @example
 * ```ts
 * const catalog = new TableCatalog(tx)
 * const info = await catalog.table('public', 'Product')
 * info?.indexes.map((index) => index.columns[0]) // ['id', 'sku', 'categoryId', 'createdAt']
 * ```
 */
export class TableCatalog {
  readonly #tables = new Map<string, Promise<TableInfo | undefined>>()

  readonly #db: RawQueryable

  constructor(db: RawQueryable) {
    this.#db = db
  }

  /** The table `schema.table`, or `undefined` if it is not a table the catalog knows. */
  table(schema: string, table: string): Promise<TableInfo | undefined> {
    const key = JSON.stringify([schema, table])
    let info = this.#tables.get(key)
    if (info === undefined) {
      info = this.#read(schema, table)
      this.#tables.set(key, info)
    }
    return info
  }

  async #read(schema: string, table: string): Promise<TableInfo | undefined> {
    const rows = await this.#db.$queryRawUnsafe<TableInfoRow[]>(TABLE_INFO_SQL, schema, table)
    const row = rows[0]
    if (row === undefined) return undefined
    return { schema, table, ...row }
  }
}

/**
 * Whether some index of `info` has `columns` as its leading key columns (so it can serve a
 * filter on the first and a sort on the rest). Partial indexes do not count: they serve only
 * some queries.
 *
 * @example
 * ```ts
 * hasIndexLeadingWith(info, ['categoryId']) // true for @@index([categoryId])
 * ```
 */
export function hasIndexLeadingWith(info: TableInfo, columns: readonly string[]): boolean {
  return info.indexes.some(
    (index) => !index.partial && columns.every((column, i) => index.columns[i] === column),
  )
}

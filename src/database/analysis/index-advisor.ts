/**
 * Index advice from plans: a sequential scan of a large table that keeps few of the rows it
 * reads, filtering on a column no index leads with, wants that index; a sort over many rows (or
 * a top-N sort under a `LIMIT`) of a scanned table wants an index on the sort key; an equality
 * filter followed by a sort wants one index on both, filter column first.
 */
import type { ModelGraph } from '../../prisma/schema/model-graph.js'
import {
  type ColumnUse,
  columnsIn,
  type PlanNode,
  rowsOf,
  rowsRead,
  type SortColumn,
  sortColumns,
  walkPlan,
} from './plan-walker.js'
import type { MissingIndexRecommendation, Severity } from './recommendations.js'
import { hasIndexLeadingWith, type TableCatalog, type TableInfo } from './table-catalog.js'

/** The thresholds of the advice. */
export interface IndexAdvisorSettings {
  /** Tables with more rows than this are worth an index. */
  largeTableRows: number
  /** A filter keeping at most this share of the rows read is selective enough for an index. */
  indexSelectivity: number
}

/** Nodes that pass their input's order or rows through unchanged on the way to a sort. */
const PASS_THROUGH = new Set(['Gather', 'Gather Merge', 'Materialize', 'Memoize'])
const SORTS = new Set(['Sort', 'Incremental Sort'])
const MAX_IDENTIFIER_BYTES = 63

/**
 * `"name"`, with embedded quotes doubled: PostgreSQL's quoting of an identifier.
 *
 * @example
 * ```ts
 * quoteIdentifier('Product') // '"Product"'
 * ```
 */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

/** Prisma's index name (`Product_viewCount_idx`), cut to PostgreSQL's 63 bytes as it would be. */
function indexNameOf(table: string, columns: readonly string[]): string {
  let name = `${table}_${columns.join('_')}_idx`
  while (Buffer.byteLength(name) > MAX_IDENTIFIER_BYTES) name = name.slice(0, -1)
  return name
}

/** The order a scan's rows are wanted in, and what asks for it. */
interface Ordering {
  /** The order as columns of the scanned table (`undefined`: an expression, no index serves it). */
  keys: SortColumn[] | undefined
  /** The scan walks an index to get the order (no `Index Cond`): the order costs no sort. */
  fromIndex: boolean
  /** Rows sorted (for a sort node). */
  sortedRows: number
  /** Rows a `LIMIT` above keeps, if there is one: then an ordered index lets PostgreSQL stop early. */
  limitRows: number | undefined
}

function limitAbove(ancestors: readonly PlanNode[]): number | undefined {
  const limit = ancestors.find((node) => node['Node Type'] === 'Limit')
  return limit === undefined ? undefined : rowsOf(limit)
}

/**
 * The order the rows of `scan` are wanted in: the sort node it feeds (through gathers), or the
 * index it walks without an index condition, which PostgreSQL does only for that index's order.
 */
function orderingOf(
  scan: PlanNode,
  ancestors: readonly PlanNode[],
  info: TableInfo,
  columns: ReadonlySet<string>,
): Ordering | undefined {
  if (scan['Node Type'] !== 'Seq Scan') {
    const index = info.indexes.find((candidate) => candidate.name === scan['Index Name'])
    const backward = scan['Scan Direction'] === 'Backward'
    const keys = index?.columns.every((column) => column !== null)
      ? index.columns.map((column) => ({ column: column as string, descending: backward }))
      : undefined
    return { keys, fromIndex: true, sortedRows: 0, limitRows: limitAbove(ancestors) }
  }
  for (let i = 0; i < ancestors.length; i++) {
    const node = ancestors[i] as PlanNode
    if (SORTS.has(node['Node Type'])) {
      return {
        keys: sortColumns(node['Sort Key'] ?? [], scan.Alias, columns),
        fromIndex: false,
        sortedRows: rowsOf(node),
        limitRows: limitAbove(ancestors.slice(i + 1)),
      }
    }
    if (!PASS_THROUGH.has(node['Node Type'])) return undefined
  }
  return undefined
}

interface Advice {
  columns: SortColumn[]
  reason: MissingIndexRecommendation['reason']
}

/**
 * The index one scan wants, if any. `scan` is a sequential scan, or an index scan without an
 * index condition (a walk of the whole index for its order, filtering as it goes).
 */
function adviceFor(
  scan: PlanNode,
  ancestors: readonly PlanNode[],
  info: TableInfo,
  settings: IndexAdvisorSettings,
  rowsScanned: number,
): Advice | undefined {
  const columns = new Set(info.columns.map((column) => column.name))
  const filter = scan.Filter === undefined ? [] : columnsIn(scan.Filter, scan.Alias, columns)
  const order = orderingOf(scan, ancestors, info, columns)
  const keys = order?.keys ?? []
  const kept = rowsOf(scan)
  const selective = kept <= settings.indexSelectivity * rowsScanned
  // Equality conditions first: an index on them narrows the most and can carry the order.
  const unindexed = filter
    .filter((use) => !hasIndexLeadingWith(info, [use.column]))
    .sort((a: ColumnUse, b: ColumnUse) => Number(b.equality) - Number(a.equality))
  const first = unindexed[0]
  if (selective && first !== undefined) {
    // Carrying the order pays when it spares sorting many rows, or lets a LIMIT stop early.
    const orderPays =
      kept > settings.largeTableRows || (order?.limitRows !== undefined && kept > order.limitRows)
    if (
      first.equality &&
      orderPays &&
      keys.length > 0 &&
      !keys.some((k) => k.column === first.column)
    ) {
      return {
        columns: [{ column: first.column, descending: false }, ...keys],
        reason: 'filter-and-sort',
      }
    }
    return { columns: [{ column: first.column, descending: false }], reason: 'filter' }
  }
  if (order === undefined || order.fromIndex || keys.length === 0) return undefined
  if (filter.length > 0 && selective) return undefined // an indexed, selective filter: not the sort
  // A sort is worth an index when it orders many rows, or picks the top few of a large table.
  if (order.limitRows === undefined && order.sortedRows <= settings.largeTableRows) return undefined
  return { columns: keys, reason: 'sort' }
}

function recommendation(
  info: TableInfo,
  advice: Advice,
  graph: ModelGraph,
  settings: IndexAdvisorSettings,
  rows: { tableRows: number; rowsScanned: number; rowsReturned: number },
): MissingIndexRecommendation {
  const model = graph.model(graph.modelsOfTable(info.schema, info.table)[0] ?? '')
  const names = advice.columns.map((key) => key.column)
  const fields = names.map((column) => model?.fieldsByColumn.get(column))
  const indexName = indexNameOf(info.table, names)
  const keys = advice.columns
    .map((key) => `${quoteIdentifier(key.column)}${key.descending ? ' DESC' : ''}`)
    .join(', ')
  const statement = `CREATE INDEX CONCURRENTLY IF NOT EXISTS ${quoteIdentifier(indexName)} ON ${quoteIdentifier(info.schema)}.${quoteIdentifier(info.table)} (${keys})`
  const prismaSchema = fields.every((field) => field !== undefined)
    ? `@@index([${advice.columns.map((key, i) => `${fields[i]}${key.descending ? '(sort: Desc)' : ''}`).join(', ')}])`
    : undefined
  const severity: Severity = rows.tableRows >= 10 * settings.largeTableRows ? 'high' : 'medium'
  const what =
    advice.reason === 'sort'
      ? `sorts ${rows.rowsReturned.toLocaleString('en-US')} rows by ${names.join(', ')}`
      : `reads ${rows.rowsScanned.toLocaleString('en-US')} rows to keep ${rows.rowsReturned.toLocaleString('en-US')} (filter on ${names[0]}${advice.reason === 'filter-and-sort' ? `, then sorted by ${names.slice(1).join(', ')}` : ''})`
  return {
    kind: 'missing-index',
    model: model?.name,
    severity,
    message: `A full scan of ${info.table} (${rows.tableRows.toLocaleString('en-US')} rows) ${what}; an index on (${names.join(', ')}) would avoid it: ${statement}`,
    schema: info.schema,
    table: info.table,
    columns: names,
    fields,
    reason: advice.reason,
    indexName,
    statement,
    prismaSchema,
    ...rows,
  }
}

/** A scan that reads the whole table: sequentially, or along an index without a condition. */
function isFullScan(node: PlanNode): boolean {
  const type = node['Node Type']
  if (type === 'Seq Scan') return true
  return (type === 'Index Scan' || type === 'Index Only Scan') && node['Index Cond'] === undefined
}

/**
 * The indexes `root`'s plan wants (one per full scan at most, none that exists already).
 *
 * @example
 * ```ts
 * const advice = await adviseIndexes(output.Plan, catalog, graph, 'public',
 *   { largeTableRows: 1000, indexSelectivity: 0.2 })
 * advice[0]?.statement // 'CREATE INDEX CONCURRENTLY IF NOT EXISTS "Product_viewCount_idx" ...'
 * ```
 */
export async function adviseIndexes(
  root: PlanNode,
  catalog: TableCatalog,
  graph: ModelGraph,
  currentSchema: string,
  settings: IndexAdvisorSettings,
): Promise<MissingIndexRecommendation[]> {
  const found: MissingIndexRecommendation[] = []
  for (const { node, ancestors } of walkPlan(root)) {
    const table = node['Relation Name']
    if (table === undefined || !isFullScan(node)) continue
    const info = await catalog.table(node.Schema ?? currentSchema, table)
    if (info === undefined) continue
    const read = rowsRead(node)
    const tableRows = Math.round(Math.max(info.estimatedRows ?? 0, read ?? 0))
    if (tableRows <= settings.largeTableRows) continue
    const rowsScanned = read ?? tableRows
    // A scan a LIMIT stopped early read few rows: cheap, whatever the table's size.
    if (rowsScanned <= settings.largeTableRows) continue
    const advice = adviceFor(node, ancestors, info, settings, rowsScanned)
    if (advice === undefined) continue
    if (
      hasIndexLeadingWith(
        info,
        advice.columns.map((key) => key.column),
      )
    )
      continue
    const made = recommendation(info, advice, graph, settings, {
      tableRows,
      rowsScanned,
      rowsReturned: rowsOf(node),
    })
    if (!found.some((other) => other.statement === made.statement)) found.push(made)
  }
  return found
}

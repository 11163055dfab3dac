/**
 * Advice from the query's arguments and the model rather than from its plan: reads that fetch
 * every column when some are wide, deep `skip` offsets, `findMany` without `take` on a large
 * table, and the N+1 loops `QueryMetrics` saw for the model.
 */
import type { NPlusOneReport } from '../../prisma/metrics/n-plus-one.js'
import type { ModelNode } from '../../prisma/schema/model-graph.js'
import type {
  LargeOffsetRecommendation,
  NPlusOneRecommendation,
  OverFetchingRecommendation,
  Recommendation,
  UnboundedFindManyRecommendation,
} from './recommendations.js'
import type { TableInfo } from './table-catalog.js'

/** The thresholds of the advice. */
export interface QueryAdvisorSettings {
  largeTableRows: number
  /** A column whose average stored width reaches this many bytes counts as wide. */
  wideColumnBytes: number
  /** A read of more columns than this without `select` over-fetches even without wide ones. */
  manyColumns: number
  /** `skip` beyond this advises cursor pagination. */
  maxOffset: number
}

/** What the advisor looks at. */
export interface QueryFacts {
  model: ModelNode
  operation: string
  args: Record<string, unknown>
  /** The model's table, when the catalog has it. */
  table: TableInfo | undefined
  /** Rows the query's first statement returned (`undefined` when nothing was explained). */
  rowsReturned: number | undefined
  /** Rows in the table as the plans saw them (sequential scans read them all). */
  rowsSeen: number
}

const READS = new Set([
  'findMany',
  'findFirst',
  'findFirstOrThrow',
  'findUnique',
  'findUniqueOrThrow',
])
const WIDE_TYPES = new Set(['Json', 'Bytes'])

function overFetching(
  facts: QueryFacts,
  settings: QueryAdvisorSettings,
): OverFetchingRecommendation | undefined {
  const { model, operation, args, table } = facts
  if (!READS.has(operation) || args.select !== undefined) return undefined
  const scalars = [...model.fields.values()].filter(
    (field) => field.kind === 'scalar' || field.kind === 'enum',
  )
  const widths = new Map(table?.columns.map((column) => [column.name, column.avgWidth]) ?? [])
  const wide = scalars.filter((field) => {
    const width = widths.get(field.dbName ?? field.name)
    return (
      WIDE_TYPES.has(field.type) ||
      field.isList ||
      (typeof width === 'number' && width >= settings.wideColumnBytes)
    )
  })
  if (wide.length === 0 && scalars.length <= settings.manyColumns) return undefined
  const wideNames = wide.map((field) => field.name)
  const suggestedSelect: Record<string, true> = {}
  for (const field of scalars)
    if (!wideNames.includes(field.name)) suggestedSelect[field.name] = true
  const reason =
    wide.length > 0
      ? `including wide ${wideNames.join(', ')}`
      : `more than ${settings.manyColumns} columns`
  return {
    kind: 'over-fetching',
    model: model.name,
    severity: wide.length > 0 ? 'medium' : 'low',
    message: `${model.name}.${operation} without select reads all ${scalars.length} columns (${reason}); select only the fields the caller uses`,
    operation,
    columns: scalars.length,
    wideColumns: wideNames,
    suggestedSelect,
  }
}

function largeOffset(
  facts: QueryFacts,
  settings: QueryAdvisorSettings,
): LargeOffsetRecommendation | undefined {
  const skip = facts.args.skip
  if (typeof skip !== 'number' || skip <= settings.maxOffset) return undefined
  return {
    kind: 'large-offset',
    model: facts.model.name,
    severity: 'medium',
    message: `${facts.model.name}.${facts.operation} skips ${skip} rows, which PostgreSQL reads and throws away on every call; paginate with a cursor (cursor + take on a unique, ordered field)`,
    operation: facts.operation,
    skip,
  }
}

function unboundedFindMany(
  facts: QueryFacts,
  settings: QueryAdvisorSettings,
): UnboundedFindManyRecommendation | undefined {
  if (facts.operation !== 'findMany' || facts.args.take !== undefined) return undefined
  const tableRows = Math.max(facts.table?.estimatedRows ?? 0, facts.rowsSeen)
  if (tableRows <= settings.largeTableRows) return undefined
  const rowsReturned = facts.rowsReturned ?? 0
  return {
    kind: 'unbounded-find-many',
    model: facts.model.name,
    severity: rowsReturned > settings.largeTableRows ? 'high' : 'medium',
    message: `${facts.model.name}.findMany has no take on a table of ${Math.round(tableRows).toLocaleString('en-US')} rows (this call returned ${rowsReturned.toLocaleString('en-US')}); bound it with take and paginate`,
    operation: 'findMany',
    tableRows,
    rowsReturned,
  }
}

/**
 * N+1 recommendations from `reports` (a `QueryMetrics.nPlusOne()`), for `model` only when given.
 *
 * @example
 * ```ts
 * nPlusOneAdvice(metrics.nPlusOne(), 'Review')[0]?.suggestion
 * ```
 */
export function nPlusOneAdvice(
  reports: readonly NPlusOneReport[],
  model?: string,
): NPlusOneRecommendation[] {
  return reports
    .filter((report) => model === undefined || report.model === model)
    .map((report) => ({
      kind: 'n-plus-one' as const,
      model: report.model,
      severity: 'high' as const,
      message: `${report.model ?? '$raw'}.${report.operation} ran ${report.count} times with the shape ${report.shape}${report.callSite === undefined ? '' : ` at ${report.callSite}`}: ${report.suggestion}`,
      operation: report.operation,
      shape: report.shape,
      count: report.count,
      callSite: report.callSite,
      suggestion: report.suggestion,
    }))
}

/**
 * The argument-based recommendations for one query.
 *
 * @example
 * ```ts
 * adviseQuery({ model, operation: 'findMany', args: { skip: 50_000 }, table, rowsReturned: 20,
 *   rowsSeen: 0 }, settings) // [{ kind: 'large-offset', ... }, { kind: 'unbounded-find-many', ... }]
 * ```
 */
export function adviseQuery(facts: QueryFacts, settings: QueryAdvisorSettings): Recommendation[] {
  const found: (Recommendation | undefined)[] = [
    overFetching(facts, settings),
    largeOffset(facts, settings),
    unboundedFindMany(facts, settings),
  ]
  return found.filter((item): item is Recommendation => item !== undefined)
}

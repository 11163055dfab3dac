/**
 * What the query analyzer recommends: one typed shape per kind, so that callers can act on the
 * details (run `statement`, apply `suggestedSelect`) rather than parse the message.
 */

/** How much a recommendation matters: `high` first. */
export type Severity = 'high' | 'medium' | 'low'

/** What every recommendation has. */
interface RecommendationBase {
  /** The model concerned (`undefined` for SQL no model maps to). */
  model: string | undefined
  /** How much it matters. */
  severity: Severity
  /** One readable sentence or two: what was seen and what to do. */
  message: string
}

/**
 * A sequential scan or a sort over many rows that an index would avoid. Run `statement` (it
 * builds the index without blocking writes) or add `prismaSchema` to the model and migrate.
 */
export interface MissingIndexRecommendation extends RecommendationBase {
  /** Tells the kinds of recommendation apart. */
  kind: 'missing-index'
  /** The PostgreSQL schema of the table. */
  schema: string
  /** The table to index. */
  table: string
  /** The index's columns, in order. */
  columns: string[]
  /** The model fields of those columns, where the model maps them. */
  fields: (string | undefined)[]
  /** What the index serves: the filter, the sort, or an equality filter followed by the sort. */
  reason: 'filter' | 'sort' | 'filter-and-sort'
  /** `Product_viewCount_idx`: Prisma's own naming, so `prisma migrate` agrees with it. */
  indexName: string
  /** `CREATE INDEX CONCURRENTLY IF NOT EXISTS "Product_viewCount_idx" ON "public"."Product" ("viewCount")`. */
  statement: string
  /** The same index in the Prisma schema (`@@index([viewCount])`), when every column maps to a field. */
  prismaSchema: string | undefined
  /** Rows in the table (statistics, or what the scan read when larger). */
  tableRows: number
  /** Rows the scan or sort handled for this statement. */
  rowsScanned: number
  /** Rows it kept. */
  rowsReturned: number
}

/** The same query shape repeated in a loop (seen by `QueryMetrics`). */
export interface NPlusOneRecommendation extends RecommendationBase {
  /** Tells the kinds of recommendation apart. */
  kind: 'n-plus-one'
  /** The Prisma operation concerned. */
  operation: string
  /** The repeated shape, e.g. `{where:{productId:?}}`. */
  shape: string
  /** Calls of the shape counted. */
  count: number
  /** `file:line` of the loop's call. */
  callSite: string | undefined
  /** The single query that would replace the loop. */
  suggestion: string
}

/** A read that returns every column, some of them wide, where a `select` would do. */
export interface OverFetchingRecommendation extends RecommendationBase {
  /** Tells the kinds of recommendation apart. */
  kind: 'over-fetching'
  /** The Prisma operation concerned. */
  operation: string
  /** Columns read per row. */
  columns: number
  /** Columns of `json`, `bytea` or arrays, or whose average stored width is large. */
  wideColumns: string[]
  /** A `select` of every scalar field but the wide ones: trim it to the fields the caller uses. */
  suggestedSelect: Record<string, true>
}

/** `skip` so large that PostgreSQL reads and throws away many rows for each page. */
export interface LargeOffsetRecommendation extends RecommendationBase {
  /** Tells the kinds of recommendation apart. */
  kind: 'large-offset'
  /** The Prisma operation concerned. */
  operation: string
  /** The `skip` the call used. */
  skip: number
}

/** A `findMany` without `take` on a large table: one call can return the whole table. */
export interface UnboundedFindManyRecommendation extends RecommendationBase {
  /** Tells the kinds of recommendation apart. */
  kind: 'unbounded-find-many'
  /** The Prisma operation concerned. */
  operation: string
  /** Rows in the table. */
  tableRows: number
  /** Rows this call returned. */
  rowsReturned: number
}

/** An operation that is slow in production (per `QueryMetrics`) and has not been analyzed yet. */
export interface SlowOperationRecommendation extends RecommendationBase {
  /** Tells the kinds of recommendation apart. */
  kind: 'slow-operation'
  /** The Prisma operation concerned. */
  operation: string
  /** 95th percentile of its database time, ms. */
  p95Ms: number
  /** Calls seen. */
  queries: number
  /** Distinct `file:line` call sites of its slow calls still held by the metrics, latest first. */
  callSites: string[]
}

/** Every recommendation, told apart by `kind`. */
export type Recommendation =
  | MissingIndexRecommendation
  | NPlusOneRecommendation
  | OverFetchingRecommendation
  | LargeOffsetRecommendation
  | UnboundedFindManyRecommendation
  | SlowOperationRecommendation

/** `high` = 0: sorts most important first. */
export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { high: 0, medium: 1, low: 2 }

/**
 * What makes two recommendations the same advice: an index by its statement, an N+1 by its
 * shape and call site, the others by model, operation and kind.
 *
 * @example
 * ```ts
 * recommendationKey(recommendation) // 'missing-index:CREATE INDEX CONCURRENTLY ...'
 * ```
 */
export function recommendationKey(recommendation: Recommendation): string {
  switch (recommendation.kind) {
    case 'missing-index':
      return `missing-index:${recommendation.statement}`
    case 'n-plus-one':
      return `n-plus-one:${recommendation.model}.${recommendation.operation}:${recommendation.shape}:${recommendation.callSite}`
    default:
      return `${recommendation.kind}:${recommendation.model}.${recommendation.operation}`
  }
}

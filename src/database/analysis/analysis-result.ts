/** What `QueryAnalyzer.analyze` returns, and the per-statement part made from an EXPLAIN. */
import type { ExplainedStatement, ExplainMode, SkippedStatement } from './explain.js'
import { type ExplainOutput, type PlanNodeSummary, rowsOf, summarizePlan } from './plan-walker.js'
import type { Recommendation } from './recommendations.js'

/** One SQL statement the analyzed call ran, and its plan. */
export interface StatementAnalysis {
  /** The statement, as Prisma sent it. */
  sql: string
  /** Its parameter values as captured (a bounded summary). */
  params: unknown
  /** `analyze`: run with `EXPLAIN ANALYZE`; `plan`: planned with its values; `generic`: without. */
  mode: ExplainMode
  /** Why it was not run with `ANALYZE`, when it was not. */
  note: string | undefined
  /** PostgreSQL's JSON plan (`EXPLAIN (FORMAT JSON, VERBOSE[, ANALYZE, BUFFERS])`), whole. */
  plan: ExplainOutput
  /** `EXPLAIN`'s planning time, ms. */
  planningTimeMs: number | undefined
  /** `EXPLAIN ANALYZE`'s execution time, ms (`undefined` unless `mode` is `analyze`). */
  executionTimeMs: number | undefined
  /** How long it took when the analyzed call ran it, ms. */
  capturedDurationMs: number
  /** The planner's total cost of the whole statement. */
  totalCost: number
  /** Rows it returned (actual with `analyze`, else estimated). */
  rows: number
  /** Shared buffers found in memory and read from disk (0 unless `mode` is `analyze`). */
  buffers: {
    /** Blocks found in shared buffers. */
    sharedHit: number
    /** Blocks read from disk (or the OS cache). */
    sharedRead: number
  }
  /** The plan's nodes, root first. */
  nodes: PlanNodeSummary[]
}

/** The analysis of one Prisma call. */
export interface QueryAnalysis {
  /** The model analyzed. */
  model: string
  /** The operation analyzed. */
  operation: string
  /** The call's arguments (a bounded summary). */
  args: unknown
  /** The statements it ran, each with its plan. */
  statements: StatementAnalysis[]
  /** Statements that could not be explained, and why. */
  skipped: SkippedStatement[]
  /** Statements the call ran (more than `statements` when over 50). */
  statementCount: number
  /** Sum of the statements' planner costs. */
  totalCost: number
  /** Sum of the statements' `EXPLAIN ANALYZE` execution times, ms. */
  executionTimeMs: number
  /** Wall time of the call itself inside the analysis transaction, ms. */
  durationMs: number
  /** Most severe first. */
  recommendations: Recommendation[]
  /** When the analysis ended, epoch ms. */
  analyzedAt: number
}

/**
 * The analysis of one explained statement.
 *
 * @example
 * ```ts
 * const analysis = statementAnalysis(explained)
 * analysis.nodes.some((node) => node.nodeType === 'Seq Scan')
 * ```
 */
export function statementAnalysis(explained: ExplainedStatement): StatementAnalysis {
  const { output } = explained
  const root = output.Plan
  return {
    sql: explained.sql,
    params: explained.params,
    mode: explained.mode,
    note: explained.note,
    plan: output,
    planningTimeMs: output['Planning Time'],
    executionTimeMs: output['Execution Time'],
    capturedDurationMs: explained.capturedDurationMs,
    totalCost: root['Total Cost'],
    rows: rowsOf(root),
    // The root's buffer counts include its children's.
    buffers: {
      sharedHit: root['Shared Hit Blocks'] ?? 0,
      sharedRead: root['Shared Read Blocks'] ?? 0,
    },
    nodes: summarizePlan(root),
  }
}

/**
 * EXPLAIN for captured statements, run inside the analysis transaction. Each statement runs in a
 * savepoint that is rolled back, so `EXPLAIN ANALYZE` of a write changes nothing (the whole
 * transaction is rolled back later anyway) and a failure does not abort the transaction.
 *
 * Three ways, best first:
 * - `analyze`: `EXPLAIN (ANALYZE, BUFFERS, VERBOSE)` with the statement's own parameter values
 *   (`args`, which the analysis' collector keeps, else recovered from `params`, the summary):
 *   the plan as run, with actual rows, times and buffers;
 * - `plan`: `EXPLAIN (VERBOSE)` with those values, when running it again fails (an `INSERT` of a
 *   unique value the analyzed query has just inserted);
 * - `generic`: the generic plan of the prepared statement (`plan_cache_mode = force_generic_plan`),
 *   when only a summary of the values was kept and it cut some (see `recoverParams`): a
 *   statement from the slow-query log, say.
 *
 * The parameter values of a captured statement are recovered from what `captureSql` keeps: with
 * `withParams: true` it keeps a bounded summary of them (see `summarizeArgs`), which is the values
 * themselves for the numbers, booleans, short strings and short lists Prisma sends for filters,
 * limits and keys. Where the summary cut something (a long string, bytes, a long `IN` list), the
 * values are lost and the statement can only be planned generically.
 */
import { messageOf } from '../../cache/value-path.js'
import type { CapturedStatement } from '../../prisma/sql-capture.js'
import type { ExplainOutput } from './plan-walker.js'
import type { RawQueryable } from './table-catalog.js'

/** How a statement was explained (see the module's description). */
export type ExplainMode = 'analyze' | 'plan' | 'generic'

/** A statement and its plan. */
export interface ExplainedStatement {
  readonly sql: string
  /** The bounded summary of its parameter values, as captured. */
  readonly params: unknown
  readonly mode: ExplainMode
  /** Why it was not explained with `ANALYZE`, when it was not. */
  readonly note: string | undefined
  readonly output: ExplainOutput
  /** How long the statement took when the analyzed query ran it, ms. */
  readonly capturedDurationMs: number
}

/** A statement the analysis could not explain, and why. */
export interface SkippedStatement {
  /** The statement. */
  sql: string
  /** Why it was not explained. */
  reason: string
}

const EXPLAINABLE = /^\s*(SELECT|WITH|INSERT|UPDATE|DELETE|VALUES|TABLE)\b/i
const SAVEPOINT = 'stratacache_explain'

let prepared = 0

/**
 * Whether `sql` is a statement EXPLAIN takes (not `BEGIN`, `COMMIT`, a savepoint or an adapter
 * call such as `-- startTransaction(...)`).
 *
 * @example
 * ```ts
 * isExplainable('SELECT 1') // true
 * isExplainable('COMMIT') // false
 * ```
 */
export function isExplainable(sql: string): boolean {
  return EXPLAINABLE.test(sql)
}

/** The database's reason from an error Prisma threw. */
function reasonOf(error: unknown): string {
  const text = messageOf(error)
  // Prisma prefixes raw query errors with its own lines; the database's reason is the last one.
  return (text.trim().split('\n').at(-1) ?? text).slice(0, 300)
}

async function inSavepoint<T>(db: RawQueryable, run: () => Promise<T>): Promise<T> {
  await db.$executeRawUnsafe(`SAVEPOINT ${SAVEPOINT}`)
  try {
    return await run()
  } finally {
    await db.$executeRawUnsafe(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}`)
    await db.$executeRawUnsafe(`RELEASE SAVEPOINT ${SAVEPOINT}`)
  }
}

async function explain(
  db: RawQueryable,
  options: string,
  sql: string,
  values: unknown[],
): Promise<ExplainOutput> {
  const rows = await db.$queryRawUnsafe<{ 'QUERY PLAN': ExplainOutput[] }[]>(
    `EXPLAIN (${options}) ${sql}`,
    ...values,
  )
  const output = rows[0]?.['QUERY PLAN']?.[0]
  if (output === undefined) throw new Error('EXPLAIN returned no plan')
  return output
}

async function explainGeneric(db: RawQueryable, sql: string): Promise<ExplainOutput> {
  const name = `stratacache_explain_${process.pid}_${++prepared}`
  try {
    return await inSavepoint(db, async () => {
      await db.$executeRawUnsafe('SET LOCAL plan_cache_mode = force_generic_plan')
      await db.$executeRawUnsafe(`PREPARE ${name} AS ${sql}`)
      const rows = await db.$queryRawUnsafe<{ count: number }[]>(
        'SELECT cardinality(parameter_types)::int AS count FROM pg_prepared_statements WHERE name = $1',
        name,
      )
      const count = rows[0]?.count ?? 0
      const nulls = Array.from({ length: count }, () => 'NULL').join(', ')
      return explain(
        db,
        'VERBOSE, FORMAT JSON',
        `EXECUTE ${name}${count > 0 ? `(${nulls})` : ''}`,
        [],
      )
    })
  } finally {
    // Prepared statements outlive rollbacks, and the connection goes back to the pool.
    const left = await db.$queryRawUnsafe<unknown[]>(
      'SELECT 1 FROM pg_prepared_statements WHERE name = $1',
      name,
    )
    if (left.length > 0) await db.$executeRawUnsafe(`DEALLOCATE ${name}`)
  }
}

/**
 * Explains one captured statement in the best way its capture allows (see the module), or says
 * why it cannot be explained.
 *
 * @example
 * ```ts
 * const result = await explainStatement(tx, collector.statements[0])
 * if ('output' in result) console.log(result.mode, result.output['Execution Time'])
 * ```
 */
export async function explainStatement(
  db: RawQueryable,
  statement: CapturedStatement,
): Promise<ExplainedStatement | SkippedStatement> {
  const { sql, params } = statement
  if (sql.endsWith('…')) {
    return { sql, reason: 'the SQL text was cut by captureSql (raise its maxSqlLength)' }
  }
  const base = { sql, params, capturedDurationMs: statement.durationMs }
  const recovered: RecoveredParams =
    statement.args === undefined ? recoverParams(params) : { ok: true, values: [...statement.args] }
  let note: string
  if (recovered.ok) {
    const { values } = recovered
    try {
      const output = await inSavepoint(db, () =>
        explain(db, 'ANALYZE, BUFFERS, VERBOSE, FORMAT JSON', sql, values),
      )
      return { ...base, mode: 'analyze', note: undefined, output }
    } catch (error) {
      note = `running it again failed (${reasonOf(error)})`
    }
    try {
      const output = await inSavepoint(db, () => explain(db, 'VERBOSE, FORMAT JSON', sql, values))
      return { ...base, mode: 'plan', note, output }
    } catch (error) {
      note = `planning it with its values failed (${reasonOf(error)})`
    }
  } else {
    note = recovered.reason
  }
  try {
    const output = await explainGeneric(db, sql)
    return { ...base, mode: 'generic', note, output }
  } catch (error) {
    return { sql, reason: `${note}; its generic plan failed too (${reasonOf(error)})` }
  }
}

/** The values to run a statement with, or why they cannot be had. */
export type RecoveredParams =
  | { readonly ok: true; readonly values: unknown[] }
  | { readonly ok: false; readonly reason: string }

const CUT_STRING = /…\(\+\d+ chars\)$/
const CUT_LIST = /^…\(\+\d+ (items|keys)\)$/
const LOST =
  /^(<\w+ \d+ bytes>|<(Map|Set) \d+>|\[Circular\]|…|\{…\}|\[…\]|<Function .*>|<unreadable>)$/

class Lost extends Error {}

function recover(value: unknown): unknown {
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return value
  if (typeof value === 'string') {
    if (CUT_STRING.test(value) || CUT_LIST.test(value) || LOST.test(value)) throw new Lost(value)
    return value
  }
  if (Array.isArray(value)) return value.map(recover)
  if (typeof value === 'object' && !('$type' in value) && !('…' in value)) {
    // A JSON parameter: PostgreSQL reads it from its text.
    return JSON.stringify(value, (_key, inner: unknown) => {
      if (typeof inner === 'string' && (CUT_STRING.test(inner) || LOST.test(inner))) {
        throw new Lost(inner)
      }
      return inner
    })
  }
  throw new Lost(String(value))
}

/**
 * The values of `params` (a captured statement's `params`), or the reason they are not all there.
 *
 * @example
 * ```ts
 * recoverParams([100, '2026-12-01T10:00:00.000Z', '10']) // { ok: true, values: [100, '2026-...', '10'] }
 * recoverParams(undefined) // { ok: false, reason: 'no parameter values were captured ...' }
 * ```
 */
export function recoverParams(params: unknown): RecoveredParams {
  if (params === undefined) {
    return {
      ok: false,
      reason:
        'no parameter values were captured: wrap the adapter with captureSql(adapter, { withParams: true })',
    }
  }
  if (!Array.isArray(params)) return { ok: false, reason: 'the captured parameters are not a list' }
  try {
    return { ok: true, values: params.map(recover) }
  } catch (error) {
    if (!(error instanceof Lost)) throw error
    return {
      ok: false,
      reason: `a parameter value was cut from the capture (${error.message.slice(0, 40)})`,
    }
  }
}

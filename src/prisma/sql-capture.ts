import { performance } from 'node:perf_hooks'
import { invalid } from '../errors.js'
import { summarizeArgs } from './metrics/args-summary.js'
import {
  collectSql,
  currentSqlCollector,
  noteSqlCaptureInstalled,
  SqlCollector,
  sqlCaptureInstalled,
} from './metrics/sql-collector.js'

/**
 * SQL capture: wraps a Prisma 7 driver adapter factory so that every statement the query engine
 * runs is timed and its text handed to the Prisma call that caused it.
 *
 * Attribution uses `AsyncLocalStorage`: the extension runs each call's `query(args)` inside
 * `collectSql`, and the wrapped adapter's `queryRaw` / `executeRaw` read the collector of
 * the async context they run in. Measured with Prisma 7.10 and `@prisma/adapter-pg`:
 *
 * - Holds: a plain call (reads, writes, `$queryRaw` / `$executeRaw`), concurrent calls of
 *   different operations, and each call inside an interactive transaction made on its own tick.
 * - Prisma's promises are lazy: the request starts when `then` is called, so the collector must
 *   be entered before that. `collectSql` calls `then` itself; `als.run(c, () => query(args))`
 *   followed by `await` outside would attribute nothing.
 * - Requests Prisma batches run in the context of the request that opened the batch (its
 *   DataLoader dispatches on `process.nextTick`): `findUnique` / `findUniqueOrThrow` calls made in
 *   the same tick (of any model: all batches of a tick are dispatched together), every call made
 *   in the same tick inside an interactive transaction, and all of a `$transaction([...])`. Their
 *   statements (including `BEGIN` / `COMMIT` of the batch transaction) go to that first call, or
 *   are unattributed when they end after it (a closed collector: see `SqlCollector.close`).
 * - `startTransaction` and `COMMIT` of an interactive transaction run in the `$transaction` call's
 *   context, outside any query hook: they are "unattributed" and go to `metrics` / `onStatement`.
 */

/** What `captureSql` needs of a driver adapter factory (`SqlDriverAdapterFactory` fits). */
export interface AdapterFactoryLike {
  /** The database provider (`postgres`). */
  readonly provider: string
  /** The adapter's package name. */
  readonly adapterName: string
  /** Opens the adapter whose queries are captured. */
  connect(): Promise<object>
}

/** One statement run by the adapter. */
export interface CapturedStatement {
  /** The SQL text (cut at `maxSqlLength`); `-- startTransaction(...)` etc. for adapter calls. */
  sql: string
  /** From the call to the adapter until its result (or error), ms. */
  durationMs: number
  /** A bounded summary of the parameter values, only with `withParams: true`. */
  params: unknown
  /**
   * The parameter values themselves, as the driver got them, only for a collector that asks
   * (`SqlCollector.keepArgs`, e.g. a query analysis that runs the statement again); never kept
   * by the metrics, which may hold statements long after the call.
   */
  args?: readonly unknown[]
  /** The error the statement failed with (rethrown unchanged), or `undefined`. */
  error: unknown
  /** Whether it ran inside a transaction. */
  inTransaction: boolean
}

/** Receives statements run outside any attributed call; `QueryMetrics` is one. */
export interface StatementSink {
  /** Receives one statement. */
  recordStatement(statement: CapturedStatement): void
}

/** Options of {@link captureSql}. */
export interface CaptureSqlOptions {
  /**
   * Keep a summary of parameter values (like `DATABASE_LOG_QUERY_PARAMS`).
   * @default false
   */
  withParams?: boolean
  /**
   * Characters of SQL kept per statement.
   * @default 4000
   */
  maxSqlLength?: number
  /** Where statements outside any attributed call go (for the slow-query log). */
  metrics?: StatementSink
  /** Called with every statement and the collector it went to (`undefined` if none). */
  onStatement?: (statement: CapturedStatement, collector: SqlCollector | undefined) => void
}

interface SqlQueryLike {
  sql: string
  args: unknown[]
}
type Method = (...args: unknown[]) => Promise<unknown>

class Capture {
  constructor(
    readonly withParams: boolean,
    readonly maxSqlLength: number,
    readonly sink: StatementSink | undefined,
    readonly onStatement: CaptureSqlOptions['onStatement'],
  ) {}

  /** Runs `method` on `target`, timing it and reporting it as `sql`. */
  async run(
    target: object,
    method: Method,
    args: unknown[],
    sql: string,
    params: unknown,
    inTransaction: boolean,
  ): Promise<unknown> {
    const collector = currentSqlCollector()
    if (collector === undefined && this.sink === undefined && this.onStatement === undefined) {
      return method.apply(target, args)
    }
    const begin = performance.now()
    let error: unknown
    try {
      return await method.apply(target, args)
    } catch (thrown) {
      error = thrown ?? new Error('statement failed')
      throw thrown
    } finally {
      const text = sql.length > this.maxSqlLength ? `${sql.slice(0, this.maxSqlLength)}…` : sql
      const statement: CapturedStatement = {
        sql: text,
        durationMs: performance.now() - begin,
        params: this.withParams ? summarizeArgs(params) : undefined,
        error,
        inTransaction,
      }
      if (collector?.wantsArgs() === true && Array.isArray(params)) statement.args = params
      this.#report(statement, collector)
    }
  }

  #report(statement: CapturedStatement, context: SqlCollector | undefined): void {
    // A closed collector's call has already been recorded: its late statements are unattributed.
    const collector = context?.closed === false ? context : undefined
    try {
      if (collector !== undefined) collector.add(statement)
      else this.sink?.recordStatement(statement)
      this.onStatement?.(statement, collector)
    } catch {
      // Reporting must never change the statement's result or error.
    }
  }
}

/**
 * A proxy that passes every property and method through to `target` (methods bound to it, so
 * private fields keep working), except `overrides`.
 */
function transparent<T extends object>(target: T, overrides: Record<string, unknown>): T {
  const bound = new WeakMap<object, unknown>()
  return new Proxy(target, {
    get(object, property) {
      if (typeof property === 'string' && Object.hasOwn(overrides, property)) {
        return overrides[property]
      }
      const value: unknown = Reflect.get(object, property, object)
      if (typeof value !== 'function') return value
      let fn = bound.get(value)
      if (fn === undefined) {
        fn = value.bind(object)
        bound.set(value, fn)
      }
      return fn
    },
  })
}

function methodOf(target: object, name: string): Method | undefined {
  const value = (target as Record<string, unknown>)[name]
  return typeof value === 'function' ? (value as Method) : undefined
}

function wrapQueryable<T extends object>(target: T, capture: Capture, inTransaction: boolean): T {
  const overrides: Record<string, unknown> = {}
  for (const name of ['queryRaw', 'executeRaw']) {
    const method = methodOf(target, name)
    if (method === undefined) continue
    overrides[name] = (query: SqlQueryLike) =>
      capture.run(target, method, [query], String(query?.sql), query?.args, inTransaction)
  }
  for (const name of ['createSavepoint', 'rollbackToSavepoint', 'releaseSavepoint']) {
    const method = methodOf(target, name)
    if (method === undefined) continue
    overrides[name] = (savepoint: string) =>
      capture.run(target, method, [savepoint], `-- ${name}(${savepoint})`, undefined, true)
  }
  const executeScript = methodOf(target, 'executeScript')
  if (executeScript !== undefined) {
    overrides.executeScript = (script: string) =>
      capture.run(target, executeScript, [script], String(script), undefined, inTransaction)
  }
  const startTransaction = methodOf(target, 'startTransaction')
  if (startTransaction !== undefined) {
    overrides.startTransaction = async (...args: unknown[]) => {
      const label = `-- startTransaction(${args[0] === undefined ? '' : String(args[0])})`
      const tx = await capture.run(target, startTransaction, args, label, undefined, false)
      return wrapQueryable(tx as object, capture, true)
    }
  }
  return transparent(target, overrides)
}

function wrapConnect(target: object, name: string, capture: Capture): Record<string, unknown> {
  const method = methodOf(target, name)
  if (method === undefined) return {}
  return {
    [name]: async (...args: unknown[]) =>
      wrapQueryable((await method.apply(target, args)) as object, capture, false),
  }
}

/**
 * Wraps a Prisma 7 driver adapter factory so that every statement is timed and attributed to the
 * Prisma call that caused it (see `collectSql`). Transparent: same `provider`,
 * `adapterName` and every other property and method; errors are rethrown unchanged. SQL text is
 * kept without parameter values unless `withParams: true`.
 *
 * @example
 * ```ts
 * const metrics = new QueryMetrics({ slowQueryMs: 200 })
 * const prisma = new PrismaClient({ adapter: captureSql(new PrismaPg({ connectionString }), { metrics }) })
 * ```
 */
export function captureSql<F extends AdapterFactoryLike>(
  factory: F,
  options: CaptureSqlOptions = {},
): F {
  if (typeof factory !== 'object' || factory === null || typeof factory.connect !== 'function') {
    throw invalid('adapter', 'must be a Prisma driver adapter factory (e.g. new PrismaPg(...))')
  }
  if (typeof options !== 'object' || options === null) throw invalid('options', 'must be an object')
  const { withParams = false, maxSqlLength = 4000, metrics, onStatement } = options
  if (typeof withParams !== 'boolean') throw invalid('options.withParams', 'must be a boolean')
  if (!Number.isInteger(maxSqlLength) || maxSqlLength < 1) {
    throw invalid('options.maxSqlLength', `must be an integer >= 1, got ${String(maxSqlLength)}`)
  }
  if (metrics !== undefined && typeof metrics?.recordStatement !== 'function') {
    throw invalid('options.metrics', 'must have a recordStatement method (a QueryMetrics)')
  }
  if (onStatement !== undefined && typeof onStatement !== 'function') {
    throw invalid('options.onStatement', 'must be a function')
  }
  const capture = new Capture(withParams, maxSqlLength, metrics, onStatement)
  noteSqlCaptureInstalled()
  return transparent(factory, {
    ...wrapConnect(factory, 'connect', capture),
    ...wrapConnect(factory, 'connectToShadowDb', capture),
  })
}

export { collectSql, currentSqlCollector, SqlCollector, sqlCaptureInstalled }

import { AsyncLocalStorage } from 'node:async_hooks'
import type { CapturedStatement } from '../sql-capture.js'

/** Statements kept per call; past it they are still counted and timed. */
const MAX_STATEMENTS = 50

/**
 * The SQL one Prisma call caused, filled by `captureSql`'s adapter while the call runs inside
 * `collectSql(collector, ...)`. One per call; it is only ever appended to.
 *
 * @example
 * ```ts
 * const collector = new SqlCollector()
 * await collectSql(collector, () => query(args))
 * metrics.record({ ..., dbDurationMs: collector.count > 0 ? collector.dbMs : durationMs,
 *   sql: collector.sql })
 * ```
 */
export class SqlCollector {
  /** The first 50 statements. */
  readonly statements: CapturedStatement[] = []
  /** Statements run, including those past the first 50. */
  count = 0
  /** Time spent in all of them, ms (they run one after another on one connection). */
  dbMs = 0
  /**
   * Set by {@link close} when the call has ended: statements that still arrive (a batch Prisma
   * dispatched in this call's context, finishing after it) are then reported as unattributed.
   */
  closed = false
  /**
   * The collector of the call this one runs inside, set by `collectSql` when calls nest (an
   * analysis running a call that the extension collects for its metrics): it gets every
   * statement too, while it is open.
   */
  parent: SqlCollector | undefined = undefined
  /**
   * Keep each statement's parameter values themselves (`CapturedStatement.args`), for this
   * collector and the calls nested in it. Off by default: values can be large and private.
   */
  keepArgs = false

  /**
   * Adds a statement (called by the capturing adapter).
   *
   * @example
   * ```ts
   * collector.add({ sql: 'SELECT 1', durationMs: 0.4, params: undefined, error: undefined,
   *   inTransaction: false })
   * ```
   */
  add(statement: CapturedStatement): void {
    this.count++
    this.dbMs += statement.durationMs
    if (this.statements.length < MAX_STATEMENTS) this.statements.push(statement)
    const parent = this.parent
    if (parent !== undefined && !parent.closed) parent.add(statement)
  }

  /** Whether this collector, or one it reports to, keeps parameter values. */
  wantsArgs(): boolean {
    for (let at: SqlCollector | undefined = this; at !== undefined; at = at.parent) {
      if (at.keepArgs) return true
    }
    return false
  }

  /** Whether `other` is this collector or one it reports to. */
  reportsTo(other: SqlCollector): boolean {
    for (let at: SqlCollector | undefined = this; at !== undefined; at = at.parent) {
      if (at === other) return true
    }
    return false
  }

  /**
   * Marks the call as ended (see {@link closed}); the extension calls it before recording.
   *
   * @example
   * ```ts
   * collector.close()
   * ```
   */
  close(): void {
    this.closed = true
  }

  /** The SQL texts of the statements kept, in order. */
  get sql(): string[] {
    return this.statements.map((statement) => statement.sql)
  }
}

const storage = new AsyncLocalStorage<SqlCollector>()

function identity<T>(value: T): T {
  return value
}

function start<T>(fn: () => PromiseLike<T> | T): Promise<T> {
  const result = fn()
  // Prisma's promises are lazy (the request starts in `then`): call it here, inside the context.
  if (typeof (result as PromiseLike<T> | undefined)?.then === 'function') {
    return Promise.resolve((result as PromiseLike<T>).then(identity))
  }
  return Promise.resolve(result as T)
}

/**
 * Runs `fn` (typically a query hook's `query(args)`) with `collector` receiving the SQL it causes.
 * Inside another `collectSql`, the outer collector receives those statements too (while it is
 * open), so a call that runs other collected calls (a query analysis) sees all of their SQL.
 *
 * @example
 * ```ts
 * const collector = new SqlCollector()
 * const result = await collectSql(collector, () => query(args))
 * collector.sql // ['SELECT ... FROM "Product" WHERE ...']
 * ```
 */
export function collectSql<T>(collector: SqlCollector, fn: () => PromiseLike<T> | T): Promise<T> {
  const outer = storage.getStore()
  // Nested calls: the outer collector sees the inner call's statements too (never a cycle).
  if (outer !== undefined && collector.parent === undefined && !outer.reportsTo(collector)) {
    collector.parent = outer
  }
  try {
    return storage.run(collector, start<T>, fn)
  } catch (error) {
    return Promise.reject(error)
  }
}

/**
 * Whether any adapter in this process was wrapped by `captureSql`. Until one is, there is
 * no SQL to collect, and callers skip `collectSql`: entering an AsyncLocalStorage turns on
 * Node's promise hooks for the whole process (Node 20), a cost every promise then pays.
 */
export function sqlCaptureInstalled(): boolean {
  return captureInstalled
}

let captureInstalled = false

/**
 * Called by `captureSql` when it wraps an adapter: from then on there is SQL to collect.
 * @internal
 */
export function noteSqlCaptureInstalled(): void {
  captureInstalled = true
}

/**
 * The collector of the current async context, if any.
 *
 * @example
 * ```ts
 * currentSqlCollector()?.count
 * ```
 */
export function currentSqlCollector(): SqlCollector | undefined {
  return storage.getStore()
}

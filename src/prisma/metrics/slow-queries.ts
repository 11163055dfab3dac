import { summarizeArgs } from './args-summary.js'
import { RingBuffer } from './ring-buffer.js'

/**
 * One database call that took longer than `slowQueryMs`. JSON-safe: `args` is a bounded summary
 * (see `summarizeArgs`), never the caller's objects.
 */
export interface SlowQueryEntry {
  /** The model (`Product`); `undefined` for raw queries and for SQL run outside any Prisma call. */
  model: string | undefined
  /** `findMany`, `$queryRaw`..., or `$statement` for SQL captured outside any attributed call. */
  operation: string
  /** Time spent in the database, ms. */
  durationMs: number
  /** Wall time the caller saw, ms (equal to `durationMs` for a bare statement). */
  totalMs: number
  /** Bounded, printable summary of the query's arguments (of the statement's parameters). */
  args: unknown
  /** The SQL statements run, when `captureSql` is on; at most 20, each at most 4000 characters. */
  sql: string[] | undefined
  /** The error message, when the call failed. */
  error: string | undefined
  /**
   * `file:line` of the first user frame of the call (outside node_modules, `node:` internals,
   * stratacache's Prisma layer and `nPlusOne.ignoreFrames`), as N+1 reports have it; `undefined`
   * when no frame qualifies (a statement whose caller no async stack trace reaches), and past the
   * first 100 slow queries of a second (on a saturated database every query is slow, and a
   * capture costs 5-30 µs).
   */
  callSite?: string
  /** When the call ended, epoch ms. */
  timestamp: number
}

/** What a slow call is made of, as the metrics see it. */
export interface SlowQueryInput {
  model: string | undefined
  operation: string
  durationMs: number
  totalMs: number
  args: unknown
  sql: readonly string[] | undefined
  error: unknown
  callSite?: string
}

const MAX_SQL = 20

function errorText(error: unknown): string | undefined {
  if (error === undefined) return undefined
  if (error instanceof Error) return error.message.slice(0, 1000)
  return String(error).slice(0, 1000)
}

/**
 * The latest slow database calls, in a ring buffer of `capacity` entries.
 *
 * @example
 * ```ts
 * const log = new SlowQueryLog(100)
 * log.add({ model: 'Product', operation: 'findMany', durationMs: 1200, totalMs: 1201,
 *   args: { where: { name: { contains: 'x' } } }, sql: undefined, error: undefined })
 * log.entries() // [{ model: 'Product', ..., timestamp: 1767225600000 }]
 * ```
 */
export class SlowQueryLog {
  readonly #buffer: RingBuffer<SlowQueryEntry>

  /** @param capacity entries kept (the oldest are dropped); 0 keeps none but still counts. */
  constructor(capacity: number) {
    this.#buffer = new RingBuffer(capacity)
  }

  /**
   * Records a slow call and returns the entry stored (also when capacity is 0).
   *
   * @example
   * ```ts
   * const entry = log.add(input)
   * ```
   */
  add(input: SlowQueryInput): SlowQueryEntry {
    const entry: SlowQueryEntry = {
      model: input.model,
      operation: input.operation,
      durationMs: input.durationMs,
      totalMs: input.totalMs,
      args: summarizeArgs(input.args),
      sql: input.sql === undefined ? undefined : input.sql.slice(0, MAX_SQL),
      error: errorText(input.error),
      callSite: input.callSite,
      timestamp: Date.now(),
    }
    this.#buffer.push(entry)
    return entry
  }

  /** Slow calls seen since creation or `clear()`, including those no longer held. */
  get total(): number {
    return this.#buffer.total
  }

  /**
   * The entries held, oldest first.
   *
   * @example
   * ```ts
   * for (const slow of log.entries()) console.warn(slow.model, slow.durationMs, slow.sql)
   * ```
   */
  entries(): SlowQueryEntry[] {
    return this.#buffer.toArray()
  }

  /**
   * Drops every entry.
   *
   * @example
   * ```ts
   * log.clear()
   * ```
   */
  clear(): void {
    this.#buffer.clear()
  }
}

/**
 * Errors a service reports with `recordError`, counted by kind, with the recent ones in a bounded
 * window. The kind is read from the error's real shape (Prisma code, driver-adapter cause,
 * PostgreSQL SQLSTATE, Node socket code) by the transaction manager's classifier, with the
 * kinds a health check cares about on top: constraint violations and timeouts of statements and
 * locks. And the line of an error's message that says what failed, for results and reports.
 */
import { classifyTransactionError } from '../transactions/retryable-errors.js'
import type { DatabaseErrorKind, ErrorFigures, LastDatabaseError } from './health-result.js'

/** What {@link classifyDatabaseError} reads off an error. */
export interface DatabaseErrorClass {
  kind: DatabaseErrorKind
  prismaCode: string | undefined
  sqlState: string | undefined
}

/** Prisma's codes of constraint violations: unique, foreign key, constraint failed, null, relation. */
const PRISMA_CONSTRAINT_CODES = new Set(['P2002', 'P2003', 'P2004', 'P2011', 'P2014'])
/** Prisma's codes of timeouts: pool timeout (P2024), socket timeout (P1008). */
const PRISMA_TIMEOUT_CODES = new Set(['P2024', 'P1008'])
/** Prisma's code for "too many connections" (P2037) and "can't reach" (P1001). */
const PRISMA_CONNECTION_CODES = new Set(['P2037', 'P1001', 'P1002', 'P1017'])
/** statement_timeout or cancel (57014), lock_timeout (55P03), idle-in-transaction timeout (25P03). */
const TIMEOUT_SQLSTATES = new Set(['57014', '55P03', '25P03'])
/** too_many_connections (53300), and class 08 (connection exceptions) below. */
const CONNECTION_SQLSTATES = new Set(['53300', '57P01', '57P02', '57P03'])

/**
 * The kind of a database error, with its Prisma code and SQLSTATE when it carries them.
 *
 * @example
 * ```ts
 * classifyDatabaseError(uniqueViolation) // { kind: 'constraint', prismaCode: 'P2002', sqlState: '23505' }
 * ```
 */
export function classifyDatabaseError(error: unknown): DatabaseErrorClass {
  const found = classifyTransactionError(error, 'body')
  const { prismaCode, sqlState } = found
  let kind: DatabaseErrorKind = 'other'
  if (found.kind === 'deadlock' || found.kind === 'serialization') kind = 'conflict'
  else if (found.kind === 'connection-lost') kind = 'connection'
  else if (found.kind === 'timeout' || found.kind === 'start-timeout') kind = 'timeout'
  if (kind === 'other' || prismaCode === 'P1008') {
    if (sqlState?.startsWith('23') || PRISMA_CONSTRAINT_CODES.has(prismaCode ?? '')) {
      kind = 'constraint'
    } else if (
      TIMEOUT_SQLSTATES.has(sqlState ?? '') ||
      PRISMA_TIMEOUT_CODES.has(prismaCode ?? '')
    ) {
      kind = 'timeout'
    } else if (
      sqlState?.startsWith('08') ||
      CONNECTION_SQLSTATES.has(sqlState ?? '') ||
      PRISMA_CONNECTION_CODES.has(prismaCode ?? '')
    ) {
      kind = 'connection'
    }
  }
  return { kind, prismaCode, sqlState }
}

const NO_ERRORS = (): Record<DatabaseErrorKind, number> => ({
  connection: 0,
  timeout: 0,
  constraint: 0,
  conflict: 0,
  other: 0,
})

/**
 * @example
 * ```ts
 * const errors = new ErrorCounts(60_000, 1000)
 * errors.record(error, Date.now())
 * errors.figures(Date.now()).byKind.constraint // 1
 * ```
 */
export class ErrorCounts {
  #total = 0
  readonly #byKind = NO_ERRORS()
  #last: LastDatabaseError | null = null
  /** When the latest errors happened, a ring of `capacity` (enough to count past any threshold). */
  readonly #times: Float64Array
  #next = 0
  #size = 0

  constructor(
    readonly windowMs: number,
    capacity: number,
  ) {
    this.#times = new Float64Array(capacity)
  }

  /** Counts `error` as happened at `now`; returns its class. */
  record(error: unknown, now: number): DatabaseErrorClass {
    const found = classifyDatabaseError(error)
    this.#total++
    this.#byKind[found.kind]++
    this.#last = {
      kind: found.kind,
      message: errorLine(error),
      prismaCode: found.prismaCode ?? null,
      sqlState: found.sqlState ?? null,
      timestamp: new Date(now),
    }
    this.#times[this.#next] = now
    this.#next = (this.#next + 1) % this.#times.length
    if (this.#size < this.#times.length) this.#size++
    return found
  }

  /** Totals, counts by kind, and the errors within the window before `now`. */
  figures(now: number): ErrorFigures {
    const since = now - this.windowMs
    let recent = 0
    for (let i = 0; i < this.#size; i++) if (this.#times[i]! >= since) recent++
    return {
      total: this.#total,
      byKind: { ...this.#byKind },
      recent,
      ratePerMinute: recent / (this.windowMs / 60_000),
      last: this.#last === null ? null : { ...this.#last },
    }
  }
}

/**
 * The line of an error message that says what failed. Prisma's messages open with the call site
 * ("Invalid `prisma.user.create()` invocation:" and a blank line) and end with the cause; a
 * health result and its report want the cause, on one line, bounded.
 *
 * @example
 * ```ts
 * errorLine(new Error('Invalid `prisma.user.create()` invocation:\n\n\nUnique constraint failed on the fields: (`email`)'))
 * // 'Unique constraint failed on the fields: (`email`)'
 * ```
 */
export function errorLine(error: unknown, max = 500): string {
  const text = error instanceof Error ? error.message : textOf(error)
  const lines = text.split('\n').filter((line) => line.trim() !== '')
  const line = (lines.at(-1) ?? text).trim()
  return line.length > max ? `${line.slice(0, max)}…` : line
}

function textOf(value: unknown): string {
  if (typeof value === 'string') return value
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

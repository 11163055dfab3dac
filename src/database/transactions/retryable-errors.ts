/**
 * Which transaction failures are safe to run again, read from the shapes the errors really have
 * with Prisma 7 and `@prisma/adapter-pg` on PostgreSQL (each produced on a real database in
 * test/database/transactions.test.ts):
 *
 * | what happened | shape |
 * | --- | --- |
 * | deadlock in a model query | `PrismaClientKnownRequestError` `P2034`, `meta.driverAdapterError.cause` = `{ kind: 'TransactionWriteConflict', originalCode: '40P01' }` |
 * | serialization failure in a model query | the same with `originalCode: '40001'` |
 * | either in `$queryRaw` / `$executeRaw` | `P2010` ("Raw query failed"), same `meta.driverAdapterError` |
 * | either at `COMMIT` | a bare `DriverAdapterError` (`name`), `cause` as above |
 * | the pool gave no connection within `maxWait` | `P2028`, "Unable to start a transaction in the given time." |
 * | the transaction outlived `timeout` | `P2028`, "... expired transaction ...", `meta: { operation, timeout, timeTaken }` |
 * | the server ended the session (`pg_terminate_backend`, shutdown) | `P2039` with `cause.originalCode: '57P01'`, or pg's plain "Client has encountered a connection error and is not queryable" when pg saw the socket die first |
 *
 * Errors count only when they come from the database stack (Prisma's error classes, the driver
 * adapter's, pg's, Node's socket errors): an error object a user's `fn` made up with
 * `code: '40001'` is the user's business, not a conflict, and is never retried.
 */
import { isRecord } from '../../option-checks.js'

/** Where the attempt was when it failed: safety of a retry depends on it. */
export type TransactionPhase = 'start' | 'body' | 'commit'

/** What kind of failure an error is. */
export type TransactionFailureKind =
  /** PostgreSQL broke a lock cycle (SQLSTATE 40P01): this transaction was rolled back. */
  | 'deadlock'
  /** A serialization failure or write conflict (SQLSTATE 40001, Prisma P2034): rolled back. */
  | 'serialization'
  /** No connection within `maxWait` (P2028 "Unable to start..."): nothing ran. */
  | 'start-timeout'
  /** The connection died (socket reset, 57P01 admin shutdown, class 08...). */
  | 'connection-lost'
  /** The transaction outlived its `timeout` (P2028 on an expired transaction). */
  | 'timeout'
  /** Anything else: a constraint violation, a bug, an error `fn` threw on purpose. */
  | 'other'

/** The verdict on one failed attempt. */
export interface TransactionFailure {
  /** What kind of failure it was. */
  readonly kind: TransactionFailureKind
  /** Whether running the whole transaction again is safe and can help. */
  readonly retryable: boolean
  /** The PostgreSQL SQLSTATE, when the error carries one. */
  readonly sqlState?: string
  /** The Prisma error code (`P2034`...), when it is a Prisma error. */
  readonly prismaCode?: string
}

/** SQLSTATEs of a session the server ended: admin shutdown, crash shutdown, not accepting yet. */
const SESSION_ENDED = new Set(['57P01', '57P02', '57P03'])
/** Prisma's codes for an unreachable or vanished server (P1001 can't reach, P1017 closed...). */
const PRISMA_CONNECTION_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017'])
/** The adapter's error kinds for the same. */
const ADAPTER_CONNECTION_KINDS = new Set([
  'ConnectionClosed',
  'DatabaseNotReachable',
  'SocketTimeout',
])
/** Node socket errors of a connection that broke or never came up (not DNS: that is config). */
const SOCKET_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE'])
/**
 * pg's own messages for a dead connection, which carry no code. Matched whole, not by
 * substring, so a business message that mentions them is not mistaken for one.
 */
const PG_CONNECTION_MESSAGES = new Set([
  'Connection terminated unexpectedly',
  'Client has encountered a connection error and is not queryable',
  'timeout exceeded when trying to connect',
  'Connection terminated due to connection timeout',
])
const START_TIMEOUT_MESSAGE = 'Unable to start a transaction in the given time'

/**
 * Classifies `error`, thrown while the attempt was in `phase`, and says whether a retry is safe:
 *
 * - deadlocks and serialization failures: in every phase, COMMIT included, because PostgreSQL
 *   guarantees the transaction was rolled back;
 * - `start-timeout`: only before the body ran (it cannot happen later);
 * - `connection-lost`: before COMMIT was sent (an open transaction dies with its connection); not
 *   while committing, where the commit may or may not have happened;
 * - `timeout` and `other`: never. An expired transaction would likely expire again, and after
 *   COMMIT timed out its outcome is unknown.
 *
 * @example
 * ```ts
 * classifyTransactionError(error, 'body') // { kind: 'deadlock', retryable: true, sqlState: '40P01', prismaCode: 'P2034' }
 * ```
 */
export function classifyTransactionError(
  error: unknown,
  phase: TransactionPhase,
): TransactionFailure {
  const found = identify(error)
  const retryable =
    found.kind === 'deadlock' ||
    found.kind === 'serialization' ||
    (found.kind === 'start-timeout' && phase === 'start') ||
    (found.kind === 'connection-lost' && phase !== 'commit')
  return { ...found, retryable }
}

type Identified = Omit<TransactionFailure, 'retryable'>

/**
 * `error.cause` is deliberately not followed: an error `fn` throws on purpose, even one wrapping a
 * conflict, is the caller's decision to give up.
 */
function identify(error: unknown): Identified {
  if (!isRecord(error)) return { kind: 'other' }
  const prisma = prismaError(error)
  if (prisma !== undefined) return prisma
  const adapter = adapterError(error)
  if (adapter !== undefined) return adapter
  const sqlState = pgSqlState(error)
  if (sqlState !== undefined) return { kind: kindOfSqlState(sqlState), sqlState }
  if (isSocketError(error) || isPgConnectionMessage(error)) return { kind: 'connection-lost' }
  return { kind: 'other' }
}

/** Prisma's known request errors: `code` P....; the SQLSTATE sits in `meta.driverAdapterError`. */
function prismaError(error: Record<string, unknown>): Identified | undefined {
  if (error.name !== 'PrismaClientKnownRequestError' || typeof error.code !== 'string') {
    return undefined
  }
  const prismaCode = error.code
  const meta = isRecord(error.meta) ? error.meta : {}
  const inner = isRecord(meta.driverAdapterError)
    ? adapterError(meta.driverAdapterError)
    : undefined
  // Before driver adapters, raw query errors carried the SQLSTATE as meta.code.
  const sqlState = inner?.sqlState ?? (typeof meta.code === 'string' ? meta.code : undefined)
  let kind: TransactionFailureKind = inner?.kind ?? 'other'
  if (sqlState !== undefined && kind === 'other') kind = kindOfSqlState(sqlState)
  if (prismaCode === 'P2034' && kind === 'other') kind = 'serialization'
  if (PRISMA_CONNECTION_CODES.has(prismaCode)) kind = 'connection-lost'
  if (prismaCode === 'P2028') {
    const message = typeof error.message === 'string' ? error.message : ''
    kind = message.includes(START_TIMEOUT_MESSAGE)
      ? 'start-timeout'
      : 'timeTaken' in meta
        ? 'timeout'
        : 'other'
  }
  return sqlState === undefined ? { kind, prismaCode } : { kind, prismaCode, sqlState }
}

/** `DriverAdapterError`: `cause` is `{ kind, originalCode?, ... }` (see adapter-pg's convertDriverError). */
function adapterError(error: Record<string, unknown>): Identified | undefined {
  if (error.name !== 'DriverAdapterError' || !isRecord(error.cause)) return undefined
  const cause = error.cause
  const sqlState = typeof cause.originalCode === 'string' ? cause.originalCode : undefined
  if (sqlState !== undefined) return { kind: kindOfSqlState(sqlState), sqlState }
  if (cause.kind === 'TransactionWriteConflict') return { kind: 'serialization' }
  if (typeof cause.kind === 'string' && ADAPTER_CONNECTION_KINDS.has(cause.kind)) {
    return { kind: 'connection-lost' }
  }
  return { kind: 'other' }
}

/** pg's `DatabaseError`: a five-character `code` beside a `severity` (the adapter's own test). */
function pgSqlState(error: Record<string, unknown>): string | undefined {
  const { code, severity } = error
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && typeof severity === 'string'
    ? code
    : undefined
}

function kindOfSqlState(sqlState: string): TransactionFailureKind {
  if (sqlState === '40P01') return 'deadlock'
  if (sqlState === '40001') return 'serialization'
  if (sqlState.startsWith('08') || SESSION_ENDED.has(sqlState)) return 'connection-lost'
  return 'other'
}

/** Node's system errors have a `syscall` and a numeric `errno` beside `code`. */
function isSocketError(error: Record<string, unknown>): boolean {
  return (
    typeof error.code === 'string' &&
    SOCKET_CODES.has(error.code) &&
    typeof error.syscall === 'string' &&
    typeof error.errno === 'number'
  )
}

function isPgConnectionMessage(error: Record<string, unknown>): boolean {
  return (
    error instanceof Error &&
    typeof error.message === 'string' &&
    PG_CONNECTION_MESSAGES.has(error.message)
  )
}

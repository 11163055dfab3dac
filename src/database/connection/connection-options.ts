/**
 * The options of {@link ConnectionManager}, their defaults, and their validation (a
 * `ValidationError` naming the field, e.g. `options.poolSize`), done before any pool exists.
 */
import type { PrismaPg } from '@prisma/adapter-pg'
import type pg from 'pg'
import { type Duration, toMs } from '../../cache/validate.js'
import { ErrorCodes, invalid } from '../../errors.js'
import { isRecord } from '../../option-checks.js'
import type { CapturedStatement } from '../../prisma/sql-capture.js'
import {
  DEFAULT_TRANSACTION_OPTIONS,
  resolveTransactionOptions,
  type TransactionDefaults,
} from '../transactions/transaction-options.js'
import { MAX_POOL_SIZE } from './connection-env.js'

/** The options `@prisma/adapter-pg` takes beside the pool (`schema`, `onConnectionError`...). */
export type PrismaPgOptions = NonNullable<ConstructorParameters<typeof PrismaPg>[1]>

/** Options of {@link ConnectionManager}. Give `PrismaClient` or `createClient`, not both. */
export interface ConnectionManagerOptions<Client> {
  /** Your generated `PrismaClient` class; it is constructed as `new PrismaClient({ adapter })`. */
  PrismaClient?: new (options: {
    /** The `@prisma/adapter-pg` adapter on the manager's pool. */
    adapter: PrismaPg
  }) => Client
  /** Or builds the client yourself (log settings, `$extends`...) from the adapter. */
  createClient?: (adapter: PrismaPg) => Client
  /** PostgreSQL connection string (`postgresql://...`). Required here; `fromEnv` reads `DATABASE_URL`. */
  url?: string
  /**
   * Most connections the pool opens, 1-1000.
   * @default 10
   */
  poolSize?: number
  /**
   * Longest wait to open a connection or get one from the full pool, and for the status ping.
   * @default 5000
   */
  connectionTimeout?: Duration
  /** More `pg.Pool` settings (`ssl`, `idleTimeoutMillis`, `application_name`, `options`...). */
  pool?: Omit<pg.PoolConfig, 'connectionString' | 'max' | 'connectionTimeoutMillis'>
  /** Options of the Prisma adapter, e.g. `{ schema: 'shop' }` for models outside `public`. */
  adapter?: PrismaPgOptions
  /** Defaults of `executeTransaction` (see `TransactionManager`). */
  transactions?: TransactionDefaults
  /**
   * Log every statement the client runs (`DATABASE_LOG_QUERIES`), through `captureSql`: `true`
   * writes the SQL and its duration with `console.debug`; `params: true` adds a bounded summary of
   * the parameter values (`DATABASE_LOG_QUERY_PARAMS`: they may hold personal data); `log` sends
   * each statement to your logger instead.
   * @default off
   */
  logQueries?: boolean | QueryLogOptions
}

/** How {@link ConnectionManagerOptions.logQueries} logs. */
export interface QueryLogOptions {
  /**
   * Include a bounded summary of the parameter values.
   * @default false
   */
  params?: boolean
  /**
   * Receives each statement (SQL, duration, error, params when asked).
   * @default console.debug
   */
  log?: (statement: CapturedStatement) => void
}

/** The options checked, defaults applied. */
export interface ResolvedConnectionOptions<Client> {
  readonly createClient: (adapter: PrismaPg) => Client
  readonly url: string
  readonly poolSize: number
  readonly connectionTimeoutMs: number
  readonly pool: ConnectionManagerOptions<Client>['pool']
  readonly adapter: PrismaPgOptions | undefined
  readonly transactions: TransactionDefaults | undefined
  /** Query logging, when on. */
  readonly logQueries: Required<QueryLogOptions> | undefined
}

export const DEFAULT_POOL_SIZE = 10
export const DEFAULT_CONNECTION_TIMEOUT_MS = 5_000
/** setTimeout's limit: pg's timer would fire at once above it. */
const MAX_TIMER_MS = 2 ** 31 - 1
const OPTION_NAMES = [
  'PrismaClient',
  'createClient',
  'url',
  'poolSize',
  'connectionTimeout',
  'pool',
  'adapter',
  'transactions',
  'logQueries',
]

/** Checks `options` and applies the defaults. */
export function resolveConnectionOptions<Client>(
  options: ConnectionManagerOptions<Client>,
): ResolvedConnectionOptions<Client> {
  if (!isRecord(options as unknown)) throw invalid('options', 'must be an options object')
  const unknown = Object.keys(options).find((key) => !OPTION_NAMES.includes(key))
  if (unknown !== undefined) {
    throw invalid(
      `options.${unknown}`,
      `unknown option (expected one of: ${OPTION_NAMES.join(', ')})`,
    )
  }
  if (options.pool !== undefined && !isRecord(options.pool)) {
    throw invalid('options.pool', 'must be a pg.Pool settings object')
  }
  if (options.adapter !== undefined && !isRecord(options.adapter)) {
    throw invalid('options.adapter', 'must be a PrismaPg options object')
  }
  // Checked here so that the error names options.transactions.*.
  resolveTransactionOptions(
    options.transactions,
    'options.transactions',
    DEFAULT_TRANSACTION_OPTIONS,
    false,
  )
  return {
    createClient: clientBuilder(options),
    url: checkUrl(options.url),
    poolSize:
      options.poolSize === undefined
        ? DEFAULT_POOL_SIZE
        : checkPoolSize(options.poolSize, 'options.poolSize'),
    connectionTimeoutMs:
      options.connectionTimeout === undefined
        ? DEFAULT_CONNECTION_TIMEOUT_MS
        : checkTimeout(options.connectionTimeout),
    pool: options.pool,
    adapter: options.adapter,
    transactions: options.transactions,
    logQueries: checkQueryLog(options.logQueries),
  }
}

function checkQueryLog(value: unknown): Required<QueryLogOptions> | undefined {
  if (value === undefined || value === false) return undefined
  if (value === true) return { params: false, log: logToConsole }
  if (!isRecord(value))
    throw invalid('options.logQueries', 'must be a boolean or { params?, log? }')
  const { params = false, log = logToConsole } = value
  if (typeof params !== 'boolean') throw invalid('options.logQueries.params', 'must be a boolean')
  if (typeof log !== 'function') throw invalid('options.logQueries.log', 'must be a function')
  return { params, log: log as (statement: CapturedStatement) => void }
}

function logToConsole(statement: CapturedStatement): void {
  const failed = statement.error === undefined ? '' : ' (failed)'
  const params = statement.params === undefined ? '' : ` ${JSON.stringify(statement.params)}`
  console.debug(
    `[stratacache] ${statement.durationMs.toFixed(1)} ms${failed} ${statement.sql}${params}`,
  )
}

function clientBuilder<Client>(
  options: ConnectionManagerOptions<Client>,
): (adapter: PrismaPg) => Client {
  const { PrismaClient, createClient } = options
  if (PrismaClient !== undefined && createClient !== undefined) {
    throw invalid('options.createClient', 'give PrismaClient or createClient, not both')
  }
  if (PrismaClient !== undefined) {
    if (typeof PrismaClient !== 'function') {
      throw invalid('options.PrismaClient', 'must be your generated PrismaClient class')
    }
    return (adapter) => new PrismaClient({ adapter })
  }
  if (createClient !== undefined) {
    if (typeof createClient !== 'function') {
      throw invalid('options.createClient', 'must be a function (adapter) => PrismaClient')
    }
    return createClient
  }
  throw invalid(
    'options.PrismaClient',
    'is required (or options.createClient): the library has no generated client of its own',
  )
}

function checkUrl(url: unknown): string {
  if (url === undefined)
    throw invalid('options.url', 'is required (or use ConnectionManager.fromEnv)')
  let parsed: URL | undefined
  try {
    parsed = typeof url === 'string' ? new URL(url) : undefined
  } catch {
    parsed = undefined
  }
  if (parsed === undefined || !['postgresql:', 'postgres:'].includes(parsed.protocol)) {
    throw invalid('options.url', 'must be a postgresql:// connection string')
  }
  return url as string
}

/** `value` if it is a pool size (an integer from 1 to 1000), else a ValidationError naming `field`. */
export function checkPoolSize(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_POOL_SIZE) {
    throw invalid(field, `must be an integer from 1 to ${MAX_POOL_SIZE}, got ${String(value)}`)
  }
  return value
}

function checkTimeout(value: Duration): number {
  const ms = toMs(value, 'options.connectionTimeout')
  if (ms < 1 || ms > MAX_TIMER_MS) {
    throw invalid(
      'options.connectionTimeout',
      `must be from 1 ms to ${MAX_TIMER_MS} ms, got ${ms}`,
      ErrorCodes.INVALID_TTL,
    )
  }
  return Math.round(ms)
}

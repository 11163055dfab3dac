/**
 * One PostgreSQL pool and the Prisma client on it: seed 000's `prismaAccelerateManager` without
 * the paid service. The pool is a plain `pg.Pool`, so its state can be read (`getConnectionStatus`)
 * and its size changed live (`configurePooling`); the client uses it through `@prisma/adapter-pg`.
 */
import { PrismaPg } from '@prisma/adapter-pg'
import pg from 'pg'
import { type Duration, toMs } from '../../cache/duration.js'
import type { Env } from '../../config/env-parsers.js'
import { envError } from '../../config/env-parsers.js'
import { ErrorCodes, invalid, StrataCacheError } from '../../errors.js'
import { isRecord } from '../../prisma/is-record.js'
import {
  type TransactionCapableClient,
  type TransactionClientOf,
  TransactionManager,
  type TransactionResult,
} from '../transactions/transaction-manager.js'
import {
  DEFAULT_TRANSACTION_OPTIONS,
  resolveTransactionOptions,
  type TransactionDefaults,
  type TransactionOptions,
} from '../transactions/transaction-options.js'
import type { TransactionStats } from '../transactions/transaction-stats.js'
import { connectionSettingsFromEnv, MAX_POOL_SIZE } from './connection-env.js'
import { resizePool, trimOnRelease } from './pool-sizing.js'
import { type ConnectionStatus, type PoolCounts, ping, poolCounts } from './pool-status.js'

/** The options `@prisma/adapter-pg` takes beside the pool (`schema`, `onConnectionError`...). */
export type PrismaPgOptions = NonNullable<ConstructorParameters<typeof PrismaPg>[1]>

/** Options of {@link ConnectionManager}. Give `PrismaClient` or `createClient`, not both. */
export interface ConnectionManagerOptions<Client> {
  /** Your generated `PrismaClient` class; it is constructed as `new PrismaClient({ adapter })`. */
  PrismaClient?: new (options: {
    adapter: PrismaPg
  }) => Client
  /** Or builds the client yourself (log settings, `$extends`...) from the adapter. */
  createClient?: (adapter: PrismaPg) => Client
  /** PostgreSQL connection string (`postgresql://...`). Required here; `fromEnv` reads `DATABASE_URL`. */
  url?: string
  /** Most connections the pool opens, 1-1000. Default 10. */
  poolSize?: number
  /** Longest wait to open a connection or get one from the full pool, and for the status ping. Default 5000 ms. */
  connectionTimeout?: Duration
  /** More `pg.Pool` settings (`ssl`, `idleTimeoutMillis`, `application_name`, `options`...). */
  pool?: Omit<pg.PoolConfig, 'connectionString' | 'max' | 'connectionTimeoutMillis'>
  /** Options of the Prisma adapter, e.g. `{ schema: 'shop' }` for models outside `public`. */
  adapter?: PrismaPgOptions
  /** Defaults of `executeTransaction` (see `TransactionManager`). */
  transactions?: TransactionDefaults
}

/** Counters of the pool and of the transactions run through the manager. */
export interface ConnectionManagerStats extends PoolCounts {
  /** Errors the pool reported on idle connections (the server closed them, the network broke). */
  poolErrors: number
  /** The last of those errors' message. */
  lastPoolError: string | undefined
  /** {@link TransactionManager.getStats} of `executeTransaction`. */
  transactions: TransactionStats
}

const DEFAULT_POOL_SIZE = 10
const DEFAULT_CONNECTION_TIMEOUT_MS = 5_000
const OPTION_NAMES = [
  'PrismaClient',
  'createClient',
  'url',
  'poolSize',
  'connectionTimeout',
  'pool',
  'adapter',
  'transactions',
]

/**
 * A `pg.Pool`, the Prisma client on it, and a {@link TransactionManager} for it.
 *
 * @example
 * ```ts
 * import { PrismaClient } from './generated/prisma/client.js'
 *
 * const db = ConnectionManager.fromEnv({ PrismaClient }) // DATABASE_URL, DATABASE_POOL_SIZE...
 * await db.connect() // throws when the database does not answer
 * const users = await db.client.user.findMany()
 * await db.getConnectionStatus() // { connected: true, poolSize: 10, activeConnections: 0, idleConnections: 1, waitingRequests: 0, ... }
 * await db.configurePooling(20)
 * const result = await db.executeTransaction((tx) => tx.user.create({ data }), { maxRetries: 3 })
 * await db.disconnect()
 * ```
 */
export class ConnectionManager<Client extends TransactionCapableClient> {
  /** The pool every query of {@link client} goes through. */
  readonly pool: pg.Pool
  readonly #client: Client
  readonly #transactions: TransactionManager<Client>
  readonly #timeoutMs: number
  readonly #stopTrimming: () => void
  #poolErrors = 0
  #lastPoolError: string | undefined
  #closed = false

  /**
   * @throws ValidationError naming the bad option (`options.url`, `options.poolSize`...).
   */
  constructor(options: ConnectionManagerOptions<Client>) {
    if (!isRecord(options as unknown)) throw invalid('options', 'must be an options object')
    const unknown = Object.keys(options).find((key) => !OPTION_NAMES.includes(key))
    if (unknown !== undefined) {
      throw invalid(
        `options.${unknown}`,
        `unknown option (expected one of: ${OPTION_NAMES.join(', ')})`,
      )
    }
    const build = clientBuilder(options)
    const url = checkUrl(options.url)
    const max =
      options.poolSize === undefined
        ? DEFAULT_POOL_SIZE
        : checkPoolSize(options.poolSize, 'options.poolSize')
    this.#timeoutMs =
      options.connectionTimeout === undefined
        ? DEFAULT_CONNECTION_TIMEOUT_MS
        : checkTimeout(options.connectionTimeout)
    if (options.pool !== undefined && !isRecord(options.pool)) {
      throw invalid('options.pool', 'must be a pg.Pool settings object')
    }
    if (options.adapter !== undefined && !isRecord(options.adapter)) {
      throw invalid('options.adapter', 'must be a PrismaPg options object')
    }
    // Checked here so the error names options.transactions.*, and before any pool exists.
    resolveTransactionOptions(
      options.transactions,
      'options.transactions',
      DEFAULT_TRANSACTION_OPTIONS,
      false,
    )
    this.pool = new pg.Pool({
      ...options.pool,
      connectionString: url,
      max,
      connectionTimeoutMillis: this.#timeoutMs,
    })
    // pg emits 'error' for idle connections the server dropped; unheard, it would crash the process.
    this.pool.on('error', (error) => this.#notePoolError(error))
    this.#stopTrimming = trimOnRelease(this.pool, (error) => this.#notePoolError(error))
    this.#client = build(new PrismaPg(this.pool, options.adapter))
    this.#transactions = new TransactionManager(this.#client, options.transactions)
  }

  /**
   * A manager configured from `DATABASE_URL`, `DATABASE_POOL_SIZE` and
   * `DATABASE_CONNECTION_TIMEOUT` (ms); `options` override them. A bad variable throws
   * `ERR_INVALID_ENV` naming it; a missing `DATABASE_URL` (and no `options.url`) too.
   *
   * @example
   * ```ts
   * const db = ConnectionManager.fromEnv({ PrismaClient }, process.env)
   * ```
   */
  static fromEnv<Client extends TransactionCapableClient>(
    options: ConnectionManagerOptions<Client>,
    env: Env = process.env,
  ): ConnectionManager<Client> {
    const settings = connectionSettingsFromEnv(env)
    const url = options.url ?? settings.url
    if (url === undefined)
      throw envError('DATABASE_URL', 'is not set (and options.url was not given)')
    return new ConnectionManager({
      ...options,
      url,
      poolSize: options.poolSize ?? settings.poolSize,
      connectionTimeout: options.connectionTimeout ?? settings.connectionTimeoutMs,
    })
  }

  /** The Prisma client on the pool. */
  get client(): Client {
    return this.#client
  }

  /**
   * Opens the client and checks that the database answers `SELECT 1` within the connection
   * timeout; throws the reason when it does not.
   */
  async connect(): Promise<void> {
    this.#assertOpen()
    await (this.#client as { $connect?: () => Promise<void> }).$connect?.()
    const result = await ping(this.pool, this.#timeoutMs)
    if (!result.connected) {
      throw new Error(`cannot reach the database: ${result.error ?? 'no answer'}`)
    }
  }

  /** Closes the client and the pool; the manager cannot be used afterwards. Safe to call twice. */
  async disconnect(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#stopTrimming()
    try {
      await (this.#client as { $disconnect?: () => Promise<void> }).$disconnect?.()
    } finally {
      await this.pool.end()
    }
  }

  /**
   * The pool's counters and a timed `SELECT 1` (see {@link ping}: it never queues behind the
   * pool's own work). After `disconnect()`: `connected: false` and no query.
   */
  async getConnectionStatus(): Promise<ConnectionStatus> {
    const counts = poolCounts(this.pool)
    if (this.#closed) return { ...counts, connected: false, latencyMs: 0, error: 'disconnected' }
    return { ...counts, ...(await ping(this.pool, this.#timeoutMs)) }
  }

  /**
   * Sets the pool's maximum size (1-1000). Growing serves queued requests at once; shrinking
   * closes idle connections above the new size now and busy ones when they are released, so no
   * running query or transaction is cut. Resolves when that is done for queued and idle ones.
   *
   * @throws ValidationError naming `poolSize`.
   */
  async configurePooling(poolSize: number): Promise<void> {
    checkPoolSize(poolSize, 'poolSize')
    this.#assertOpen()
    await resizePool(this.pool, poolSize)
  }

  /**
   * Runs `fn` in an interactive transaction with retries: {@link TransactionManager.execute}.
   *
   * @example
   * ```ts
   * const result = await db.executeTransaction(async (tx) => tx.order.create({ data }), { maxRetries: 3 })
   * if (!result.success) throw result.error
   * ```
   */
  executeTransaction<T>(
    fn: (tx: TransactionClientOf<Client>) => Promise<T>,
    options?: TransactionOptions,
  ): Promise<TransactionResult<T>> {
    this.#assertOpen()
    return this.#transactions.execute(fn, options)
  }

  /** Pool counters (no query) and transaction counters. */
  getStats(): ConnectionManagerStats {
    return {
      ...poolCounts(this.pool),
      poolErrors: this.#poolErrors,
      lastPoolError: this.#lastPoolError,
      transactions: this.#transactions.getStats(),
    }
  }

  #notePoolError(error: Error): void {
    this.#poolErrors++
    this.#lastPoolError = error.message
  }

  #assertOpen(): void {
    if (this.#closed) {
      throw new StrataCacheError(ErrorCodes.CLOSED, 'the connection manager was disconnected')
    }
  }
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

function checkPoolSize(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_POOL_SIZE) {
    throw invalid(field, `must be an integer from 1 to ${MAX_POOL_SIZE}, got ${String(value)}`)
  }
  return value
}

function checkTimeout(value: Duration): number {
  const ms = toMs(value, 'options.connectionTimeout')
  if (ms < 1 || ms > 2 ** 31 - 1) {
    throw invalid(
      'options.connectionTimeout',
      `must be from 1 ms to ${2 ** 31 - 1} ms, got ${ms}`,
      ErrorCodes.INVALID_TTL,
    )
  }
  return Math.round(ms)
}

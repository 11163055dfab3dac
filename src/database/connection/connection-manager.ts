/**
 * One PostgreSQL pool and the Prisma client on it: connection management like Prisma
 * Accelerate's, without the paid service. The pool is a plain `pg.Pool`, so its state can be read
 * (`getConnectionStatus`) and its size changed live (`configurePooling`); the client uses it
 * through `@prisma/adapter-pg`.
 */
import type pg from 'pg'
import { type Env, envError } from '../../config/env-parsers.js'
import { DatabaseUnavailableError, ErrorCodes, invalid, StrataCacheError } from '../../errors.js'
import { captureSql } from '../../prisma/sql-capture.js'
import {
  type TransactionCapableClient,
  type TransactionClientOf,
  TransactionManager,
  type TransactionResult,
} from '../transactions/transaction-manager.js'
import type { TransactionOptions } from '../transactions/transaction-options.js'
import type { TransactionStats } from '../transactions/transaction-stats.js'
import { connectionSettingsFromEnv } from './connection-env.js'
import {
  type ConnectionManagerOptions,
  checkPoolSize,
  resolveConnectionOptions,
} from './connection-options.js'
import {
  type ConnectionStatus,
  type PoolCounts,
  pgModule,
  ping,
  poolCounts,
  prismaPgClass,
  resizePool,
  trimOnRelease,
} from './pool.js'

/** Counters of the pool and of the transactions run through the manager. */
export interface ConnectionManagerStats extends PoolCounts {
  /** Errors the pool reported on idle connections (the server closed them, the network broke). */
  poolErrors: number
  /** The last of those errors' message. */
  lastPoolError: string | undefined
  /** {@link TransactionManager.getStats} of `executeTransaction`. */
  transactions: TransactionStats
}

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
    const settings = resolveConnectionOptions(options)
    this.#timeoutMs = settings.connectionTimeoutMs
    const { Pool } = pgModule()
    this.pool = new Pool({
      ...settings.pool,
      connectionString: settings.url,
      max: settings.poolSize,
      connectionTimeoutMillis: settings.connectionTimeoutMs,
    })
    // pg emits 'error' for idle connections the server dropped; unheard, it would crash the process.
    this.pool.on('error', (error) => this.#notePoolError(error))
    this.#stopTrimming = trimOnRelease(this.pool, (error) => this.#notePoolError(error))
    const adapter = new (prismaPgClass())(this.pool, settings.adapter)
    const logging = settings.logQueries
    this.#client = settings.createClient(
      logging === undefined
        ? adapter
        : captureSql(adapter, { withParams: logging.params, onStatement: logging.log }),
    )
    if (typeof (this.#client as { $transaction?: unknown } | null)?.$transaction !== 'function') {
      void this.pool.end() // no connection was opened yet; this only marks the pool ended
      throw invalid('options.createClient', 'must return a Prisma client built on the adapter')
    }
    this.#transactions = new TransactionManager(this.#client, settings.transactions)
  }

  /**
   * A manager configured from `DATABASE_URL`, `DATABASE_POOL_SIZE`,
   * `DATABASE_CONNECTION_TIMEOUT` (ms), `DATABASE_LOG_QUERIES` and `DATABASE_LOG_QUERY_PARAMS`;
   * `options` override them. A bad variable throws
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
      logQueries:
        options.logQueries ??
        (settings.logQueries === true ? { params: settings.logQueryParams === true } : undefined),
    })
  }

  /** The Prisma client on the pool. */
  get client(): Client {
    return this.#client
  }

  /**
   * Opens the client and checks that the database answers `SELECT 1` within the connection
   * timeout; throws a `DatabaseUnavailableError` (`ERR_DATABASE_UNAVAILABLE`) when it does not.
   */
  async connect(): Promise<void> {
    this.#assertOpen()
    await (this.#client as { $connect?: () => Promise<void> }).$connect?.()
    const result = await ping(this.pool, this.#timeoutMs)
    if (!result.connected) {
      throw new DatabaseUnavailableError(result.error ?? 'no answer')
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
   * The pool's counters and a timed `SELECT 1` (see `ping`: it never queues behind the
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

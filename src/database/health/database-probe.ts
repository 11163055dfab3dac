/**
 * The health check's queries to the database, each bounded by the check's deadline and each
 * single-flight: the ping (`SELECT 1`) and the statistics. A database that stopped answering
 * holds at most one stuck ping and one stuck set of statistics queries, however many checks run.
 */

import { SingleFlight, within } from '../time-limit.js'
import { classifyDatabaseError, errorLine } from './error-counts.js'
import type { DatabaseFigures } from './health-result.js'
import {
  type PostgresStatsOutcome,
  type PostgresStatsSettings,
  type RawQueryClient,
  readPostgresStats,
} from './postgres-stats.js'

/** Whether the database answered the ping, and how fast. */
export interface Reach {
  connected: boolean
  /** ms from sending `SELECT 1` to its answer (or to giving up). */
  responseTime: number
  /** Why it is not connected. */
  failure: string | undefined
}

/** The statistics read, the parts that failed, and whether a failure means the connection was lost. */
export interface Statistics {
  figures: DatabaseFigures | null
  /** One line per part that could not be read, e.g. `lock waits: permission denied ...`. */
  failures: string[]
  /** Set when a statistics query failed on a connection error: the database went away mid-check. */
  lost: string | undefined
}

/**
 * @example
 * ```ts
 * const probe = new DatabaseProbe(prisma, { timeoutMs: 5000, longRunningQueryMs: 30_000, maxQueryLength: 200 })
 * const deadline = performance.now() + 5000
 * const { connected, responseTime } = await probe.reach(deadline)
 * if (connected) console.log((await probe.statistics(deadline)).figures)
 * ```
 */
export class DatabaseProbe {
  /** Prisma's one-time start (loading its query compiler): not the database's response time. */
  readonly #start: SingleFlight<unknown> | undefined
  #started = false
  readonly #ping: SingleFlight<unknown>
  readonly #stats: SingleFlight<PostgresStatsOutcome>
  readonly #settings: PostgresStatsSettings & { timeoutMs: number }

  constructor(client: RawQueryClient, settings: PostgresStatsSettings & { timeoutMs: number }) {
    this.#settings = settings
    const connect = client.$connect
    this.#start =
      typeof connect === 'function' ? new SingleFlight(() => connect.call(client)) : undefined
    this.#ping = new SingleFlight(() => client.$queryRawUnsafe('SELECT 1'))
    this.#stats = new SingleFlight(() => readPostgresStats(client, settings))
  }

  /** Sends `SELECT 1` (after starting the client the first time) and waits until `deadline`. */
  async reach(deadline: number): Promise<Reach> {
    const timeout = this.#settings.timeoutMs
    if (!this.#started && this.#start !== undefined) {
      const started = await within(this.#start.run(), deadline - performance.now())
      if (started.kind !== 'value') {
        const failure =
          started.kind === 'timeout'
            ? `the Prisma client did not start within ${timeout} ms`
            : errorLine(started.error, 300)
        return { connected: false, responseTime: timeout, failure }
      }
      this.#started = true
    }
    const wasPending = this.#ping.busy
    const sent = performance.now()
    const ping = await within(this.#ping.run(), deadline - sent)
    const responseTime = performance.now() - sent
    if (ping.kind === 'value') return { connected: true, responseTime, failure: undefined }
    if (ping.kind === 'error') {
      return { connected: false, responseTime, failure: errorLine(ping.error, 300) }
    }
    const earlier = wasPending ? ' (an earlier ping is still unanswered)' : ''
    return {
      connected: false,
      responseTime,
      failure: `SELECT 1 did not answer within ${timeout} ms${earlier}`,
    }
  }

  /** Reads PostgreSQL's statistics views, waiting until `deadline`. */
  async statistics(deadline: number): Promise<Statistics> {
    const read = await within(this.#stats.run(), deadline - performance.now())
    if (read.kind === 'timeout') {
      return {
        figures: null,
        failures: [`database statistics: no answer within ${this.#settings.timeoutMs} ms`],
        lost: undefined,
      }
    }
    if (read.kind === 'error') {
      return {
        figures: null,
        failures: [`database statistics: ${errorLine(read.error, 300)}`],
        lost: undefined,
      }
    }
    const { figures, failures } = read.value
    const lost = failures.find((f) => classifyDatabaseError(f.error).kind === 'connection')
    return {
      figures,
      failures: failures.map((f) => `${f.part}: ${errorLine(f.error, 300)}`),
      lost: lost === undefined ? undefined : errorLine(lost.error, 300),
    }
  }
}

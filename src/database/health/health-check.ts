/**
 * `DatabaseHealthCheck`: is the database reachable, fast, and within its limits?
 * One `check()` pings it (`SELECT 1`), reads PostgreSQL's statistics views, and weighs them with
 * what the service recorded (query times, errors) and its pool's figures against thresholds.
 */
import type { Duration } from '../../cache/validate.js'
import { invalid } from '../../errors.js'
import { describeValue } from '../../option-checks.js'
import { poolFigures, readConnectionStatus } from './connection-pool.js'
import { DatabaseProbe, type Reach } from './database-probe.js'
import { errorLine } from './error-counts.js'
import { formatHealthReport } from './health-report.js'
import type { DatabaseFigures, HealthCheckResult } from './health-result.js'
import { verdict } from './health-status.js'
import {
  type DatabaseHealthCheckOptions,
  durationMs,
  type HealthSettings,
  resolveHealthOptions,
} from './options.js'
import type { RawQueryClient } from './postgres-stats.js'
import { noPerformance, type QueryMetricInfo, RecordedActivity } from './recorded-activity.js'
import { type HealthCheckEvents, StatusListeners } from './status-listeners.js'

/**
 * Health of a PostgreSQL database behind a Prisma client. `check()` never throws and never
 * waits longer than `options.timeout`: a database that is down or hung reads `unhealthy`.
 *
 * @example
 * ```ts
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL })
 * const prisma = new PrismaClient({ adapter: new PrismaPg(pool) })
 * const health = new DatabaseHealthCheck(prisma, {
 *   pool,
 *   onStatusChange: (now, before) => log.warn(`database ${before?.status} -> ${now.status}`, now.reasons),
 * })
 * health.startContinuousCheck('30s')
 * const { status, reasons } = await health.check()
 * ```
 */
export class DatabaseHealthCheck {
  readonly #settings: HealthSettings
  readonly #activity: RecordedActivity
  readonly #probe: DatabaseProbe
  readonly #listeners = new StatusListeners()
  #inFlight: Promise<HealthCheckResult> | undefined = undefined
  #last: HealthCheckResult | undefined = undefined
  #timer: NodeJS.Timeout | undefined = undefined
  /** Bumped by start and stop, so that a loop whose check ends after a stop does not go on. */
  #loop = 0

  /**
   * @param prisma a Prisma client (extended or not) on PostgreSQL.
   * @param options see {@link DatabaseHealthCheckOptions}.
   * Throws a `ValidationError` naming the bad argument or option.
   */
  constructor(prisma: RawQueryClient, options?: DatabaseHealthCheckOptions) {
    if (
      typeof prisma !== 'object' ||
      prisma === null ||
      typeof prisma.$queryRawUnsafe !== 'function'
    ) {
      throw invalid('prisma', `must be a Prisma client, got ${describeValue(prisma)}`)
    }
    const settings = resolveHealthOptions(options)
    this.#settings = settings
    this.#activity = new RecordedActivity(settings)
    this.#probe = new DatabaseProbe(prisma, settings)
    if (settings.onStatusChange !== undefined) {
      this.#listeners.add('statusChange', settings.onStatusChange)
    }
  }

  /**
   * Checks the database now. Concurrent calls share one check. Never throws; resolves within
   * `options.timeout` (plus a few ms), `unhealthy` if the database did not answer by then.
   *
   * @example
   * ```ts
   * const health = await healthCheck.check()
   * if (health.status !== 'healthy') log.warn(health.reasons.join('; '))
   * ```
   */
  check(): Promise<HealthCheckResult> {
    if (this.#inFlight !== undefined) return this.#inFlight
    const run = this.#run().finally(() => {
      this.#inFlight = undefined
    })
    this.#inFlight = run
    return run
  }

  async #run(): Promise<HealthCheckResult> {
    const timestamp = new Date()
    const deadline = performance.now() + this.#settings.timeoutMs
    const failures: string[] = []
    let reach: Reach = { connected: false, responseTime: 0, failure: undefined }
    try {
      // The user's status function runs beside the ping so that it does not eat into its time.
      const status = readConnectionStatus(this.#settings, deadline - performance.now())
      reach = await this.#probe.reach(deadline)
      let database: DatabaseFigures | null = null
      if (reach.connected) {
        const stats = await this.#probe.statistics(deadline)
        database = stats.figures
        failures.push(...stats.failures)
        // A connection error right after the ping: the database went away (a shutdown) mid-check.
        if (stats.lost !== undefined) reach = { ...reach, connected: false, failure: stats.lost }
      }
      const pool = await status
      if (typeof pool === 'string') failures.push(pool)
      const now = Date.now()
      const details: HealthCheckResult['details'] = {
        connectionPool: typeof pool === 'string' ? poolFigures(undefined, undefined) : pool,
        slowQueries: this.#activity.slowQueries(failures),
        errors: this.#activity.errorFigures(now),
        performance: this.#activity.performance(now, failures),
        database: reach.connected ? database : null,
      }
      const { connected, responseTime } = reach
      const { status: health, reasons } = verdict(
        { connected, responseTime, pingFailure: reach.failure, failures, details },
        this.#settings,
      )
      return this.#settle({ status: health, connected, responseTime, reasons, details, timestamp })
    } catch (error) {
      // Only a bug gets here; the check still answers.
      return this.#settle({
        status: reach.connected ? 'degraded' : 'unhealthy',
        connected: reach.connected,
        responseTime: reach.responseTime,
        reasons: [`the health check failed: ${errorLine(error, 300)}`],
        details: {
          connectionPool: poolFigures(undefined, undefined),
          slowQueries: [],
          errors: this.#activity.errorFigures(Date.now()),
          performance: noPerformance(),
          database: null,
        },
        timestamp,
      })
    }
  }

  /** Stores the result and tells the listeners if the status changed. */
  #settle(result: HealthCheckResult): HealthCheckResult {
    const previous = this.#last
    this.#last = result
    if (previous?.status !== result.status) this.#listeners.notify(result, previous)
    return result
  }

  /**
   * Checks every `interval` (ms or `'30s'`), the first check at once. A check starts `interval`
   * after the previous one ended, so checks never overlap. The timer does not keep the process
   * alive. Calling it again restarts with the new interval.
   *
   * @example
   * ```ts
   * health.startContinuousCheck('1m')
   * ```
   */
  startContinuousCheck(interval: Duration): void {
    const ms = durationMs(interval, 'interval', 0, 1)
    this.stopContinuousCheck()
    const loop = this.#loop
    const tick = () => {
      void this.check().then(() => {
        if (this.#loop !== loop) return
        this.#timer = setTimeout(tick, ms)
        this.#timer.unref()
      })
    }
    tick()
  }

  /**
   * Stops continuous checks. A check already running completes (its result is kept).
   *
   * @example
   * ```ts
   * health.stopContinuousCheck()
   * ```
   */
  stopContinuousCheck(): void {
    this.#loop++
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
  }

  /**
   * The latest result, or `undefined` before the first check ended.
   *
   * @example
   * ```ts
   * res.json(health.getLastHealthCheck() ?? { status: 'unknown' })
   * ```
   */
  getLastHealthCheck(): HealthCheckResult | undefined {
    return this.#last
  }

  /**
   * The latest result as plain text for a person (status, reasons, pool, performance,
   * PostgreSQL's figures, slowest queries, errors).
   *
   * @example
   * ```ts
   * console.log(health.generateReport())
   * ```
   */
  generateReport(): string {
    return formatHealthReport(this.#last)
  }

  /**
   * Records how long a query took (ms), for the average and percentiles, and as a slow query
   * when over `slowQueryThreshold`. Throws a `ValidationError` for a negative or non-finite time.
   *
   * @example
   * ```ts
   * const started = performance.now()
   * await prisma.order.findMany()
   * health.recordQueryMetric(performance.now() - started, { model: 'Order', operation: 'findMany' })
   * ```
   */
  recordQueryMetric(durationMs: number, info?: QueryMetricInfo): void {
    if (typeof durationMs !== 'number' || !Number.isFinite(durationMs) || durationMs < 0) {
      throw invalid(
        'durationMs',
        `must be a finite number >= 0 (ms), got ${describeValue(durationMs)}`,
      )
    }
    if (info !== undefined && (typeof info !== 'object' || info === null)) {
      throw invalid(
        'info',
        `must be an object { model?, operation?, sql? }, got ${describeValue(info)}`,
      )
    }
    this.#activity.recordQuery(durationMs, info, Date.now())
  }

  /**
   * Counts a database error by kind (connection, timeout, constraint, conflict, other), read
   * from its Prisma code or SQLSTATE. Throws a `ValidationError` for `undefined` or `null`.
   *
   * @example
   * ```ts
   * try { await prisma.user.create({ data }) } catch (error) { health.recordError(error); throw error }
   * ```
   */
  recordError(error: unknown): void {
    if (error === undefined || error === null) {
      throw invalid('error', `must be the error that was thrown, got ${describeValue(error)}`)
    }
    this.#activity.recordError(error, Date.now())
  }

  /**
   * Adds a listener for status changes (see {@link StatusChangeListener}); errors it throws or
   * rejects with become process warnings.
   *
   * @example
   * ```ts
   * health.on('statusChange', (now, before) => pager.alert(`${before?.status} -> ${now.status}`))
   * ```
   */
  on<E extends keyof HealthCheckEvents>(event: E, listener: HealthCheckEvents[E]): this {
    this.#listeners.add(event, listener)
    return this
  }

  /**
   * Removes a listener added with {@link on}.
   *
   * @example
   * ```ts
   * health.off('statusChange', alert)
   * ```
   */
  off<E extends keyof HealthCheckEvents>(event: E, listener: HealthCheckEvents[E]): this {
    this.#listeners.delete(event, listener)
    return this
  }
}

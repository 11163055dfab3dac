import { Controller, type Type } from '@nestjs/common'
import { DatabaseHealthCheck } from '../database/health/health-check.js'
import type { HealthCheckResult, HealthStatus } from '../database/health/health-result.js'
import { invalid } from '../errors.js'
import { getRoute, injectInto } from './injection.js'

/** The body of `GET <path>/db`. */
export interface DatabaseHealthSummary {
  /** `healthy`, `degraded` or `unhealthy`. */
  status: HealthStatus
  /** Whether `SELECT 1` answered within the timeout. */
  connected: boolean
  /** How long `SELECT 1` took, ms. */
  responseTime: number
  /** When the check started (an ISO string once sent as JSON). */
  timestamp: Date
}

/** The routes of a database health controller. */
export interface DatabaseHealthRoutes {
  /** `GET <path>/db`: status, whether the database answered, how fast, when. */
  database(response: unknown): Promise<DatabaseHealthSummary>
  /** `GET <path>/db/detailed`: the whole check (pool, slow queries, errors, PostgreSQL figures). */
  detailed(response: unknown): Promise<HealthCheckResult>
  /** `GET <path>/db/report`: the check as plain text for a person. */
  report(response: unknown): Promise<string>
}

/** Express's `res.status(code)` and Fastify's `reply.status(code)` (alias of `code`). */
interface StatusSetter {
  status?(code: number): unknown
  code?(code: number): unknown
}

/**
 * 503 when the database is unhealthy (it does not answer), so that a load balancer or an
 * orchestrator's probe takes the instance out; `degraded` is still 200: the database answers,
 * slowly or near a limit, and taking instances out would not help it.
 */
function answer(response: unknown, health: HealthCheckResult): void {
  const code = health.status === 'unhealthy' ? 503 : 200
  const res = response as StatusSetter
  if (typeof res.status === 'function') res.status(code)
  else if (typeof res.code === 'function') res.code(code)
}

/**
 * A controller serving the database health routes under `path`. Each request runs a check
 * (`DatabaseHealthCheck.check()`: concurrent requests share one), so the answer is current even
 * without continuous checks. `CacheModule` adds one with its `healthController` option; this is
 * for adding it to a module of the application's own, or under another path.
 *
 * @example
 * ```ts
 * Module({ controllers: [createDatabaseHealthController('status')] })(OpsModule) // /status/db
 * ```
 */
export function createDatabaseHealthController(path = 'health'): Type<DatabaseHealthRoutes> {
  if (typeof path !== 'string') throw invalid('path', `must be a string, got ${typeof path}`)

  class DatabaseHealthController implements DatabaseHealthRoutes {
    readonly #health: DatabaseHealthCheck

    constructor(health: DatabaseHealthCheck) {
      this.#health = health
    }

    async database(response: unknown): Promise<DatabaseHealthSummary> {
      const health = await this.#health.check()
      answer(response, health)
      const { status, connected, responseTime, timestamp } = health
      return { status, connected, responseTime, timestamp }
    }

    async detailed(response: unknown): Promise<HealthCheckResult> {
      const health = await this.#health.check()
      answer(response, health)
      return health
    }

    async report(response: unknown): Promise<string> {
      // The report describes the last check: run one so it is about now.
      answer(response, await this.#health.check())
      return this.#health.generateReport()
    }
  }

  injectInto(DatabaseHealthController, [DatabaseHealthCheck])
  Controller(path)(DatabaseHealthController)
  getRoute(DatabaseHealthController, 'database', 'db')
  getRoute(DatabaseHealthController, 'detailed', 'db/detailed')
  getRoute(DatabaseHealthController, 'report', 'db/report', 'text/plain; charset=utf-8')
  return DatabaseHealthController
}

/** The database health routes under `/health`, for a module of the application's own. */
export const DatabaseHealthController: Type<DatabaseHealthRoutes> = createDatabaseHealthController()

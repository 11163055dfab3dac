/**
 * The verdict: which thresholds a check's figures cross, each as a sentence a person can act on,
 * and the status that follows (`unhealthy` when the database did not answer, `degraded` when it
 * answered but any reason holds, else `healthy`).
 */
import type { HealthCheckResult, HealthStatus } from './health-result.js'
import type { HealthSettings } from './options.js'

/** What the verdict is drawn from, besides the result's details. */
export interface VerdictInput {
  connected: boolean
  responseTime: number
  /** Why the ping failed, when it did. */
  pingFailure: string | undefined
  /** Parts of the check that could not be done (statistics, `connectionStatus()`). */
  failures: readonly string[]
  details: HealthCheckResult['details']
}

const percent = (fraction: number) => `${Math.round(fraction * 1000) / 10}%`
const ms = (value: number) => `${Math.round(value * 10) / 10} ms`
const counted = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`

/**
 * The status and the reasons for it.
 *
 * @example
 * ```ts
 * verdict(input, settings) // { status: 'degraded', reasons: ['SELECT 1 took 1520 ms (threshold 1000 ms)'] }
 * ```
 */
export function verdict(
  input: VerdictInput,
  settings: HealthSettings,
): { status: HealthStatus; reasons: string[] } {
  if (!input.connected) {
    return { status: 'unhealthy', reasons: [`cannot reach the database: ${input.pingFailure}`] }
  }
  const reasons: string[] = []
  const { connectionPool: pool, errors, performance, database } = input.details
  if (input.responseTime > settings.responseTimeMs) {
    reasons.push(
      `SELECT 1 took ${ms(input.responseTime)} (threshold ${ms(settings.responseTimeMs)})`,
    )
  }
  if (errors.recent > settings.recentErrors) {
    const window = ms(settings.errorWindowMs)
    const last = errors.last === null ? '' : `; last: ${errors.last.kind}: ${errors.last.message}`
    reasons.push(
      `${counted(errors.recent, 'error', 'errors')} in the last ${window} (threshold ${settings.recentErrors})${last}`,
    )
  }
  if (performance.p95QueryTime !== null && performance.p95QueryTime > settings.p95QueryTimeMs) {
    reasons.push(
      `p95 query time ${ms(performance.p95QueryTime)} over ${performance.samples} queries (threshold ${ms(settings.p95QueryTimeMs)})`,
    )
  }
  if (pool.waiting !== null && pool.waiting > settings.poolWaiting) {
    reasons.push(
      `${counted(pool.waiting, 'request', 'requests')} waiting for a pool connection (threshold ${settings.poolWaiting})`,
    )
  }
  if (pool.usage !== null && pool.usage > settings.connectionUsage) {
    reasons.push(
      `pool: ${pool.active} of ${pool.max} connections busy (${percent(pool.usage)}, threshold ${percent(settings.connectionUsage)})`,
    )
  }
  if (database !== null) {
    const connections = database.connections
    if (connections.usage !== null && connections.usage > settings.connectionUsage) {
      reasons.push(
        `server: ${connections.total} of max_connections ${connections.max} in use (${percent(connections.usage)}, threshold ${percent(settings.connectionUsage)})`,
      )
    }
    const long = database.longRunningQueries
    if (long.length > 0) {
      const oldest = long[0]!
      reasons.push(
        `${counted(long.length, 'query', 'queries')} running longer than ${ms(settings.longRunningQueryMs)} (oldest: pid ${oldest.pid}, ${ms(oldest.durationMs)})`,
      )
    }
    const waits = database.lockWaits.filter(
      (wait) => wait.waitingMs !== null && wait.waitingMs > settings.lockWaitMs,
    )
    if (waits.length > 0) {
      const first = waits[0]!
      const by = first.blockedBy.length > 0 ? ` behind pid ${first.blockedBy.join(', ')}` : ''
      reasons.push(
        `${counted(waits.length, 'backend', 'backends')} waiting for a lock longer than ${ms(settings.lockWaitMs)} (pid ${first.pid}${by}, ${ms(first.waitingMs!)})`,
      )
    }
    const ratio = database.cacheHitRatio
    const minRatio = settings.minCacheHitRatio
    if (minRatio !== undefined && ratio !== null && ratio < minRatio) {
      reasons.push(`buffer cache hit ratio ${percent(ratio)} (threshold ${percent(minRatio)})`)
    }
  }
  for (const failure of input.failures) reasons.push(`could not read ${failure}`)
  return { status: reasons.length === 0 ? 'healthy' : 'degraded', reasons }
}

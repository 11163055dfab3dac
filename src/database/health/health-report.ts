/**
 * A health check's result as plain text for a person: an operator reading `/health/db/report`
 * or a log line. Unknown figures read "unknown" rather than 0.
 */
import type { HealthCheckResult } from './health-result.js'

/** Slow queries shown, the slowest first. */
const TOP_SLOW = 5

const ms = (value: number | null) =>
  value === null ? 'unknown' : `${Math.round(value * 10) / 10} ms`
const num = (value: number | null) => (value === null ? 'unknown' : String(value))
const pct = (value: number | null) =>
  value === null ? 'unknown' : `${Math.round(value * 1000) / 10}%`

function bytes(value: number | null): string {
  if (value === null) return 'unknown'
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let size = value
  let unit = 0
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024
    unit++
  }
  return `${unit === 0 ? size : size.toFixed(1)} ${units[unit]}`
}

const oneLine = (text: string | null) => (text ?? '').replace(/\s+/g, ' ').trim()

/**
 * The report of `result`, or a line saying no check has run.
 *
 * @example
 * ```ts
 * console.log(formatHealthReport(await health.check()))
 * // Database health: DEGRADED (checked 2026-12-01T21:00:00.000Z)
 * // Reasons:
 * //   - SELECT 1 took 1520 ms (threshold 1000 ms)
 * // ...
 * ```
 */
export function formatHealthReport(result: HealthCheckResult | undefined): string {
  if (result === undefined) return 'Database health: no check has run yet.\n'
  const { connectionPool: pool, performance, database, errors, slowQueries } = result.details
  const lines: string[] = []
  lines.push(
    `Database health: ${result.status.toUpperCase()} (checked ${result.timestamp.toISOString()})`,
  )
  if (result.reasons.length > 0) {
    lines.push('Reasons:')
    for (const reason of result.reasons) lines.push(`  - ${reason}`)
  }
  lines.push(
    `Connected: ${result.connected ? 'yes' : 'no'}, response time ${ms(result.responseTime)}`,
  )
  lines.push('')
  lines.push(`Connection pool${pool.source === null ? ': not configured' : ` (${pool.source}):`}`)
  if (pool.source !== null) {
    lines.push(
      `  total ${num(pool.total)}, idle ${num(pool.idle)}, active ${num(pool.active)}, waiting ${num(pool.waiting)}, max ${num(pool.max)}, usage ${pct(pool.usage)}`,
    )
  }
  lines.push(
    `Performance (${performance.samples} samples${performance.source === null ? '' : `, ${performance.source}`}):`,
  )
  lines.push(
    `  average ${ms(performance.averageQueryTime)}, p95 ${ms(performance.p95QueryTime)}, p99 ${ms(performance.p99QueryTime)}`,
  )
  if (database === null) {
    lines.push('Database: unknown (not reachable)')
  } else {
    const c = database.connections
    lines.push(`Database: PostgreSQL ${database.version ?? 'unknown version'}`)
    lines.push(
      `  size ${bytes(database.sizeBytes)}, buffer cache hit ratio ${pct(database.cacheHitRatio)}`,
    )
    lines.push(
      `  connections: ${num(c.database)} to this database, ${num(c.total)} in all of max_connections ${num(c.max)} (${pct(c.usage)})`,
    )
    lines.push(`  long-running queries: ${database.longRunningQueries.length}`)
    for (const q of database.longRunningQueries) {
      lines.push(`    pid ${q.pid}, ${ms(q.durationMs)}: ${oneLine(q.query)}`)
    }
    lines.push(`  lock waits: ${database.lockWaits.length}`)
    for (const w of database.lockWaits) {
      const by = w.blockedBy.length === 0 ? '' : ` blocked by ${w.blockedBy.join(', ')}`
      const on = w.relation === null ? w.lockType : `${w.lockType} ${w.relation}`
      lines.push(
        `    pid ${w.pid} waits ${ms(w.waitingMs)} for ${w.mode} on ${on}${by}: ${oneLine(w.query)}`,
      )
    }
  }
  const top = [...slowQueries].sort((a, b) => b.durationMs - a.durationMs).slice(0, TOP_SLOW)
  lines.push(
    `Slow queries: ${slowQueries.length}${slowQueries.length > TOP_SLOW ? ` (slowest ${TOP_SLOW})` : ''}`,
  )
  for (const q of top) {
    const what = [q.model, q.operation].filter((part) => part !== null).join('.')
    const sql = q.sql === null || q.sql.length === 0 ? '' : ` ${oneLine(q.sql[0]!).slice(0, 200)}`
    const site = q.callSite === null ? '' : ` from ${q.callSite}`
    lines.push(
      `  ${ms(q.durationMs)} at ${q.timestamp.toISOString()}${what === '' ? '' : ` ${what}`}${site}${sql}`,
    )
  }
  const kinds = Object.entries(errors.byKind)
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${kind} ${n}`)
  lines.push(
    `Errors: ${errors.total} in all${kinds.length > 0 ? ` (${kinds.join(', ')})` : ''}, ${errors.recent} recent (${Math.round(errors.ratePerMinute * 10) / 10}/min)`,
  )
  if (errors.last !== null) {
    const code = [errors.last.prismaCode, errors.last.sqlState].filter((c) => c !== null).join('/')
    lines.push(
      `  last: ${errors.last.kind}${code === '' ? '' : ` ${code}`} at ${errors.last.timestamp.toISOString()}: ${errors.last.message}`,
    )
  }
  return `${lines.join('\n')}\n`
}

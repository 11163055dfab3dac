/**
 * The alert hooks of a health check. A listener is someone's pager or webhook: when it throws or
 * its promise rejects, the checks go on and the other listeners still hear, and the failure
 * becomes a process warning (visible in the logs, never an unhandled rejection). The events a
 * health check takes listeners for, and the checks of `on` / `off` arguments, are here too.
 */
import { invalid } from '../../errors.js'
import { describeValue } from '../../option-checks.js'
import { errorLine } from './error-counts.js'
import type { HealthCheckResult } from './health-result.js'

/** Called once per status change (the first check counts: `previous` is then `undefined`). */
export type StatusChangeListener = (
  current: HealthCheckResult,
  previous: HealthCheckResult | undefined,
) => void | Promise<void>

/** Events of {@link DatabaseHealthCheck.on}. */
export interface HealthCheckEvents {
  /** Called when the status changes between `healthy`, `degraded` and `unhealthy`. */
  statusChange: StatusChangeListener
}

/**
 * @example
 * ```ts
 * const listeners = new StatusListeners()
 * listeners.add('statusChange', (now, before) => pager.alert(`${before?.status} -> ${now.status}`))
 * listeners.notify(current, previous)
 * ```
 */
export class StatusListeners {
  readonly #listeners = new Set<StatusChangeListener>()

  /** Adds `listener` for `event`, a `ValidationError` naming `event` or `listener` when off. */
  add(event: unknown, listener: unknown): void {
    this.#listeners.add(checkListener(event, listener))
  }

  /** Removes `listener`, checked as by {@link add}. */
  delete(event: unknown, listener: unknown): void {
    this.#listeners.delete(checkListener(event, listener))
  }

  /** Calls every listener (those added meanwhile wait for the next change). */
  notify(current: HealthCheckResult, previous: HealthCheckResult | undefined): void {
    for (const listener of [...this.#listeners]) {
      try {
        const returned = listener(current, previous) as unknown
        if (typeof (returned as PromiseLike<unknown> | undefined)?.then === 'function') {
          Promise.resolve(returned).catch(warn)
        }
      } catch (error) {
        warn(error)
      }
    }
  }
}

function warn(error: unknown): void {
  process.emitWarning(
    `a DatabaseHealthCheck statusChange listener failed: ${errorLine(error, 300)}`,
  )
}

/** `listener` if `event` is one of {@link HealthCheckEvents} and `listener` a function. */
function checkListener(event: unknown, listener: unknown): StatusChangeListener {
  if (event !== 'statusChange') {
    throw invalid(
      'event',
      `must be 'statusChange', got ${typeof event === 'string' ? JSON.stringify(event) : describeValue(event)}`,
    )
  }
  if (typeof listener !== 'function') {
    throw invalid('listener', `must be a function, got ${describeValue(listener)}`)
  }
  return listener as StatusChangeListener
}

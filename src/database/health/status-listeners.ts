/**
 * The alert hooks of a health check. A listener is someone's pager or webhook: when it throws or
 * its promise rejects, the checks go on and the other listeners still hear, and the failure
 * becomes a process warning (visible in the logs, never an unhandled rejection).
 */
import { errorLine } from './error-line.js'
import type { HealthCheckResult } from './health-result.js'
import type { StatusChangeListener } from './options.js'

/**
 * @example
 * ```ts
 * const listeners = new StatusListeners()
 * listeners.add((now, before) => pager.alert(`${before?.status} -> ${now.status}`))
 * listeners.notify(current, previous)
 * ```
 */
export class StatusListeners {
  readonly #listeners = new Set<StatusChangeListener>()

  add(listener: StatusChangeListener): void {
    this.#listeners.add(listener)
  }

  delete(listener: StatusChangeListener): void {
    this.#listeners.delete(listener)
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

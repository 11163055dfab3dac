import { monitorEventLoopDelay } from 'node:perf_hooks'

/**
 * Polls `check` until it returns a truthy value (returned) or `timeoutMs` passes (throws). The
 * default is generous on purpose: it only bounds a failure, and a loaded machine is slow to pass.
 */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  { timeoutMs = 10_000, intervalMs = 5, what = 'condition' } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const result = await check()
    if (result) return result as NonNullable<T>
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}

/** A promise plus the functions that settle it, for holding a loader at a known point. */
export function deferred<T = void>(): {
  promise: Promise<T>
  resolve(value: T): void
  reject(error: unknown): void
} {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/**
 * Measures this process's event-loop stalls from now on, for upper bounds on elapsed time: a
 * loaded machine runs every timer late by up to the longest stall, which depends on the machine,
 * not on the code. A bound allows `maxMs()` on top of its own margin: measured, not guessed.
 * `stop()` first lets the monitor take one more sample, so a stall that has just ended counts.
 */
export function measureStalls({ resolutionMs = 10 } = {}): {
  maxMs(): number
  stop(): Promise<void>
} {
  const histogram = monitorEventLoopDelay({ resolution: resolutionMs })
  histogram.enable()
  return {
    maxMs: () => histogram.max / 1e6,
    stop: async () => {
      await new Promise((resolve) => setTimeout(resolve, 2 * resolutionMs))
      histogram.disable()
    },
  }
}

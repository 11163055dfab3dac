/**
 * Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter"):
 * retry `n` waits a uniformly random time in `[0, min(maxDelay, baseDelay * 2^(n-1)))`.
 *
 * Why full jitter: transactions that conflicted did so because they ran at the same moment. A
 * fixed or merely growing delay sends them back at the same moment again; spreading each wait over
 * the whole window is what de-synchronises them, and it needs the least total work of the
 * schemes the article compares.
 */

/** The window of backoff delays. */
export interface BackoffWindow {
  /** The first retry's upper bound, in ms. */
  readonly baseDelayMs: number
  /** No wait exceeds this, in ms. */
  readonly maxDelayMs: number
}

/**
 * The wait before retry number `retry` (1 for the first retry), in whole ms. `random` returns a
 * number in `[0, 1)`; tests pass their own to pin the draw.
 *
 * @example
 * ```ts
 * backoffDelay(3, { baseDelayMs: 20, maxDelayMs: 1000 }) // somewhere in [0, 80)
 * backoffDelay(3, { baseDelayMs: 20, maxDelayMs: 1000 }, () => 0.5) // 40
 * ```
 */
export function backoffDelay(
  retry: number,
  window: BackoffWindow,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(retry - 1, 0), 30)
  const ceiling = Math.min(window.maxDelayMs, window.baseDelayMs * 2 ** exponent)
  return Math.floor(random() * ceiling)
}

/**
 * Resolves after `ms` (at once for 0). The timer keeps the process alive on purpose: a script
 * awaiting a transaction between two attempts must not exit there.
 */
export function sleep(ms: number): Promise<void> {
  if (ms <= 0) return Promise.resolve()
  return new Promise((resolve) => setTimeout(resolve, ms))
}

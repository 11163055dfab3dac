/**
 * The waits a bus has pending (publish attempts and their backoff, `start()` waiting for trust),
 * so that `close()` can cut every one of them short: a closed bus must not keep a caller waiting
 * for a timer.
 */
export class PendingWaits {
  readonly #wakers = new Set<() => void>()

  /** Registers `wake`, called by {@link wakeAll} unless removed first. */
  add(wake: () => void): void {
    this.#wakers.add(wake)
  }

  delete(wake: () => void): void {
    this.#wakers.delete(wake)
  }

  /** Resolves after `ms`, or at once on {@link wakeAll}. The timer keeps no process alive. */
  sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.#wakers.delete(done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      timer.unref()
      this.#wakers.add(done)
    })
  }

  /** Wakes every pending wait, in the order they were registered. */
  wakeAll(): void {
    for (const wake of [...this.#wakers]) wake()
  }
}

/**
 * Fills waiting for a key another fill holds the lease of: each waits at most a poll interval,
 * and is woken as soon as the key's fate is known here, whether another instance announced its
 * value (the bus's `filled` notice) or a fill of this instance stored it or gave its lease back.
 */
export class KeyWaiters {
  readonly #waiters = new Map<string, Set<() => void>>()

  /** Resolves when `key` is woken, or after `ms`, whichever comes first. */
  wait(key: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let waiters = this.#waiters.get(key)
      if (waiters === undefined) {
        waiters = new Set()
        this.#waiters.set(key, waiters)
      }
      const set = waiters
      const done = (): void => {
        clearTimeout(timer)
        set.delete(done)
        if (set.size === 0 && this.#waiters.get(key) === set) this.#waiters.delete(key)
        resolve()
      }
      const timer = setTimeout(done, ms)
      set.add(done)
    })
  }

  /** Wakes everything waiting for `key` (they poll again at once). */
  wake(key: string): void {
    const waiters = this.#waiters.get(key)
    if (waiters !== undefined) for (const done of [...waiters]) done()
  }

  /** Wakes everything. */
  wakeAll(): void {
    for (const waiters of [...this.#waiters.values()]) for (const done of [...waiters]) done()
  }
}

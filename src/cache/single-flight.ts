/**
 * One loader call per key at a time in this process: callers that arrive while a load is running
 * share its promise instead of starting their own (SPEC guarantee 8, in-process half).
 */
export class SingleFlight {
  readonly #running = new Map<string, Promise<unknown>>()

  /** The promise of the load running for `key`, if any. */
  running<T>(key: string): Promise<T> | undefined {
    return this.#running.get(key) as Promise<T> | undefined
  }

  /** Runs `load` unless a load for `key` is already running, in which case joins it. */
  run<T>(key: string, load: () => Promise<T>): Promise<T> {
    const existing = this.#running.get(key)
    if (existing !== undefined) return existing as Promise<T>
    const promise = load().finally(() => {
      if (this.#running.get(key) === promise) this.#running.delete(key)
    })
    this.#running.set(key, promise)
    return promise
  }

  get size(): number {
    return this.#running.size
  }
}

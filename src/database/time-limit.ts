/**
 * Bounded waiting for probes that may never answer. A database that stopped answering (a hung
 * server, a network black hole) leaves its query pending for as long as the socket lives; the
 * health check, the connection manager's ping and the replica polls must answer anyway, and must
 * not pile up a new stuck query on every try.
 */

/** How a bounded wait ended. */
export type Outcome<T> =
  | { kind: 'value'; value: T }
  | { kind: 'error'; error: unknown }
  | { kind: 'timeout' }

/**
 * Waits for `promise` at most `ms` (the timer is unref'd and cleared), never rejecting.
 *
 * @example
 * ```ts
 * const outcome = await within(prisma.$queryRawUnsafe('SELECT 1'), 5000)
 * if (outcome.kind === 'timeout') ...
 * ```
 */
export function within<T>(promise: PromiseLike<T>, ms: number): Promise<Outcome<T>> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ kind: 'timeout' }), Math.max(0, ms))
    timer.unref()
    Promise.resolve(promise).then(
      (value) => {
        clearTimeout(timer)
        resolve({ kind: 'value', value })
      },
      (error: unknown) => {
        clearTimeout(timer)
        resolve({ kind: 'error', error })
      },
    )
  })
}

/**
 * One pending run of a probe at a time: while a run has not settled (even after its caller gave
 * up waiting), callers get that run instead of starting another, so a hung database holds one
 * stuck query per probe, not one per check.
 *
 * @example
 * ```ts
 * const ping = new SingleFlight(() => prisma.$queryRawUnsafe('SELECT 1'))
 * await within(ping.run(), 5000)
 * ```
 */
export class SingleFlight<T> {
  #pending: Promise<T> | undefined = undefined
  readonly #start: () => PromiseLike<T>

  constructor(start: () => PromiseLike<T>) {
    this.#start = start
  }

  /** The pending run, or a new one. */
  run(): Promise<T> {
    if (this.#pending !== undefined) return this.#pending
    let run: Promise<T>
    try {
      run = Promise.resolve(this.#start())
    } catch (error) {
      run = Promise.reject(error)
    }
    const settled = () => {
      if (this.#pending === run) this.#pending = undefined
    }
    run.then(settled, settled)
    this.#pending = run
    return run
  }

  /** Whether a run has not settled yet. */
  get busy(): boolean {
    return this.#pending !== undefined
  }
}

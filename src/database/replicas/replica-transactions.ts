/**
 * Transactions, for the replicas: their reads and writes run on the primary (Prisma's own
 * transaction client), and the models their writes touch stay *running* (read from the primary)
 * from the first write until the transaction has ended, committed or not. Only then is the
 * commit's position probed. A scope per outermost `$transaction`, carried by AsyncLocalStorage
 * into the queries its callback (or its batch) runs, collects those models; a `$transaction`
 * started inside one joins it (it ends no later).
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { RunningWrite, type WriteWatermarks } from './freshness.js'

type TransactionMethod = (this: unknown, input: unknown, options?: unknown) => Promise<unknown>

export class ReplicaTransactions {
  readonly #current = new AsyncLocalStorage<RunningWrite>()
  readonly #watermarks: WriteWatermarks
  /** Writes seen in a transaction that was not started through this client (noted at once). */
  untracked = 0

  constructor(watermarks: WriteWatermarks) {
    this.#watermarks = watermarks
  }

  /**
   * Runs Prisma's `$transaction` (`original`, on `client`, the client the caller used) so that
   * the writes inside it are tracked until it ends.
   */
  async run(original: TransactionMethod, client: unknown, input: unknown, options: unknown) {
    if (this.#current.getStore() !== undefined) return original.call(client, input, options)
    const write = new RunningWrite()
    try {
      if (typeof input === 'function') {
        const callback = (tx: unknown) =>
          this.#current.run(write, () => (input as (tx: unknown) => unknown)(tx))
        return await original.call(client, callback, options)
      }
      return await this.#current.run(write, () => original.call(client, input, options))
    } finally {
      // Committed, rolled back or lost: a failed commit may still have landed, so probe anyway.
      if (write.models.size > 0) this.#watermarks.end(write)
    }
  }

  /** A write inside a transaction touches `models`: they are running until it ends. */
  wrote(models: Iterable<string>): void {
    const write = this.#current.getStore()
    if (write !== undefined) {
      this.#watermarks.begin(models, write)
      return
    }
    // Its commit cannot be seen: noted now, like withCache's untracked transaction writes.
    this.untracked++
    this.#watermarks.written(models)
  }
}

/**
 * Read-your-writes bookkeeping: which models were written, and the primary's WAL position a
 * replica must have replayed before it may answer a read of them.
 *
 * A write is known in two steps. While it runs (and, inside a transaction, until the transaction
 * ends) its models are *running*: reads of them go to the primary, because the commit may land at
 * any moment and the cache may be invalidated right after. When it has returned, it gets a
 * sequence number and its models are *unresolved* until a probe of the primary's WAL insert
 * position (`pg_current_wal_insert_lsn()`), sent after the write returned, answers: that position
 * is at or past the write's commit record, so a replica whose replay position reached it shows
 * the write. Probes are coalesced: one runs at a time, and it covers every write that returned
 * before it was sent. Writes never wait for a probe; reads of their models go to the primary
 * until it answers (usually well under a millisecond later).
 *
 * The pseudo-model `*` stands for "everything" (raw SQL that names no table we can read, another
 * instance's `clear`, a bus that may have lost messages): every read reaches it.
 *
 * Transactions: their reads and writes run on the primary (Prisma's own transaction client), and
 * the models their writes touch stay running from the first write until the transaction has ended,
 * committed or not; only then is the commit's position probed. A scope per outermost
 * `$transaction`, carried by AsyncLocalStorage into the queries its callback (or its batch) runs,
 * collects those models; a `$transaction` started inside one joins it (it ends no later).
 */

import { AsyncLocalStorage } from 'node:async_hooks'
import { setTimeout as sleep } from 'node:timers/promises'

/** The pseudo-model every read depends on: a write to it reaches all models. */
export const EVERYTHING = '*'

/** No replica is fresh enough, or the write's position is not known yet: read from the primary. */
export const PRIMARY = -1n

/** A write in progress: the models it (or its transaction, so far) touches. */
export class RunningWrite {
  readonly models = new Set<string>()
}

/** Reads the primary's current WAL insert position. */
export type PrimaryProbe = () => Promise<bigint>

export class WriteWatermarks {
  readonly #probe: PrimaryProbe
  readonly #retryMs: number
  /** Writes that returned (or were announced), in order. */
  #seq = 0
  /** Per model, how many writes touching it are running now. */
  readonly #running = new Map<string, number>()
  /** Per model, the sequence number of its last write whose position is not known yet. */
  readonly #unresolved = new Map<string, number>()
  /** Per model, the WAL position a replica must have replayed to answer a read of it. */
  readonly #required = new Map<string, bigint>()
  /** Callers of {@link positionAfterNow}, by the sequence number their probe must cover. */
  readonly #waiters: { seq: number; resolve(lsn: bigint): void }[] = []
  #probing = false
  #again = false
  #closed = false
  /** While the invalidation bus may have lost other instances' writes: everything is unknown. */
  #untrusted = false
  /** The latest position a probe returned. */
  lastPrimaryLsn: bigint | undefined
  probes = 0
  probeFailures = 0

  constructor(probe: PrimaryProbe, retryMs: number) {
    this.#probe = probe
    this.#retryMs = retryMs
  }

  /** A write starts: reads of `models` go to the primary until it has returned and is probed. */
  begin(models: Iterable<string>, write = new RunningWrite()): RunningWrite {
    for (const model of models) {
      if (write.models.has(model)) continue
      write.models.add(model)
      this.#running.set(model, (this.#running.get(model) ?? 0) + 1)
    }
    return write
  }

  /** The write (or its transaction) returned, committed or not: its position is probed. */
  end(write: RunningWrite): void {
    for (const model of write.models) {
      const count = (this.#running.get(model) ?? 1) - 1
      if (count === 0) this.#running.delete(model)
      else this.#running.set(model, count)
    }
    this.written(write.models)
  }

  /** `models` were written and the write is acknowledged (here, or by another instance). */
  written(models: Iterable<string>): void {
    const seq = ++this.#seq
    let any = false
    for (const model of models) {
      this.#unresolved.set(model, seq)
      any = true
    }
    if (any) this.#startProbe()
  }

  /**
   * The primary's WAL insert position as a probe sent after this call reads it: at or past every
   * commit acknowledged before the call. Shares the probes of the writes.
   */
  positionAfterNow(): Promise<bigint> {
    const seq = ++this.#seq
    return new Promise((resolve) => {
      this.#waiters.push({ seq, resolve })
      this.#startProbe()
    })
  }

  /** The invalidation bus may have lost messages: nothing is known to be replayed anywhere. */
  distrust(): void {
    this.#untrusted = true
  }

  /** The bus works again: what it may have lost committed before now, so probing now covers it. */
  trust(): void {
    this.#untrusted = false
    this.written([EVERYTHING])
  }

  /**
   * The WAL position a replica must have replayed to answer a read reaching `models` (`0n`: any
   * replica), or {@link PRIMARY}. Cheap: a few map lookups, no I/O.
   */
  requirement(models: Iterable<string>): bigint {
    if (this.#untrusted || this.#running.has(EVERYTHING) || this.#unresolved.has(EVERYTHING)) {
      return PRIMARY
    }
    let lsn = this.#required.get(EVERYTHING) ?? 0n
    for (const model of models) {
      if (this.#running.has(model) || this.#unresolved.has(model)) return PRIMARY
      const required = this.#required.get(model)
      if (required !== undefined && required > lsn) lsn = required
    }
    return lsn
  }

  /** Models whose writes are running or not yet probed (for status reports). */
  pendingModels(): string[] {
    return [...new Set([...this.#running.keys(), ...this.#unresolved.keys()])]
  }

  /** Stops probing (the client is disconnecting). */
  close(): void {
    this.#closed = true
  }

  #startProbe(): void {
    // Closed: the client disconnected, and a probe would connect it again.
    if (this.#closed) return
    if (this.#probing) {
      // The running probe may have been sent before this write returned: probe once more.
      this.#again = true
      return
    }
    this.#probing = true
    void this.#probeLoop()
  }

  async #probeLoop(): Promise<void> {
    try {
      do {
        this.#again = false
        // Read before the probe is sent: every write numbered up to here returned before it.
        const covered = this.#seq
        try {
          this.probes++
          const lsn = await this.#probe()
          this.#resolve(covered, lsn)
        } catch {
          // The primary did not answer: reads of these models keep going to it; try again.
          this.probeFailures++
          this.#again = true
          await sleep(this.#retryMs, undefined, { ref: false })
        }
      } while (this.#again && !this.#closed)
    } finally {
      this.#probing = false
    }
  }

  #resolve(covered: number, lsn: bigint): void {
    if (this.lastPrimaryLsn === undefined || lsn > this.lastPrimaryLsn) this.lastPrimaryLsn = lsn
    for (const [model, seq] of this.#unresolved) {
      if (seq > covered) continue
      this.#unresolved.delete(model)
      const before = this.#required.get(model)
      if (before === undefined || lsn > before) this.#required.set(model, lsn)
    }
    while (this.#waiters.length > 0 && (this.#waiters[0] as { seq: number }).seq <= covered) {
      this.#waiters.shift()?.resolve(lsn)
    }
  }
}

type TransactionMethod = (this: unknown, input: unknown, options?: unknown) => Promise<unknown>

/** The `$transaction`s of one extended client, tracked as the header says. */
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

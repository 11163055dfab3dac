/**
 * The replicas of one client: polled in the background for their replay positions (so that
 * choosing one costs no round trip), and chosen per read among those that have replayed enough.
 */
import { Replica, type ReplicaClient } from './replica-health.js'

/** How a read picks among the replicas fresh enough for it. */
export type ReplicaPick = 'round-robin' | 'least-lag'

export interface ReplicaPoolSettings {
  readonly pollIntervalMs: number
  readonly pollTimeoutMs: number
  readonly pick: ReplicaPick
}

export class ReplicaPool {
  readonly replicas: readonly Replica[]
  readonly #settings: ReplicaPoolSettings
  readonly #timer: NodeJS.Timeout
  #next = 0
  #lastPollAt = 0
  /** When a read last asked for a replica: an idle client polls nobody (see the constructor). */
  #lastPickAt = 0
  #closed = false
  #polling: Promise<void> | undefined

  constructor(clients: readonly ReplicaClient[], settings: ReplicaPoolSettings) {
    this.replicas = clients.map((client, i) => new Replica(`replica-${i + 1}`, client))
    this.#settings = settings
    // Polls only while reads come (positions stay valid meanwhile: they only grow), so that an
    // idle client sends nothing and its connections can idle out; the timer is unref'd.
    const idleAfterMs = Math.max(1000, 20 * settings.pollIntervalMs)
    this.#timer = setInterval(() => {
      if (Date.now() - this.#lastPickAt < idleAfterMs) void this.poll()
    }, settings.pollIntervalMs)
    this.#timer.unref()
    void this.poll()
  }

  /** Polls every replica now (coalesced with a poll already running). */
  poll(): Promise<void> {
    if (this.#closed) return Promise.resolve()
    this.#polling ??= (async () => {
      this.#lastPollAt = Date.now()
      await Promise.all(this.replicas.map((replica) => replica.poll(this.#settings.pollTimeoutMs)))
    })().finally(() => {
      this.#polling = undefined
    })
    return this.#polling
  }

  /**
   * A healthy replica whose last known replay position is at least `lsn`, or `undefined`. When
   * none is, a poll is started (at most one per fifth of the interval) so that the replicas are
   * used again soon after they catch up (or after an idle spell), without a poll per read.
   */
  pick(lsn: bigint): Replica | undefined {
    this.#lastPickAt = Date.now()
    const replicas = this.replicas
    let chosen: Replica | undefined
    if (this.#settings.pick === 'least-lag') {
      for (const replica of replicas) {
        const replayed = replica.replayLsn
        if (replayed !== undefined && replayed >= lsn) {
          if (chosen === undefined || replayed > (chosen.replayLsn as bigint)) chosen = replica
        }
      }
    } else {
      for (let i = 0; i < replicas.length; i++) {
        const replica = replicas[(this.#next + i) % replicas.length] as Replica
        const replayed = replica.replayLsn
        if (replayed !== undefined && replayed >= lsn) {
          chosen = replica
          this.#next = (this.#next + i + 1) % replicas.length
          break
        }
      }
    }
    if (chosen === undefined) this.#pollSoon()
    return chosen
  }

  /** Stops the background polls. */
  close(): void {
    this.#closed = true
    clearInterval(this.#timer)
  }

  #pollSoon(): void {
    if (Date.now() - this.#lastPollAt >= this.#settings.pollIntervalMs / 5) void this.poll()
  }
}

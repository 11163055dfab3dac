import { performance } from 'node:perf_hooks'
import type { Cluster, Redis } from 'ioredis'
import { nodeCrypto } from '../module-url.js'
import type { BusMessage, BusNotice, BusStats } from './bus.js'
import { checkMessage, encodeHeartbeat, encodeMessage, type Sender } from './bus-codec.js'
import { isClusterClient } from './redis-bus-sharded.js'
import type { PendingWaits } from './redis-bus-waits.js'

/** What the publisher needs from its bus. */
export interface PublisherSettings {
  /** The client that publishes; never closed here. */
  client: Redis | Cluster
  channel: string
  instanceId: string
  /** Total time a `publish()` may take, retries included. */
  publishTimeoutMs: number
  /** Attempts per `publish()` within `publishTimeoutMs`. */
  publishAttempts: number
}

/**
 * The sending side of a `RedisBus`: numbers messages, PUBLISHes them (SPUBLISH on a Cluster) with
 * bounded retries, and sends heartbeats (once each: the next heartbeat is their retry). Every send is bounded in time
 * and never rejects; `close()` (with the bus's {@link PendingWaits}) makes pending ones give up.
 */
export class BusPublisher {
  readonly #settings: PublisherSettings
  readonly #stats: BusStats
  readonly #waits: PendingWaits
  /** Our `instanceId` in this run: receivers tell a restart from a sender they lost track of. */
  readonly #sender: Sender
  /** Last message sequence number used (messages are numbered from 1). */
  #seq = 0
  #closed = false

  constructor(settings: PublisherSettings, stats: BusStats, waits: PendingWaits) {
    this.#settings = settings
    this.#sender = { id: settings.instanceId, epoch: nodeCrypto().randomBytes(6).toString('hex') }
    this.#stats = stats
    this.#waits = waits
  }

  /** See `InvalidationBus.publish`: throws synchronously on a malformed message, never rejects. */
  publish(message: BusMessage): Promise<boolean> {
    const checked = checkMessage(message)
    if (
      (checked.type === 'delete' && checked.keys.length === 0) ||
      (checked.type === 'tags' && checked.tags.length === 0)
    ) {
      return Promise.resolve(true)
    }
    if (this.#closed) {
      this.#stats.publishFailures++
      return Promise.resolve(false)
    }
    // Numbered now, whatever happens to it: if it never gets through, the others see the gap.
    const payload = encodeMessage(this.#sender, ++this.#seq, checked)
    return this.#publishWithRetries(payload)
  }

  /** See `InvalidationBus.prepareNotice`: the message numbered and encoded, not sent. */
  prepare(message: BusMessage): BusNotice {
    const checked = checkMessage(message)
    this.#stats.published++
    return {
      channel: this.#settings.channel,
      payload: encodeMessage(this.#sender, ++this.#seq, checked),
    }
  }

  /**
   * Sends heartbeat number `beat`, carrying the last message sequence number used (so the others
   * notice a message of ours that never reached them). Resolves whether Redis accepted it.
   */
  publishHeartbeat(beat: number, timeoutMs: number): Promise<boolean> {
    this.#stats.heartbeatsSent++
    const payload = encodeHeartbeat(this.#sender, this.#seq, beat)
    return this.#attempt(payload, timeoutMs)
  }

  /** Pending and later sends resolve `false` (their waits are woken by the bus). */
  close(): void {
    this.#closed = true
  }

  async #publishWithRetries(payload: string): Promise<boolean> {
    const { publishTimeoutMs, publishAttempts } = this.#settings
    const deadline = performance.now() + publishTimeoutMs
    const perAttempt = Math.ceil(publishTimeoutMs / publishAttempts)
    for (let attempt = 1; ; attempt++) {
      const remaining = deadline - performance.now()
      if (this.#closed || remaining <= 0) break
      if (attempt > 1) this.#stats.publishRetries++
      if (await this.#attempt(payload, Math.min(perAttempt, remaining))) {
        this.#stats.published++
        return true
      }
      if (attempt >= publishAttempts) break
      // Backoff 50 ms, 150 ms, 450 ms... within what is left of the budget.
      const pause = Math.min(50 * 3 ** (attempt - 1), deadline - performance.now())
      if (pause > 0) await this.#waits.sleep(pause)
    }
    this.#stats.publishFailures++
    return false
  }

  /** One PUBLISH (SPUBLISH on a Cluster), bounded by `timeoutMs`. Resolves whether Redis accepted it; never rejects. */
  #attempt(payload: string, timeoutMs: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      let settled = false
      const settle = (ok: boolean) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        this.#waits.delete(fail)
        resolve(ok)
      }
      const fail = () => settle(false)
      const timer = setTimeout(fail, timeoutMs)
      timer.unref()
      this.#waits.add(fail)
      let sent: Promise<unknown>
      try {
        const { client, channel } = this.#settings
        sent = isClusterClient(client)
          ? client.spublish(channel, payload)
          : client.publish(channel, payload)
      } catch {
        fail()
        return
      }
      sent.then(
        () => settle(!this.#closed),
        () => fail(),
      )
    })
  }
}

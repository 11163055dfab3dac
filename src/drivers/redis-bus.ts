/**
 * The invalidation bus on Redis pub/sub: PUBLISH/SUBSCRIBE on a standalone server; on a Cluster,
 * sharded pub/sub (SPUBLISH/SSUBSCRIBE, Redis 7), which only the master owning the channel's slot
 * carries, where plain PUBLISH would be broadcast to every node (`redis-bus-sharded.ts`).
 *
 * Connections: PUBLISH goes through the client it is given (often the L2's own); SUBSCRIBE needs a
 * connection of its own (a subscribed connection can run nothing else), a `duplicate()` of that
 * client that the bus owns and closes: it reconnects forever with capped backoff, queues no
 * commands while offline, and resubscribes itself (ioredis' `autoResubscribe` is off, so that the
 * bus knows exactly when the subscription is back).
 *
 * Trust (guarantee 4: missed invalidations are not silent):
 * - untrusted from construction; trusted once subscribed AND one of its own heartbeats, published
 *   after the subscription was confirmed, has come back (which proves the whole path: publisher,
 *   server, subscriber). Every later rising edge needs the same proof. While it is awaited, a
 *   heartbeat that could not be published (the publisher reconnecting after the subscriber) is
 *   sent again within 50-200 ms, not at the next interval.
 * - lost at once when the subscriber connection reports `close`, `reconnecting`, `end` or
 *   `error`;
 * - lost when one of its own heartbeats stays unanswered `heartbeatTimeoutMs` (default two
 *   heartbeat intervals), which catches a subscription that died silently (half-open TCP, a proxy
 *   dropping it). Heartbeats go every `heartbeatMs`, so that is detected 2 to 3 intervals after it
 *   happened. When Redis accepted the unanswered heartbeats, the subscriber is reconnected (a
 *   silent death is never noticed by ioredis itself); when publishing them failed (publisher
 *   down), the bus stays untrusted until a heartbeat comes back.
 * - blipped (untrusted, then trusted again at once) when another instance's sequence numbers
 *   show that one of its messages never arrived, or a frame with a readable envelope cannot be
 *   read: the path works, but one invalidation was lost; the flush on both edges repairs exactly
 *   that, and staying untrusted longer would not add anything. Detected with the next message or
 *   heartbeat of that instance (within one heartbeat interval).
 *
 * This file wires the parts together and holds the trust rules above; the parts are the
 * subscriber connection (`redis-bus-subscriber.ts`, `redis-bus-sharded.ts` on a Cluster), the
 * heartbeats and their watchdog (`redis-bus-heartbeats.ts`), the receiving side with its sequence
 * tracking (`redis-bus-receiver.ts`), and publishing with retries (`redis-bus-publisher.ts`).
 */
import {
  type BusMessage,
  type BusMessageHandler,
  type BusNotice,
  BusSignals,
  type BusStats,
  type BusTrustHandler,
  type InvalidationBus,
} from './bus.js'
import { HeartbeatWatchdog } from './redis-bus-heartbeats.js'
import { type RedisBusOptions, resolveRedisBusOptions } from './redis-bus-options.js'
import { BusPublisher } from './redis-bus-publisher.js'
import { FrameReceiver } from './redis-bus-receiver.js'
import { isClusterClient, ShardedSubscriberConnection } from './redis-bus-sharded.js'
import { SubscriberConnection } from './redis-bus-subscriber.js'
import { PendingWaits } from './redis-bus-waits.js'

export type { RedisBusOptions }

const NOT_STARTED = 'not started'
/**
 * First pause before a proof heartbeat that could not be published is sent again (doubling up to
 * {@link PROOF_RETRY_MAX_MS}, never past the heartbeat interval): the publishing connection, cut
 * together with the subscriber's, may come back after it, and waiting for the next interval would
 * keep the bus untrusted, L1 capped, up to a whole interval longer.
 */
const PROOF_RETRY_MS = 50
const PROOF_RETRY_MAX_MS = 200

/**
 * {@link InvalidationBus} on Redis pub/sub.
 *
 * @example
 * ```ts
 * const bus = new RedisBus({ client: driver.client, channel: `${prefix}__sc:bus` })
 * bus.onMessage((message) => { if (message.type === 'delete') l1.deleteMany(message.keys) })
 * bus.onTrustChange(() => l1.clear())
 * await bus.start()
 * await bus.publish({ type: 'delete', keys: ['product:1'] })
 * await bus.close()
 * ```
 */
export class RedisBus implements InvalidationBus {
  readonly instanceId: string
  /** The pub/sub channel it publishes and listens on. */
  readonly channel: string
  /** Interval between heartbeats, ms. */
  readonly heartbeatMs: number
  /** How long a heartbeat may stay unanswered before the bus declares itself untrusted, ms. */
  readonly heartbeatTimeoutMs: number
  /** Total time a `publish()` may take, retries included, ms. */
  readonly publishTimeoutMs: number
  /** Attempts per `publish()`. */
  readonly publishAttempts: number
  readonly #startTimeoutMs: number
  readonly #signals = new BusSignals(NOT_STARTED)
  /** Pending waits (publish attempts and backoff, start) to cut short on close. */
  readonly #waits = new PendingWaits()
  readonly #publisher: BusPublisher
  readonly #connection: SubscriberConnection | ShardedSubscriberConnection
  readonly #heartbeats: HeartbeatWatchdog
  readonly #receiver: FrameReceiver
  #started: Promise<void> | undefined
  /** The next attempt at a proof heartbeat that could not be published, when one is due. */
  #proofRetry: NodeJS.Timeout | undefined
  #proofRetryMs = PROOF_RETRY_MS
  #closed = false

  constructor(options: RedisBusOptions) {
    const o = resolveRedisBusOptions(options)
    this.instanceId = o.instanceId
    this.channel = o.channel
    this.heartbeatMs = o.heartbeatMs
    this.heartbeatTimeoutMs = o.heartbeatTimeoutMs
    this.publishTimeoutMs = o.publishTimeoutMs
    this.publishAttempts = o.publishAttempts
    this.#startTimeoutMs = o.startTimeoutMs
    this.#publisher = new BusPublisher(o, this.#signals.stats, this.#waits)
    this.#heartbeats = new HeartbeatWatchdog(o.heartbeatMs, o.heartbeatTimeoutMs, {
      subscribed: () => this.#connection.subscribed,
      tick: () => this.#sendHeartbeat(),
      missed: (beat, ageMs, subscriberAtFault) => {
        this.#signals.stats.heartbeatsMissed++
        this.#lose(
          `heartbeat missing: heartbeat ${beat} not back after ${Math.round(ageMs)} ms` +
            (subscriberAtFault ? ', reconnecting the subscriber' : ' (publishing fails)'),
        )
      },
      // Redis took our heartbeats but the subscriber does not hear them: its subscription is
      // dead without its connection knowing.
      deaf: () => this.#connection.reconnect(),
    })
    this.#receiver = new FrameReceiver(o.instanceId, o.heartbeatMs, this.#signals, (beat) => {
      if (this.#heartbeats.answered(beat)) {
        this.#signals.gain('subscribed: own heartbeat made the round trip')
      }
    })
    const events = {
      subscribed: () => this.#onSubscribed(),
      down: (reason: string) => {
        this.#heartbeats.forget()
        this.#lose(reason)
      },
      failed: (reason: string) => this.#lose(reason),
      frame: (raw: string) => this.#receiver.receive(raw),
    }
    const { client, channel, instanceId, reconnectMaxDelayMs } = o
    this.#connection = isClusterClient(client)
      ? new ShardedSubscriberConnection(client, channel, instanceId, reconnectMaxDelayMs, events)
      : new SubscriberConnection(client, channel, instanceId, reconnectMaxDelayMs, events)
  }

  get trusted(): boolean {
    return this.#signals.trusted
  }

  get trustReason(): string {
    return this.#signals.reason
  }

  get stats(): Readonly<BusStats> {
    return this.#signals.stats
  }

  /** See {@link InvalidationBus.lagMs}: the last heartbeat round trip, in ms. */
  get lagMs(): number | undefined {
    return this.#heartbeats.lastRoundTripMs
  }

  /** The subscriber connection's status (ioredis), for diagnostics. */
  get subscriberStatus(): string {
    return this.#connection.status
  }

  onMessage(handler: BusMessageHandler): () => void {
    return this.#signals.onMessage(handler)
  }

  onTrustChange(handler: BusTrustHandler): () => void {
    return this.#signals.onTrustChange(handler)
  }

  start(): Promise<void> {
    if (this.#started !== undefined) return this.#started
    if (this.#closed) {
      this.#started = Promise.resolve()
      return this.#started
    }
    this.#signals.lose('subscribing')
    this.#heartbeats.start()
    this.#connection.start()
    this.#started = this.#waitForTrust(this.#startTimeoutMs)
    return this.#started
  }

  publish(message: BusMessage): Promise<boolean> {
    return this.#publisher.publish(message)
  }

  prepareNotice(message: BusMessage): BusNotice {
    return this.#publisher.prepare(message)
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#publisher.close()
    clearTimeout(this.#proofRetry)
    this.#signals.reset('closed')
    this.#heartbeats.close()
    this.#waits.wakeAll()
    this.#connection.close()
  }

  #waitForTrust(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.trusted || this.#closed) return resolve()
      let off = () => {}
      const done = () => {
        clearTimeout(timer)
        off()
        this.#waits.delete(done)
        resolve()
      }
      const timer = setTimeout(done, timeoutMs)
      timer.unref()
      off = this.#signals.onTrustChange((trusted) => {
        if (trusted) done()
      })
      this.#waits.add(done)
    })
  }

  #onSubscribed(): void {
    this.#signals.stats.subscriptions++
    this.#proofRetryMs = PROOF_RETRY_MS
    this.#receiver.subscriptionConfirmed()
    this.#heartbeats.subscriptionConfirmed()
    this.#sendHeartbeat()
  }

  #lose(reason: string): void {
    // Trust comes back only with a heartbeat sent after this point.
    this.#heartbeats.requireNewProof()
    this.#signals.lose(reason)
  }

  #sendHeartbeat(): void {
    if (this.#closed) return
    clearTimeout(this.#proofRetry)
    this.#proofRetry = undefined
    const beat = this.#heartbeats.next()
    void this.#publisher.publishHeartbeat(beat, this.heartbeatMs).then((ok) => {
      if (ok) this.#heartbeats.accepted(beat)
      else this.#retryProof()
    })
    this.#receiver.forgetSilentOrigins()
  }

  /**
   * A heartbeat could not be published while subscribed and untrusted: trust waits for one that
   * makes the round trip, so the next is sent shortly (see {@link PROOF_RETRY_MS}), not at the
   * next interval. A publish fails at once while the publisher reconnects.
   */
  #retryProof(): void {
    if (this.#closed || this.trusted || !this.#connection.subscribed) return
    if (this.#proofRetry !== undefined) return
    const pauseMs = Math.min(this.#proofRetryMs, this.heartbeatMs)
    this.#proofRetryMs = Math.min(pauseMs * 2, PROOF_RETRY_MAX_MS)
    this.#proofRetry = setTimeout(() => {
      this.#proofRetry = undefined
      if (!this.trusted) this.#sendHeartbeat()
    }, pauseMs)
    this.#proofRetry.unref()
  }
}

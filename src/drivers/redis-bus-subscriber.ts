import type { Redis, RedisOptions } from 'ioredis'
import { errorText } from './bus.js'

/** What the subscriber connection tells its bus. */
export interface SubscriberEvents {
  /** The subscription is confirmed (after the first connection, and after every reconnection). */
  subscribed(): void
  /** The connection went down: nothing arrives until it is back and subscribed again. */
  down(reason: string): void
  /** Trust must go, though the connection may still be up (an error, a refused subscription). */
  failed(reason: string): void
  /** A raw payload arrived on the bus's channel. */
  frame(raw: string): void
}

/**
 * The connection a `RedisBus` subscribes on, and its lifecycle. A subscribed connection can run
 * nothing else, so it is a `duplicate()` of the publishing client, owned here: it reconnects
 * forever with capped backoff, queues no commands while offline, and resubscribes itself on every
 * `ready` (ioredis' `autoResubscribe` is off, so that the bus knows exactly when the subscription
 * is back).
 */
export class SubscriberConnection {
  /** Whether the subscription is confirmed on the live connection. */
  subscribed = false
  readonly #redis: Redis
  readonly #channel: string
  readonly #reconnectMaxDelayMs: number
  readonly #events: SubscriberEvents
  /** Changes whenever the connection goes up or down: stale replies are ignored. */
  #epoch = 0
  #restartTimer: NodeJS.Timeout | undefined
  #closed = false

  constructor(
    client: Redis,
    channel: string,
    instanceId: string,
    reconnectMaxDelayMs: number,
    events: SubscriberEvents,
  ) {
    this.#channel = channel
    this.#reconnectMaxDelayMs = reconnectMaxDelayMs
    this.#events = events
    this.#redis = duplicateForSubscribing(client, instanceId, reconnectMaxDelayMs)
  }

  /** The connection's status (ioredis), for diagnostics. */
  get status(): string {
    return this.#redis.status
  }

  /** Listens to the connection and connects it; it then subscribes on every `ready`. */
  start(): void {
    const sub = this.#redis
    sub.on('ready', () => this.#onReady())
    sub.on('close', () => this.#onDown('subscriber connection closed'))
    sub.on('reconnecting', () => this.#onDown('subscriber reconnecting'))
    sub.on('end', () => this.#onEnd())
    sub.on('error', (error: unknown) => {
      if (!this.#closed) this.#events.failed(`subscriber error: ${errorText(error)}`)
    })
    sub.on('message', (channel: string, raw: string) => {
      if (channel === this.#channel && !this.#closed) this.#events.frame(raw)
    })
    sub.connect().catch(() => {
      // Reported through 'error' / 'close'; ioredis keeps retrying.
    })
  }

  /**
   * Drops a live connection whose subscription died without the connection knowing (nothing
   * comes back though Redis accepts what we publish): only a new connection repairs that.
   */
  reconnect(): void {
    if (this.#redis.status !== 'ready') return
    this.subscribed = false
    this.#epoch++
    this.#redis.disconnect(true)
  }

  close(): void {
    this.#closed = true
    this.subscribed = false
    clearTimeout(this.#restartTimer)
    // Nothing to flush on a subscriber: drop it (the socket is destroyed if the FIN goes
    // unanswered, after `disconnectTimeout`), and stop reconnecting.
    this.#redis.disconnect()
  }

  #onReady(): void {
    if (this.#closed) return
    const epoch = ++this.#epoch
    this.#redis.subscribe(this.#channel).then(
      () => {
        if (this.#closed || epoch !== this.#epoch) return
        this.subscribed = true
        this.#events.subscribed()
      },
      (error: unknown) => {
        if (this.#closed || epoch !== this.#epoch) return
        // The connection is up but the subscription was refused (e.g. an ACL): reconnect later.
        this.#events.failed(`subscribe failed: ${errorText(error)}`)
        this.#scheduleRestart(true)
      },
    )
  }

  #onDown(reason: string): void {
    if (this.#closed) return
    this.#epoch++
    this.subscribed = false
    this.#events.down(reason)
  }

  #onEnd(): void {
    if (this.#closed) return
    this.#onDown('subscriber connection ended')
    // Not ours: ioredis gave up (it should not, with our retry strategy). Connect again.
    this.#scheduleRestart(false)
  }

  /** Connects again after a while; `bounce` first drops the live connection. */
  #scheduleRestart(bounce: boolean): void {
    if (this.#closed || this.#restartTimer !== undefined) return
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined
      if (this.#closed) return
      const status = this.#redis.status
      if (bounce && status === 'ready') this.#redis.disconnect(true)
      else if (status === 'end') this.#redis.connect().catch(() => {})
    }, this.#reconnectMaxDelayMs)
    this.#restartTimer.unref()
  }
}

/**
 * The subscriber: a `duplicate()` of `client` that fails fast while offline and never gives up.
 * (On a Cluster, the bus subscribes with `ShardedSubscriberConnection` instead.)
 */
function duplicateForSubscribing(client: Redis, instanceId: string, maxDelay: number): Redis {
  const backoff = (attempt: number) => {
    const base = Math.min(maxDelay, 50 * 2 ** Math.min(attempt, 10))
    return Math.max(10, Math.round(base * (0.8 + Math.random() * 0.4)))
  }
  const connection: Partial<RedisOptions> = {
    lazyConnect: true,
    // The bus subscribes on every `ready` itself, to know when the subscription is back.
    autoResubscribe: false,
    // Nothing waits for a connection: a command while disconnected fails at once, and what
    // was in flight when it dropped is rejected, never resent (close() cannot hang on them).
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    enableAutoPipelining: false,
    connectTimeout: 2_000,
    socketTimeout: 5_000,
    // disconnect() ends the socket, and destroys it if the peer does not answer in time.
    disconnectTimeout: 500,
    keepAlive: 10_000,
    connectionName: `stratacache-bus-${instanceId}`,
    keyPrefix: '',
    monitor: false,
    readOnly: false,
  }
  const subscriber = client.duplicate({ ...connection, retryStrategy: backoff })
  // Without a listener ioredis prints every reconnection failure; `start()` handles them.
  subscriber.on('error', () => {})
  return subscriber
}

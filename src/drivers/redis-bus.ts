/**
 * The invalidation bus on Redis pub/sub (standalone, or Cluster with plain PUBLISH, which Redis
 * broadcasts to every node).
 *
 * Connections: PUBLISH goes through the client it is given (often the L2's own); SUBSCRIBE needs a
 * connection of its own (a subscribed connection can run nothing else), a `duplicate()` of that
 * client that the bus owns and closes: it reconnects forever with capped backoff, queues no
 * commands while offline, and resubscribes itself (ioredis' `autoResubscribe` is off, so that the
 * bus knows exactly when the subscription is back).
 *
 * Trust (SPEC guarantee 4):
 * - untrusted from construction; trusted once subscribed AND one of its own heartbeats, published
 *   after the subscription was confirmed, has come back (which proves the whole path: publisher,
 *   server, subscriber). Every later rising edge needs the same proof.
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
 */
import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis'
import { invalid } from '../errors.js'
import {
  type BusMessage,
  type BusMessageHandler,
  BusSignals,
  type BusStats,
  type BusTrustHandler,
  errorText,
  type InvalidationBus,
} from './bus.js'
import {
  checkMessage,
  decodeFrame,
  encodeHeartbeat,
  encodeMessage,
  SequenceTracker,
} from './bus-codec.js'

/** Options of a {@link RedisBus}. */
export interface RedisBusOptions {
  /**
   * The client that publishes (an ioredis `Redis` or `Cluster`; may be the L2 driver's own). The
   * bus never closes it. Its `duplicate()` becomes the subscriber, which the bus owns.
   */
  client: Redis | Cluster
  /** The pub/sub channel, e.g. `${prefix}__sc:bus`. Every instance of an app uses the same one. */
  channel: string
  /** Interval between heartbeats. Default 1000 ms. At least 10. */
  heartbeatMs?: number
  /**
   * How long one of its own heartbeats may stay unanswered before the bus declares itself
   * untrusted ("heartbeat missing"). Default 2 × `heartbeatMs`: a dead subscription is noticed
   * 2 to 3 heartbeat intervals after it died.
   */
  heartbeatTimeoutMs?: number
  /** Total time a `publish()` may take, retries included. Default 1000 ms. */
  publishTimeoutMs?: number
  /** Attempts per `publish()` within `publishTimeoutMs`. Default 3. */
  publishAttempts?: number
  /** How long `start()` waits for trust before resolving anyway. Default 2000 ms. */
  startTimeoutMs?: number
  /** Cap of the subscriber's reconnection backoff (exponential from 50 ms, jittered). Default 1000 ms. */
  reconnectMaxDelayMs?: number
  /** This bus's id on the wire. Default: 16 random hex characters. */
  instanceId?: string
}

const NOT_STARTED = 'not started'

function positiveInteger(value: unknown, field: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw invalid(field, `must be an integer >= ${min}, got ${String(value)}`)
  }
  return value
}

function isClient(value: unknown): value is Redis | Cluster {
  const c = value as { publish?: unknown; duplicate?: unknown } | null
  return (
    typeof c === 'object' &&
    c !== null &&
    typeof c.publish === 'function' &&
    typeof c.duplicate === 'function'
  )
}

type Subscriber = Redis | Cluster

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
  readonly channel: string
  readonly heartbeatMs: number
  readonly heartbeatTimeoutMs: number
  readonly publishTimeoutMs: number
  readonly publishAttempts: number
  readonly #client: Redis | Cluster
  readonly #subscriber: Subscriber
  readonly #startTimeoutMs: number
  readonly #reconnectMaxDelayMs: number
  readonly #signals = new BusSignals(NOT_STARTED)
  readonly #sequences = new SequenceTracker()
  /** Last message sequence number used (messages are numbered from 1). */
  #seq = 0
  /** Last heartbeat number used. */
  #beat = 0
  /** Heartbeats sent since the subscription was confirmed and not yet back: number → sent at. */
  readonly #unanswered = new Map<number, number>()
  /** Whether Redis accepted a heartbeat that has not come back (the subscriber is at fault). */
  #acceptedUnanswered = false
  /** The first heartbeat whose return proves the path again (after a loss or a subscription). */
  #proofBeat = Number.POSITIVE_INFINITY
  #subscribed = false
  /** Changes whenever the subscriber connection goes up or down: stale replies are ignored. */
  #connectionEpoch = 0
  #started: Promise<void> | undefined
  #closed = false
  #heartbeatTimer: NodeJS.Timeout | undefined
  #watchdogTimer: NodeJS.Timeout | undefined
  #restartTimer: NodeJS.Timeout | undefined
  /** Pending waits (publish backoff, start) to cut short on close. */
  readonly #wakers = new Set<() => void>()

  constructor(options: RedisBusOptions) {
    if (typeof options !== 'object' || options === null) {
      throw invalid('options', 'must be an object with client and channel')
    }
    if (!isClient(options.client)) {
      throw invalid('client', 'must be an ioredis Redis or Cluster instance')
    }
    if (typeof options.channel !== 'string' || options.channel.length === 0) {
      throw invalid('channel', 'must be a non-empty string')
    }
    this.heartbeatMs = positiveInteger(options.heartbeatMs, 'heartbeatMs', 1000, 10)
    this.heartbeatTimeoutMs = positiveInteger(
      options.heartbeatTimeoutMs,
      'heartbeatTimeoutMs',
      2 * this.heartbeatMs,
      10,
    )
    this.publishTimeoutMs = positiveInteger(options.publishTimeoutMs, 'publishTimeoutMs', 1000)
    this.publishAttempts = positiveInteger(options.publishAttempts, 'publishAttempts', 3)
    this.#startTimeoutMs = positiveInteger(options.startTimeoutMs, 'startTimeoutMs', 2000)
    this.#reconnectMaxDelayMs = positiveInteger(
      options.reconnectMaxDelayMs,
      'reconnectMaxDelayMs',
      1000,
      10,
    )
    if (options.instanceId !== undefined) {
      if (
        typeof options.instanceId !== 'string' ||
        !/^[\x21-\x7e]{1,200}$/.test(options.instanceId)
      ) {
        throw invalid('instanceId', 'must be 1-200 printable ASCII characters without spaces')
      }
    }
    this.instanceId = options.instanceId ?? randomBytes(8).toString('hex')
    this.channel = options.channel
    this.#client = options.client
    this.#subscriber = this.#duplicate(options.client)
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

  /** The subscriber connection's status (ioredis), for diagnostics. */
  get subscriberStatus(): string {
    return this.#subscriber.status
  }

  onMessage(handler: BusMessageHandler): () => void {
    return this.#signals.onMessage(handler)
  }

  onTrustChange(handler: BusTrustHandler): () => void {
    return this.#signals.onTrustChange(handler)
  }

  #duplicate(client: Redis | Cluster): Subscriber {
    const maxDelay = this.#reconnectMaxDelayMs
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
      connectionName: `stratacache-bus-${this.instanceId}`,
      keyPrefix: '',
      monitor: false,
      readOnly: false,
    }
    const subscriber =
      (client as { isCluster?: boolean }).isCluster === true
        ? (client as Cluster).duplicate([], {
            lazyConnect: true,
            enableOfflineQueue: false,
            clusterRetryStrategy: backoff,
            redisOptions: {
              ...(client as Cluster).options.redisOptions,
              connectTimeout: 2_000,
              maxRetriesPerRequest: 0,
              autoResendUnfulfilledCommands: false,
              keyPrefix: '',
            },
          } satisfies ClusterOptions)
        : (client as Redis).duplicate({ ...connection, retryStrategy: backoff })
    // Without a listener ioredis prints every reconnection failure; the bus handles them below.
    subscriber.on('error', () => {})
    return subscriber
  }

  start(): Promise<void> {
    if (this.#started !== undefined) return this.#started
    if (this.#closed) {
      this.#started = Promise.resolve()
      return this.#started
    }
    this.#signals.lose('subscribing')
    const sub = this.#subscriber
    sub.on('ready', () => this.#onReady())
    sub.on('close', () => this.#onDown('subscriber connection closed'))
    sub.on('reconnecting', () => this.#onDown('subscriber reconnecting'))
    sub.on('end', () => this.#onEnd())
    sub.on('error', (error: unknown) => {
      if (!this.#closed) this.#lose(`subscriber error: ${errorText(error)}`)
    })
    sub.on('message', (channel: string, raw: string) => {
      if (channel === this.channel) this.#onFrame(raw)
    })
    this.#heartbeatTimer = setInterval(() => this.#sendHeartbeat(), this.heartbeatMs)
    this.#heartbeatTimer.unref()
    sub.connect().catch(() => {
      // Reported through 'error' / 'close'; ioredis keeps retrying.
    })
    this.#started = this.#waitForTrust(this.#startTimeoutMs)
    return this.#started
  }

  #waitForTrust(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.trusted || this.#closed) return resolve()
      let off = () => {}
      const done = () => {
        clearTimeout(timer)
        off()
        this.#wakers.delete(done)
        resolve()
      }
      const timer = setTimeout(done, timeoutMs)
      timer.unref()
      off = this.#signals.onTrustChange((trusted) => {
        if (trusted) done()
      })
      this.#wakers.add(done)
    })
  }

  #onReady(): void {
    if (this.#closed) return
    const epoch = ++this.#connectionEpoch
    this.#subscriber.subscribe(this.channel).then(
      () => {
        if (this.#closed || epoch !== this.#connectionEpoch) return
        this.#onSubscribed()
      },
      (error: unknown) => {
        if (this.#closed || epoch !== this.#connectionEpoch) return
        // The connection is up but the subscription was refused (e.g. an ACL): reconnect later.
        this.#lose(`subscribe failed: ${errorText(error)}`)
        this.#scheduleRestart(true)
      },
    )
  }

  #onSubscribed(): void {
    this.#subscribed = true
    this.#signals.stats.subscriptions++
    // Whatever was published while we were not subscribed is gone: new baselines for everyone,
    // and only heartbeats sent from now on can come back.
    this.#sequences.clear()
    this.#unanswered.clear()
    this.#acceptedUnanswered = false
    this.#proofBeat = this.#beat + 1
    this.#sendHeartbeat()
  }

  #onDown(reason: string): void {
    if (this.#closed) return
    this.#connectionEpoch++
    this.#subscribed = false
    this.#unanswered.clear()
    this.#acceptedUnanswered = false
    this.#lose(reason)
  }

  #onEnd(): void {
    if (this.#closed) return
    this.#onDown('subscriber connection ended')
    // Not ours: ioredis gave up (it should not, with our retry strategy). Connect again.
    this.#scheduleRestart(false)
  }

  /** Connects the subscriber again after a while; `bounce` first drops the live connection. */
  #scheduleRestart(bounce: boolean): void {
    if (this.#closed || this.#restartTimer !== undefined) return
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined
      if (this.#closed) return
      const status = this.#subscriber.status
      if (bounce && status === 'ready') this.#subscriber.disconnect(true)
      else if (status === 'end') this.#subscriber.connect().catch(() => {})
    }, this.#reconnectMaxDelayMs)
    this.#restartTimer.unref()
  }

  #lose(reason: string): void {
    // Trust comes back only with a heartbeat sent after this point.
    this.#proofBeat = this.#beat + 1
    this.#signals.lose(reason)
  }

  #sendHeartbeat(): void {
    if (this.#closed) return
    const beat = ++this.#beat
    const sentAt = performance.now()
    if (this.#subscribed && this.#unanswered.size < 1000) {
      this.#unanswered.set(beat, sentAt)
      this.#armWatchdog()
    }
    this.#signals.stats.heartbeatsSent++
    const payload = encodeHeartbeat(this.instanceId, this.#seq, beat)
    void this.#attempt(payload, this.heartbeatMs).then((ok) => {
      if (ok && this.#unanswered.has(beat)) this.#acceptedUnanswered = true
    })
    this.#sequences.prune(Date.now() - Math.max(300_000, 30 * this.heartbeatMs))
  }

  /** Arms the watchdog for the oldest unanswered heartbeat, unless it is armed already. */
  #armWatchdog(): void {
    if (this.#watchdogTimer !== undefined || this.#closed) return
    const oldest = this.#unanswered.values().next()
    if (oldest.done) return
    const due = oldest.value + this.heartbeatTimeoutMs - performance.now()
    this.#watchdogTimer = setTimeout(
      () => {
        // Let the I/O that arrived meanwhile be read first: after a long event-loop stall the
        // heartbeat may be sitting in the socket, and timers run before I/O callbacks.
        setImmediate(() => {
          this.#watchdogTimer = undefined
          this.#checkHeartbeats()
        })
      },
      Math.max(0, due),
    )
    this.#watchdogTimer.unref()
  }

  #checkHeartbeats(): void {
    if (this.#closed || !this.#subscribed) return
    const oldest = this.#unanswered.entries().next()
    if (oldest.done) return
    const [beat, sentAt] = oldest.value
    const age = performance.now() - sentAt
    if (age < this.heartbeatTimeoutMs) {
      this.#armWatchdog()
      return
    }
    this.#signals.stats.heartbeatsMissed++
    const subscriberAtFault = this.#acceptedUnanswered
    this.#lose(
      `heartbeat missing: heartbeat ${beat} not back after ${Math.round(age)} ms` +
        (subscriberAtFault ? ', reconnecting the subscriber' : ' (publishing fails)'),
    )
    // Start the clock again from the next heartbeat: one verdict per timeout period.
    this.#unanswered.clear()
    this.#acceptedUnanswered = false
    if (subscriberAtFault && this.#subscriber.status === 'ready') {
      // Redis took our heartbeats but the subscriber does not hear them: its subscription is
      // dead without its connection knowing. Only a new connection repairs that.
      this.#subscribed = false
      this.#connectionEpoch++
      this.#subscriber.disconnect(true)
    }
  }

  #onOwnHeartbeat(beat: number): void {
    for (const n of this.#unanswered.keys()) {
      if (n > beat) break
      this.#unanswered.delete(n)
    }
    if (this.#unanswered.size === 0) this.#acceptedUnanswered = false
    if (this.#subscribed && beat >= this.#proofBeat) {
      this.#signals.gain('subscribed: own heartbeat made the round trip')
    }
  }

  #onFrame(raw: string): void {
    if (this.#closed) return
    const frame = decodeFrame(raw)
    const now = Date.now()
    switch (frame.kind) {
      case 'garbage':
        this.#signals.stats.malformed++
        return
      case 'unreadable':
        if (frame.origin === this.instanceId) return
        this.#signals.stats.malformed++
        this.#sequences.message(frame.origin, frame.seq, now)
        this.#signals.blip(`unreadable message ${frame.seq} from ${frame.origin}: ${frame.reason}`)
        return
      case 'heartbeat':
        if (frame.origin === this.instanceId) {
          this.#onOwnHeartbeat(frame.beat)
        } else if (this.#sequences.heartbeat(frame.origin, frame.seq, now) === 'gap') {
          this.#signals.stats.sequenceGaps++
          this.#signals.blip(
            `sequence gap: ${frame.origin} has sent message ${frame.seq}, which never arrived`,
          )
        }
        return
      case 'message': {
        if (frame.origin === this.instanceId) return
        const order = this.#sequences.message(frame.origin, frame.seq, now)
        if (order === 'gap') {
          this.#signals.stats.sequenceGaps++
          this.#signals.blip(
            `sequence gap: message ${frame.seq} from ${frame.origin} came after a lost one`,
          )
        } else if (order === 'late') {
          this.#signals.stats.outOfOrder++
        }
        this.#signals.deliver(frame.message, frame.origin)
        return
      }
    }
  }

  publish(message: BusMessage): Promise<boolean> {
    const checked = checkMessage(message)
    if (
      (checked.type === 'delete' && checked.keys.length === 0) ||
      (checked.type === 'tags' && checked.tags.length === 0)
    ) {
      return Promise.resolve(true)
    }
    if (this.#closed) {
      this.#signals.stats.publishFailures++
      return Promise.resolve(false)
    }
    // Numbered now, whatever happens to it: if it never gets through, the others see the gap.
    const payload = encodeMessage(this.instanceId, ++this.#seq, checked)
    return this.#publishWithRetries(payload)
  }

  async #publishWithRetries(payload: string): Promise<boolean> {
    const deadline = performance.now() + this.publishTimeoutMs
    const perAttempt = Math.ceil(this.publishTimeoutMs / this.publishAttempts)
    for (let attempt = 1; ; attempt++) {
      const remaining = deadline - performance.now()
      if (this.#closed || remaining <= 0) break
      if (attempt > 1) this.#signals.stats.publishRetries++
      if (await this.#attempt(payload, Math.min(perAttempt, remaining))) {
        this.#signals.stats.published++
        return true
      }
      if (attempt >= this.publishAttempts) break
      // Backoff 50 ms, 150 ms, 450 ms... within what is left of the budget.
      const pause = Math.min(50 * 3 ** (attempt - 1), deadline - performance.now())
      if (pause > 0) await this.#sleep(pause)
    }
    this.#signals.stats.publishFailures++
    return false
  }

  /** One PUBLISH, bounded by `timeoutMs`. Resolves whether Redis accepted it; never rejects. */
  #attempt(payload: string, timeoutMs: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      let settled = false
      const settle = (ok: boolean) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        this.#wakers.delete(fail)
        resolve(ok)
      }
      const fail = () => settle(false)
      const timer = setTimeout(fail, timeoutMs)
      timer.unref()
      this.#wakers.add(fail)
      let sent: Promise<unknown>
      try {
        sent = this.#client.publish(this.channel, payload)
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

  #sleep(ms: number): Promise<void> {
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

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#subscribed = false
    this.#signals.reset('closed')
    clearInterval(this.#heartbeatTimer)
    clearTimeout(this.#watchdogTimer)
    clearTimeout(this.#restartTimer)
    for (const wake of [...this.#wakers]) wake()
    // Nothing to flush on a subscriber: drop it (the socket is destroyed if the FIN goes
    // unanswered, after `disconnectTimeout`), and stop reconnecting.
    this.#subscriber.disconnect()
  }
}

/**
 * The cross-instance invalidation bus (a driver, like L2): what one instance tells the L1s of the others.
 *
 * Two implementations: `RedisBus` (Redis pub/sub, for instances in different processes) and
 * `MemoryBus` (in-process, for tests and for several CacheManagers in one process).
 *
 * How a CacheManager is expected to use it:
 * - after a write reached L2 (or failed to), `publish()` the invalidation, so that other
 *   instances drop their L1 copies; never await it on a hot path if you do not need to;
 * - `onMessage()` applies what other instances publish to this instance's L1;
 * - `onTrustChange()`: flush (or start revalidating) the L1 on BOTH edges. On the falling edge
 *   because messages may be lost from now on; on the rising edge because some were lost while
 *   the channel was down (and anything cached meanwhile may be stale). A flush must also fence
 *   fills that are in flight (bump a global epoch): a loader that read the source before the
 *   flush must not store its value after it.
 */

/** What an instance tells the others. Keys, tags and patterns are caller-level (unprefixed). */
export type BusMessage =
  /** Entries deleted, or overwritten by `set()`: other L1s must drop their copies. */
  | {
      /** Tells the kinds of message apart. */
      type: 'delete'
      /** The keys deleted or overwritten. */
      keys: string[]
    }
  /** Entries with any of these tags are invalid. */
  | {
      /** Tells the kinds of message apart. */
      type: 'tags'
      /** The tags invalidated. */
      tags: string[]
    }
  /** Entries whose key matches: exactly one of `glob` or `regexp`. */
  | {
      /** Tells the kinds of message apart. */
      type: 'pattern'
      /** A Redis glob. */
      glob?: string
      /** A regular expression, as its parts. */
      regexp?: {
        /** `RegExp.source`. */
        source: string
        /** `RegExp.flags`. */
        flags: string
      }
    }
  /** Everything is invalid. */
  | {
      /** Tells the kinds of message apart. */
      type: 'clear'
    }
  /** A lease holder stored a value for `key`: waiters elsewhere can stop polling and read it. */
  | {
      /** Tells the kinds of message apart. */
      type: 'filled'
      /** The key filled. */
      key: string
    }

export type BusMessageType = BusMessage['type']

/**
 * A bus message already encoded for its channel, for a transport command to publish itself: a
 * Redis script publishes it with the invalidation it announces (one round trip, and published
 * only if applied). See {@link InvalidationBus.prepareNotice}.
 */
export interface BusNotice {
  /** The channel to publish on. */
  readonly channel: string
  /** The encoded message. */
  readonly payload: string
}

/** Receives every message published by another instance; `origin` is its `instanceId`. */
export type BusMessageHandler = (message: BusMessage, origin: string) => void

/** Called on every trust edge: `false` when trust is lost, `true` when it comes back. */
export type BusTrustHandler = (trusted: boolean, reason: string) => void

/** Counters of a bus. They only grow (until the bus is garbage). */
export interface BusStats {
  /** Messages accepted by the transport (Redis replied to PUBLISH). Heartbeats excluded. */
  published: number
  /** `publish()` calls that gave up after their retries (resolved `false`). */
  publishFailures: number
  /** Publish attempts after the first, over all `publish()` calls. */
  publishRetries: number
  /** Messages from other instances handed to the `onMessage` handlers. */
  received: number
  /** Frames on the channel that could not be read (not ours, corrupted, or a newer format). */
  malformed: number
  /** Losses detected from another instance's sequence numbers (a message that never came). */
  sequenceGaps: number
  /** Messages from another instance that came after a later one (a retry, or a duplicate). */
  outOfOrder: number
  /** Trusted → untrusted edges, whatever the cause. */
  trustLost: number
  /** Heartbeats sent (Redis bus). */
  heartbeatsSent: number
  /** Times the heartbeat watchdog fired: one of our own heartbeats did not come back in time. */
  heartbeatsMissed: number
  /** Subscriptions confirmed by the transport, the first one included. */
  subscriptions: number
  /** Exceptions thrown by `onMessage` / `onTrustChange` handlers (swallowed, counted). */
  handlerErrors: number
}

/**
 * A channel between the instances of one application: every message published by one bus reaches
 * every other bus on the same channel, and a bus knows whether it may have missed any.
 */
export interface InvalidationBus {
  /** Random and unique per bus object (or given). Messages carry it; own messages are ignored. */
  readonly instanceId: string
  /**
   * Publishes to every OTHER instance on the channel. Retries within a bound on failure; the
   * promise never rejects and never waits past the bound; it resolves `true` when the transport
   * accepted the message, `false` when it gave up (or the bus is closed). An empty `keys`/`tags`
   * list resolves `true` at once without publishing. A malformed message (a bug in the caller)
   * throws a `ValidationError` synchronously.
   */
  publish(message: BusMessage): Promise<boolean>
  /**
   * Encodes `message` as this bus's next message without sending it, for an L2 command on the same
   * Redis to publish with the invalidation it announces. It counts as sent: if the command never
   * runs, the other instances see the gap in the sequence at the next message or heartbeat and
   * stop trusting their L1 (guarantee 4). Only buses that publish on a Redis offer it.
   */
  prepareNotice?(message: BusMessage): BusNotice
  /**
   * Registers a handler for messages from other instances (never our own, never heartbeats).
   * Handlers run synchronously, in registration order, as each message arrives. One that throws
   * is counted (`stats.handlerErrors`) and, since an invalidation may then not have been applied,
   * costs a trust blip (untrusted then trusted again: the L1 flushes). Returns an unsubscribe.
   */
  onMessage(handler: BusMessageHandler): () => void
  /**
   * Whether every message published by others since the last (re)subscription is known to have
   * arrived. `false` before `start()` succeeded, while the channel is down, and after `close()`.
   */
  readonly trusted: boolean
  /** Why the bus is untrusted (or the reason of the last rising edge when trusted). */
  readonly trustReason: string
  /** Registers a handler for trust edges (see {@link BusTrustHandler}). Returns an unsubscribe. */
  onTrustChange(handler: BusTrustHandler): () => void
  /** Its counters. */
  readonly stats: Readonly<BusStats>
  /**
   * The bus's last measured lag in ms: how long one of its own heartbeats took from publishing
   * to coming back on its subscription (publisher, server, subscriber; one clock, no skew).
   * `undefined` until a heartbeat came back, and on buses that do not measure it (`MemoryBus`).
   */
  readonly lagMs?: number | undefined
  /**
   * Subscribes. Resolves once trusted, or after a bounded wait with `trusted === false` (the bus
   * keeps trying in the background and reports the rising edge later). Never rejects.
   * Idempotent: later calls return the same promise.
   */
  start(): Promise<void>
  /**
   * Stops timers, drops the connections the bus owns, makes pending `publish()` calls resolve
   * `false`. Fast even when the transport is down. No trust event is emitted. Idempotent.
   */
  close(): Promise<void>
}

export function emptyBusStats(): BusStats {
  return {
    published: 0,
    publishFailures: 0,
    publishRetries: 0,
    received: 0,
    malformed: 0,
    sequenceGaps: 0,
    outOfOrder: 0,
    trustLost: 0,
    heartbeatsSent: 0,
    heartbeatsMissed: 0,
    subscriptions: 0,
    handlerErrors: 0,
  }
}

/**
 * The handler lists, the trust state and the counters that every bus has. A bus owns one and
 * calls `lose`, `gain`, `blip` and `deliver`; the public methods of {@link InvalidationBus}
 * delegate to it.
 */
export class BusSignals {
  readonly stats: BusStats = emptyBusStats()
  #trusted = false
  #reason: string
  readonly #messageHandlers = new Set<{ fn: BusMessageHandler }>()
  readonly #trustHandlers = new Set<{ fn: BusTrustHandler }>()

  constructor(initialReason: string) {
    this.#reason = initialReason
  }

  get trusted(): boolean {
    return this.#trusted
  }

  get reason(): string {
    return this.#reason
  }

  onMessage(handler: BusMessageHandler): () => void {
    if (typeof handler !== 'function') throw new TypeError('onMessage: handler must be a function')
    // Wrapped, so that registering the same function twice gives two independent registrations.
    const entry = { fn: handler }
    this.#messageHandlers.add(entry)
    return () => {
      this.#messageHandlers.delete(entry)
    }
  }

  onTrustChange(handler: BusTrustHandler): () => void {
    if (typeof handler !== 'function') {
      throw new TypeError('onTrustChange: handler must be a function')
    }
    const entry = { fn: handler }
    this.#trustHandlers.add(entry)
    return () => {
      this.#trustHandlers.delete(entry)
    }
  }

  /** Trust is lost (emits on the edge only; the reason is updated either way). */
  lose(reason: string): void {
    this.#reason = reason
    if (!this.#trusted) return
    this.#trusted = false
    this.stats.trustLost++
    this.#emitTrust(false, reason)
  }

  /** Trust is back (emits on the edge only). */
  gain(reason: string): void {
    if (this.#trusted) return
    this.#trusted = true
    this.#reason = reason
    this.#emitTrust(true, reason)
  }

  /**
   * Something was lost but the channel works: untrusted then trusted again at once, so that the
   * L1 flushes. No-op while untrusted (the coming rising edge flushes anyway).
   */
  blip(reason: string): void {
    if (!this.#trusted) return
    this.lose(reason)
    this.gain(`recovered from: ${reason}`)
  }

  /** Silently untrusted (closing). */
  reset(reason: string): void {
    this.#trusted = false
    this.#reason = reason
  }

  /** Hands a message from another instance to every handler. */
  deliver(message: BusMessage, origin: string): void {
    this.stats.received++
    let failed: unknown
    for (const entry of [...this.#messageHandlers]) {
      try {
        entry.fn(message, origin)
      } catch (error) {
        this.stats.handlerErrors++
        failed ??= error
      }
    }
    if (failed !== undefined) {
      this.blip(`message handler threw: ${errorText(failed)}`)
    }
  }

  #emitTrust(trusted: boolean, reason: string): void {
    for (const entry of [...this.#trustHandlers]) {
      try {
        entry.fn(trusted, reason)
      } catch {
        this.stats.handlerErrors++
      }
    }
  }
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

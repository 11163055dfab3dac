/**
 * The invalidation bus inside one process: for tests, and for several CacheManagers sharing a
 * process (each has its own L1). Buses attached to the same {@link MemoryBusHub} and channel
 * hear each other; delivery is synchronous by default (every other bus has run its handlers
 * before `publish()` returns), or after `delayMs` to imitate a slow subscriber.
 *
 * Messages go through the same codec as on Redis, so each receiver gets its own copy, exactly as
 * a `RedisBus` would deliver it (a `RegExp` arrives as `{ source, flags }`).
 *
 * Fault injection: `hub.partition(...buses)` cuts buses off (untrusted, their publishes fail,
 * messages to them are lost) until `hub.heal(...buses)`.
 */
import { invalid } from '../errors.js'
import { nodeCrypto } from '../module-url.js'
import {
  type BusMessage,
  type BusMessageHandler,
  BusSignals,
  type BusStats,
  type BusTrustHandler,
  type InvalidationBus,
} from './bus.js'
import { checkMessage, decodeFrame, encodeMessage } from './bus-codec.js'

const PARTITIONED = 'partitioned (MemoryBusHub.partition)'

/** Options of a {@link MemoryBusHub}. */
export interface MemoryBusHubOptions {
  /**
   * Delivery delay in ms; 0 delivers synchronously, inside `publish()`.
   * @default 0
   */
  delayMs?: number
}

function delayOption(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw invalid(field, `must be a finite number >= 0, got ${String(value)}`)
  }
  return value
}

/**
 * What connects {@link MemoryBus} instances: the in-process counterpart of one Redis server.
 *
 * @example
 * ```ts
 * const hub = new MemoryBusHub()
 * const a = new MemoryBus({ hub, channel: 'shop' })
 * const b = new MemoryBus({ hub, channel: 'shop' })
 * hub.partition(b)   // b loses the channel: untrusted, misses a's messages
 * hub.heal(b)        // trusted again (its L1 flushes on both edges)
 * ```
 */
export class MemoryBusHub {
  readonly #channels = new Map<string, Set<MemoryBus>>()
  readonly #partitioned = new Set<MemoryBus>()
  #delayMs: number

  constructor(options: MemoryBusHubOptions = {}) {
    this.#delayMs = options.delayMs === undefined ? 0 : delayOption(options.delayMs, 'delayMs')
  }

  /** Delivery delay in ms (0: synchronous). May be changed at any time. */
  get delayMs(): number {
    return this.#delayMs
  }

  /** Sets the delay; messages published from then on use it. */
  set delayMs(value: number) {
    this.#delayMs = delayOption(value, 'delayMs')
  }

  /** Started, unclosed buses attached to the hub (all channels). */
  get size(): number {
    let count = 0
    for (const buses of this.#channels.values()) count += buses.size
    return count
  }

  /**
   * Cuts the given buses off, or every attached bus when called without arguments: each becomes
   * untrusted ("partitioned"), its publishes resolve `false`, messages to it are lost. Buses
   * started later are not affected.
   */
  partition(...buses: MemoryBus[]): void {
    const targets = buses.length > 0 ? buses : this.#attached()
    for (const bus of targets) {
      if (this.#partitioned.has(bus)) continue
      this.#partitioned.add(bus)
      bus._partitioned(true)
    }
  }

  /** Reconnects the given buses, or all partitioned ones: trusted again. */
  heal(...buses: MemoryBus[]): void {
    const targets = buses.length > 0 ? buses : [...this.#partitioned]
    for (const bus of targets) {
      if (!this.#partitioned.delete(bus)) continue
      bus._partitioned(false)
    }
  }

  /** Whether `bus` is cut off. */
  isPartitioned(bus: MemoryBus): boolean {
    return this.#partitioned.has(bus)
  }

  #attached(): MemoryBus[] {
    const out: MemoryBus[] = []
    for (const buses of this.#channels.values()) out.push(...buses)
    return out
  }

  /** @internal */
  _attach(bus: MemoryBus): void {
    let buses = this.#channels.get(bus.channel)
    if (buses === undefined) {
      buses = new Set()
      this.#channels.set(bus.channel, buses)
    }
    buses.add(bus)
  }

  /** @internal */
  _detach(bus: MemoryBus): void {
    const buses = this.#channels.get(bus.channel)
    buses?.delete(bus)
    if (buses?.size === 0) this.#channels.delete(bus.channel)
    this.#partitioned.delete(bus)
  }

  /** @internal Delivers `payload` from `sender` to every other reachable bus on its channel. */
  _send(sender: MemoryBus, payload: string): boolean {
    if (this.#partitioned.has(sender)) return false
    const buses = this.#channels.get(sender.channel)
    if (buses === undefined) return true
    for (const bus of [...buses]) {
      if (bus === sender) continue
      if (this.#delayMs === 0) {
        this.#deliver(bus, payload)
      } else {
        setTimeout(() => this.#deliver(bus, payload), this.#delayMs).unref()
      }
    }
    return true
  }

  #deliver(bus: MemoryBus, payload: string): void {
    if (this.#partitioned.has(bus)) return
    if (this.#channels.get(bus.channel)?.has(bus) !== true) return
    bus._receive(payload)
  }
}

/** The hub buses use when none is given: one per process. */
export const defaultMemoryBusHub = new MemoryBusHub()

/** Options of a {@link MemoryBus}. */
export interface MemoryBusOptions {
  /**
   * The hub this bus exchanges messages through.
   * @default one hub shared by the whole process
   */
  hub?: MemoryBusHub
  /**
   * Buses hear only others on the same channel.
   * @default 'default'
   */
  channel?: string
  /**
   * This bus's id, the `origin` its messages carry.
   * @default 16 random hex characters
   */
  instanceId?: string
}

/**
 * {@link InvalidationBus} inside one process. Trusted from `start()` to `close()`, except while
 * its hub partitions it.
 */
export class MemoryBus implements InvalidationBus {
  readonly instanceId: string
  /** The channel it publishes and listens on. */
  readonly channel: string
  /** The hub it is attached to. */
  readonly hub: MemoryBusHub
  readonly #signals = new BusSignals('not started')
  #seq = 0
  #started = false
  #closed = false

  constructor(options: MemoryBusOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw invalid('options', 'must be an object')
    }
    if (options.hub !== undefined && !(options.hub instanceof MemoryBusHub)) {
      throw invalid('hub', 'must be a MemoryBusHub')
    }
    if (
      options.channel !== undefined &&
      (typeof options.channel !== 'string' || options.channel.length === 0)
    ) {
      throw invalid('channel', 'must be a non-empty string')
    }
    if (
      options.instanceId !== undefined &&
      (typeof options.instanceId !== 'string' || !/^[\x21-\x7e]{1,200}$/.test(options.instanceId))
    ) {
      throw invalid('instanceId', 'must be 1-200 printable ASCII characters without spaces')
    }
    this.hub = options.hub ?? defaultMemoryBusHub
    this.channel = options.channel ?? 'default'
    this.instanceId = options.instanceId ?? nodeCrypto().randomBytes(8).toString('hex')
  }

  get trusted(): boolean {
    return this.#signals.trusted
  }

  get trustReason(): string {
    return this.#signals.reason
  }

  /** Its counters. */
  get stats(): Readonly<BusStats> {
    return this.#signals.stats
  }

  onMessage(handler: BusMessageHandler): () => void {
    return this.#signals.onMessage(handler)
  }

  onTrustChange(handler: BusTrustHandler): () => void {
    return this.#signals.onTrustChange(handler)
  }

  async start(): Promise<void> {
    if (this.#started || this.#closed) return
    this.#started = true
    this.hub._attach(this)
    this.#signals.stats.subscriptions++
    if (this.hub.isPartitioned(this)) this.#signals.lose(PARTITIONED)
    else this.#signals.gain('subscribed')
  }

  publish(message: BusMessage): Promise<boolean> {
    const checked = checkMessage(message)
    if (
      (checked.type === 'delete' && checked.keys.length === 0) ||
      (checked.type === 'tags' && checked.tags.length === 0)
    ) {
      return Promise.resolve(true)
    }
    const payload = encodeMessage({ id: this.instanceId, epoch: '' }, ++this.#seq, checked)
    // A bus that is not started is not attached: it reaches the others all the same (like a
    // RedisBus, which can publish before it subscribes), unless it is closed or partitioned.
    const ok = !this.#closed && this.hub._send(this, payload)
    if (ok) this.#signals.stats.published++
    else this.#signals.stats.publishFailures++
    return Promise.resolve(ok)
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.hub._detach(this)
    this.#signals.reset('closed')
  }

  /** @internal Called by the hub. */
  _receive(payload: string): void {
    if (this.#closed) return
    const frame = decodeFrame(payload)
    if (frame.kind !== 'message') {
      this.#signals.stats.malformed++
      return
    }
    this.#signals.deliver(frame.message, frame.origin)
  }

  /** @internal Called by the hub. */
  _partitioned(cut: boolean): void {
    if (this.#closed) return
    if (cut) this.#signals.lose(PARTITIONED)
    else if (this.#started) this.#signals.gain('partition healed')
  }
}

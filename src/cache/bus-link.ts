import type { EventEmitter } from 'node:events'
import type { BusMessage, BusNotice, InvalidationBus } from '../drivers/bus.js'
import type { Invalidation } from '../drivers/pending-invalidations.js'
import type { CacheEvents } from './events.js'
import { globMatcher } from './glob.js'
import type { KeyWaiters } from './lease.js'
import type { ManagerState } from './manager-wiring.js'
import type { CacheMetrics } from './metrics.js'
import type { TieredStore } from './tiered-store.js'

export interface BusLinkHooks {
  /** Another instance's invalidation was applied here (for the cache's events). */
  remote(message: RemoteInvalidation, removed: number): void
  /** Trust edges, for the cache's `untrusted` / `trusted` events. */
  trust(trusted: boolean, reason: string): void
  error(error: Error, operation: string): void
}

/** What a {@link BusLink} joins. */
export interface BusLinkParts {
  bus: InvalidationBus
  /** The cache's store, read on every message: `initialize()` may replace it. */
  getStore: () => TieredStore
  metrics: CacheMetrics
  /** Lifetime cap of L1 entries while the bus is not trusted (`untrustedLocalTtl`). */
  untrustedTtlMs: number
  /** The bus publishes on the L2's own connection: L2 can publish notices itself. */
  onL2: boolean
  waiters: KeyWaiters
  hooks: BusLinkHooks
}

/**
 * Joins the cache to its invalidation bus: publishes this instance's invalidations, applies other
 * instances' to L1, turns trust edges into an L1 flush (guarantee 4), and wakes fills waiting for
 * another instance's lease holder.
 */
export class BusLink {
  readonly bus: InvalidationBus
  readonly #getStore: () => TieredStore
  readonly #metrics: CacheMetrics
  readonly #untrustedTtlMs: number
  readonly #hooks: BusLinkHooks
  readonly #waiters: KeyWaiters
  readonly #unsubscribe: (() => void)[] = []
  /** Whether the bus was ever subscribed: the first rising edge follows no loss. */
  #everTrusted = false
  /** The bus publishes on the L2's own connection: L2 can publish notices itself. */
  readonly #onL2: boolean

  constructor(parts: BusLinkParts) {
    const { bus, hooks } = parts
    this.bus = bus
    this.#onL2 = parts.onL2
    this.#waiters = parts.waiters
    this.#getStore = parts.getStore
    this.#metrics = parts.metrics
    this.#untrustedTtlMs = parts.untrustedTtlMs
    this.#hooks = hooks
    this.#unsubscribe.push(bus.onMessage((message) => this.#receive(message)))
    this.#unsubscribe.push(
      bus.onTrustChange((trusted, reason) => {
        this.#applyTrust(trusted)
        hooks.trust(trusted, reason)
      }),
    )
    // Until the first subscription is confirmed, other instances' invalidations may be missed.
    this.#applyTrust(bus.trusted)
    bus.start().catch((error: unknown) => hooks.error(error as Error, 'bus.start'))
  }

  get trusted(): boolean {
    return this.bus.trusted
  }

  /**
   * Publishes an invalidation to the other instances. Resolves when the transport accepted it or
   * after `maxWaitMs`, whichever comes first (the publish goes on); never rejects.
   */
  publish(message: BusMessage, maxWaitMs: number): Promise<void> {
    const published = this.bus.publish(message).then((accepted) => {
      if (accepted) this.#metrics.busSent++
      else this.#metrics.errors++
    })
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, maxWaitMs)
      void published.then(() => {
        clearTimeout(timer)
        resolve()
      })
    })
  }

  /**
   * `message` encoded for the L2 to publish with the invalidation it announces (one round trip,
   * published only if applied), when the bus publishes on the L2's own connection and the L2
   * can; `undefined` when the caller must {@link publish} it. The caller counts it in `busSent`
   * once the L2 command carrying it returned.
   */
  noticeFor(message: BusMessage): BusNotice | undefined {
    if (!this.#onL2 || this.#getStore().l2?.publishesNotices !== true) return undefined
    return this.bus.prepareNotice?.(message)
  }

  /** Tells waiting instances that `key` was stored. Fire and forget. */
  announce(key: string): void {
    void this.bus.publish({ type: 'filled', key })
  }

  async close(): Promise<void> {
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe()
    this.#waiters.wakeAll()
    await this.bus.close()
  }

  /** Gives a store that `initialize()` rebuilt the bus's current trust (lifetime cap), no flush. */
  applyTrustTo(store: TieredStore): void {
    if (this.bus.trusted) store.trust(false)
    else store.distrust(this.#untrustedTtlMs, false)
  }

  #applyTrust(trusted: boolean): void {
    const store = this.#getStore()
    if (trusted) {
      store.trust(this.#everTrusted)
      this.#everTrusted = true
    } else {
      store.distrust(this.#untrustedTtlMs, this.#everTrusted)
    }
  }

  #receive(message: BusMessage): void {
    const store = this.#getStore()
    if (message.type === 'filled') {
      this.#waiters.wake(message.key)
      return
    }
    this.#metrics.busReceived++
    switch (message.type) {
      case 'pattern': {
        const pattern =
          message.glob ?? new RegExp(message.regexp?.source ?? '(?!)', message.regexp?.flags)
        const remote: RemoteInvalidation = { type: 'pattern', pattern }
        this.#hooks.remote(remote, applyRemote(store, remote))
        return
      }
      default:
        this.#hooks.remote(message, applyRemote(store, message))
    }
  }
}

/** The bus message announcing an invalidation L2 applied on replay (after an outage). */
export function replayedMessage(invalidation: Invalidation): BusMessage {
  switch (invalidation.kind) {
    case 'keys':
      return { type: 'delete', keys: [...invalidation.keys] }
    case 'tags':
      return { type: 'tags', tags: [...invalidation.tags] }
    case 'pattern':
      return patternMessage(invalidation.pattern)
    case 'clear':
      return { type: 'clear' }
  }
}

/** The bus message for a local pattern invalidation. */
export function patternMessage(pattern: string | RegExp): BusMessage {
  return typeof pattern === 'string'
    ? { type: 'pattern', glob: pattern }
    : { type: 'pattern', regexp: { source: pattern.source, flags: pattern.flags } }
}

/** An invalidation another instance made, as this instance applies it. */
export type RemoteInvalidation =
  | { type: 'delete'; keys: readonly string[] }
  | { type: 'tags'; tags: readonly string[] }
  | { type: 'pattern'; pattern: string | RegExp }
  | { type: 'clear' }

/**
 * Applies another instance's invalidation (it already reached L2) to this L1 and its fences only;
 * returns how many L1 entries it removed.
 */
function applyRemote(store: TieredStore, message: RemoteInvalidation): number {
  const { fence, l1 } = store
  switch (message.type) {
    case 'delete': {
      let removed = 0
      for (const key of message.keys) {
        fence.touchKey(key)
        if (l1?.delete(key)) removed++
      }
      return removed
    }
    case 'tags':
      for (const tag of message.tags) fence.touchTag(tag)
      return l1?.deleteByTags(message.tags) ?? 0
    case 'pattern': {
      // Another instance's RegExp is never run here (its cost could be anything), nor a glob this
      // instance cannot compile: drop every L1 entry instead, which is never stale.
      const matches =
        typeof message.pattern === 'string' ? globOrNothing(message.pattern) : undefined
      if (matches === undefined) return applyRemote(store, { type: 'clear' })
      fence.touchMatching(matches)
      return l1?.deleteWhere(matches) ?? 0
    }
    case 'clear': {
      fence.touchAll()
      const removed = l1?.stats().entries ?? 0
      l1?.clear()
      return removed
    }
  }
}

function globOrNothing(glob: string): ((key: string) => boolean) | undefined {
  try {
    return globMatcher(glob)
  } catch {
    return undefined
  }
}

/**
 * Joins the cache to its invalidation bus (`undefined` when it has none, e.g. without L2): trust
 * edges become `trusted` / `untrusted` events, other instances' invalidations `delete` /
 * `invalidate` events marked `remote`. The store is read from `state` on every message:
 * `initialize()` may replace it.
 */
export function linkBus(state: ManagerState): BusLink | undefined {
  const { setup, options, sink } = state
  const bus = setup.buildBus(options, state.store)
  if (bus === undefined) return undefined
  const { cache, metrics } = sink
  return new BusLink({
    bus,
    getStore: () => state.store,
    metrics,
    untrustedTtlMs: options.untrustedLocalTtlMs,
    onL2: setup.publishesOnL2(bus),
    waiters: sink.waiters,
    hooks: {
      trust: (trusted, reason) => {
        if (!trusted) metrics.busTrustLost++
        if (trusted) sink.log('info', { reason }, 'stratacache: invalidation bus trusted')
        else sink.log('warn', { reason }, 'stratacache: invalidation bus untrusted, L1 flushed')
        cache.emit(trusted ? 'trusted' : 'untrusted', { reason })
      },
      error: (error, operation) => sink.reportError(error, operation),
      remote: (message, removed) => emitRemote(cache, message, removed),
    },
  })
}

/** Re-emits another instance's invalidation as this cache's event, marked `remote`. */
function emitRemote(
  cache: EventEmitter<CacheEvents>,
  message: RemoteInvalidation,
  removed: number,
): void {
  switch (message.type) {
    case 'delete':
      cache.emit('delete', { keys: message.keys, remote: true })
      return
    case 'tags':
      cache.emit('invalidate', { kind: 'tag', tags: message.tags, removed, remote: true })
      return
    case 'pattern':
      cache.emit('invalidate', {
        kind: 'pattern',
        pattern: message.pattern,
        removed,
        remote: true,
      })
      return
    case 'clear':
      cache.emit('invalidate', { kind: 'clear', remote: true })
  }
}

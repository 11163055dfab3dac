import type { EventEmitter } from 'node:events'
import { BusLink, type RemoteInvalidation } from './bus-link.js'
import type { CacheEvents } from './events.js'
import { GetOrCompute, type GetOrComputeSettings } from './get-or-compute.js'
import type { KeyWaiters } from './key-waiters.js'
import type { CacheMetrics } from './metrics.js'
import type { CacheLogger, ResolvedOptions } from './options.js'
import type { TierSetup } from './tier-setup.js'
import type { TieredStore } from './tiered-store.js'

// How `CacheManager` connects its parts (the bus link, the loader) to its own events, counters
// and error reporting: the facade keeps the public methods, the wiring lives here.

/** Where the parts' reports go: the cache's events, counters and error reporting. */
export interface CacheEventSink {
  /** The cache itself, whose events the parts' reports become. */
  readonly cache: EventEmitter<CacheEvents>
  readonly metrics: CacheMetrics
  /** Whether someone listens to `hit` (see {@link watchHitListeners}). */
  emitsHits(): boolean
  reportError(error: Error, operation: string, key?: string): void
  /** Tells the `logger` option, if any. */
  log(level: keyof CacheLogger, fields: object, message: string): void
  /** Fills waiting for another fill's lease, woken by the bus and by this instance's fills. */
  readonly waiters: KeyWaiters
}

/**
 * Hit events cost a little on the hottest path: they are emitted only while someone listens.
 * Calls `listening` whenever that may have changed.
 */
export function watchHitListeners(
  cache: EventEmitter<CacheEvents>,
  listening: (hits: boolean) => void,
): void {
  const untyped = cache as EventEmitter
  untyped.on('newListener', (event: string) => {
    if (event === 'hit') listening(true)
  })
  untyped.on('removeListener', () => {
    listening(cache.listenerCount('hit') > 0)
  })
}

/**
 * Joins the cache to its invalidation bus (`undefined` when it has none, e.g. without L2): trust
 * edges become `trusted` / `untrusted` events, other instances' invalidations `delete` /
 * `invalidate` events marked `remote`. `getStore` is read on every message: `initialize()` may
 * replace the store.
 */
export function linkBus(
  setup: TierSetup,
  options: ResolvedOptions,
  getStore: () => TieredStore,
  sink: CacheEventSink,
): BusLink | undefined {
  const bus = setup.buildBus(options, getStore())
  if (bus === undefined) return undefined
  const { cache, metrics } = sink
  return new BusLink(
    bus,
    getStore,
    metrics,
    options.untrustedLocalTtlMs,
    setup.publishesOnL2(bus),
    sink.waiters,
    {
      trust: (trusted, reason) => {
        if (!trusted) metrics.busTrustLost++
        if (trusted) sink.log('info', { reason }, 'stratacache: invalidation bus trusted')
        else sink.log('warn', { reason }, 'stratacache: invalidation bus untrusted, L1 flushed')
        cache.emit(trusted ? 'trusted' : 'untrusted', { reason })
      },
      error: (error, operation) => sink.reportError(error, operation),
      remote: (message, removed) => emitRemote(cache, message, removed),
    },
  )
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

/**
 * The loader's settings from the cache's options. Fills announce and wait through the current
 * bus link (`getLink`: `initialize()` may replace it); without one, a waiter just sleeps.
 */
export function loaderSettings(
  options: ResolvedOptions,
  getLink: () => BusLink | undefined,
  waiters: KeyWaiters,
): GetOrComputeSettings {
  const o = options
  return {
    leaseMs: o.leaseMs,
    fenceWindowMs: o.fenceWindowMs,
    earlyRefreshBeta: o.earlyRefreshBeta,
    strict: o.strict,
    announce: (key) => {
      getLink()?.announce(key)
      waiters.wake(key)
    },
    released: (key) => waiters.wake(key),
    waitForAnnounce: (key, ms) => waiters.wait(key, ms),
  }
}

/** The `getOrCompute` engine, reporting hits, misses and errors as the cache's events. */
export function newLoader(
  store: TieredStore,
  settings: GetOrComputeSettings,
  sink: CacheEventSink,
): GetOrCompute {
  const { cache } = sink
  return new GetOrCompute(
    store,
    sink.metrics,
    {
      hit: (key, tier, stale) => {
        if (sink.emitsHits()) cache.emit('hit', { key, tier, stale })
      },
      miss: (key) => cache.emit('miss', { key }),
      error: (error, operation, key) => sink.reportError(error, operation, key),
    },
    settings,
  )
}

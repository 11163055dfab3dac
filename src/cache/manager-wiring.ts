import type { EventEmitter } from 'node:events'
import type { Invalidation } from '../drivers/pending-invalidations.js'
import { StrataCacheError } from '../errors.js'
import { type BusLink, linkBus, replayedMessage } from './bus-link.js'
import type { CacheEvents } from './events.js'
import { GetOrCompute, type GetOrComputeSettings } from './get-or-compute.js'
import { KeyWaiters } from './lease.js'
import { CacheMetrics } from './metrics.js'
import { NativeOps } from './native-ops.js'
import type { CacheLogger, CacheOptions, ResolvedOptions } from './options.js'
import { sampleRoundTrip } from './store-types.js'
import { announceTopologyLimits, type TierHooks, TierSetup, topologyLimits } from './tier-setup.js'
import type { TieredStore } from './tiered-store.js'

// How `CacheManager` builds its parts (the tiers, the bus link, the loader) and connects them to
// its own events, counters and error reporting: the facade keeps the public methods, the wiring
// lives here.

/**
 * What a cache's parts share. `initialize()` replaces the options, the store and what is built on
 * them (the bus link, the native operations); the loader and the counters carry over.
 */
export interface ManagerState {
  options: ResolvedOptions
  store: TieredStore
  link: BusLink | undefined
  readonly loader: GetOrCompute
  native: NativeOps
  closed: boolean
  readonly metrics: CacheMetrics
  readonly setup: TierSetup
  readonly sink: CacheEventSink
}

/** Where the parts' reports go: the cache's events, counters and error reporting. */
export interface CacheEventSink {
  /** The cache itself, whose events the parts' reports become. */
  readonly cache: EventEmitter<CacheEvents>
  readonly metrics: CacheMetrics
  /** Whether someone listens to `hit` (see {@link watchHitListeners}). */
  emitHits: boolean
  reportError(error: Error, operation: string, key?: string): void
  /** Tells the `logger` option, if any. */
  log(level: keyof CacheLogger, fields: object, message: string): void
  /** Fills waiting for another fill's lease, woken by the bus and by this instance's fills. */
  readonly waiters: KeyWaiters
}

/** Builds the parts of `cache` from the options it was given. */
export function newState(
  cache: EventEmitter<CacheEvents>,
  baseOptions: CacheOptions,
): ManagerState {
  const metrics = new CacheMetrics()
  let state: ManagerState | undefined
  const sink = newSink(cache, metrics, () => state?.options.logger)
  const setup = new TierSetup(
    metrics,
    tierHooks(sink, () => state!),
  )
  const options = setup.resolve(baseOptions)
  const store = setup.build(options)
  const loader = newLoader(
    store,
    loaderSettings(options, () => state?.link, sink.waiters),
    sink,
  )
  const built: ManagerState = {
    options,
    store,
    link: undefined,
    loader,
    native: new NativeOps(store),
    closed: false,
    metrics,
    setup,
    sink,
  }
  state = built
  announceTopologyLimits(
    topologyLimits(options, store),
    options.logger && ((message) => sink.log('warn', {}, message)),
  )
  built.link = linkBus(built)
  watchHitListeners(cache, (hits) => {
    sink.emitHits = hits
  })
  void sampleServerClock(store)
  return built
}

/**
 * `initialize()`: re-applies options relative to the constructor's (`base`), so that presets can
 * be switched back and forth. Tiers whose settings did not change keep their contents.
 */
export function reconfigure(state: ManagerState, options: CacheOptions, base: CacheOptions): void {
  const resolved = state.setup.resolve(options, base)
  const before = state.store
  const busChanged = resolved.bus !== state.options.bus
  state.store = state.setup.rebuild(before, state.options, resolved)
  state.options = resolved
  // A bus rides on the L2 client (or is the one given): a new L2 or a new bus needs a new link.
  if (state.store.l2 !== before.l2 || busChanged) {
    const old = state.link
    old?.close().catch((error: unknown) => state.sink.reportError(error as Error, 'bus.close'))
    state.link = linkBus(state)
  } else {
    state.link?.applyTrustTo(state.store)
  }
  state.loader.useStore(state.store)
  state.loader.useSettings(loaderSettings(resolved, () => state.link, state.sink.waiters))
  state.native = new NativeOps(state.store)
}

/** Throws `ERR_CLOSED` once the cache was closed. */
export function assertOpen(state: ManagerState): void {
  if (state.closed) throw new StrataCacheError('ERR_CLOSED', 'the cache was closed')
}

function newSink(
  cache: EventEmitter<CacheEvents>,
  metrics: CacheMetrics,
  logger: () => CacheLogger | undefined,
): CacheEventSink {
  // A logger that throws must not break a cache call.
  const log = (level: keyof CacheLogger, fields: object, message: string): void => {
    const current = logger()
    if (current === undefined) return
    try {
      current[level]?.(fields, message)
    } catch {
      // The application's logger is its own business.
    }
  }
  return {
    cache,
    metrics,
    emitHits: false,
    reportError: (error, operation, key) => {
      metrics.errors++
      log(
        'error',
        { err: error, operation, key },
        `stratacache: ${operation} failed: ${error.message}`,
      )
      // An 'error' event with no listener would throw (EventEmitter semantics): absorb instead.
      if (cache.listenerCount('error') > 0) cache.emit('error', { error, operation, key })
    },
    log,
    waiters: new KeyWaiters(),
  }
}

/** The tiers' reports: errors, Redis bypassed and back, invalidations replayed after an outage. */
function tierHooks(sink: CacheEventSink, current: () => ManagerState): TierHooks {
  const { cache } = sink
  return {
    error: (error, operation, key) => sink.reportError(error, operation, key),
    degraded: (reason) => {
      sink.log('warn', { reason }, 'stratacache: Redis bypassed, reads come from L1 and loaders')
      cache.emit('degraded', { reason })
    },
    recovered: () => {
      sink.log('info', {}, 'stratacache: Redis in use again, missed invalidations replayed')
      cache.emit('recovered', {})
    },
    // Replayed to L2 alone: the notice made with it was lost with the outage, and the other
    // instances may have reloaded the old value from L2 meanwhile. A clear (what Redis lost is
    // unknown: it evicted keys) drops this instance's L1 too, which may hold what it lost.
    replayed: (invalidation: Invalidation) => {
      const state = current()
      if (invalidation.kind === 'clear') state.store.dropL1()
      void state.link?.publish(replayedMessage(invalidation), state.options.commandTimeoutMs)
    },
  }
}

/**
 * Hit events cost a little on the hottest path: they are emitted only while someone listens.
 * Calls `listening` whenever that may have changed.
 */
function watchHitListeners(
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
 * The loader's settings from the cache's options. Fills announce and wait through the current
 * bus link (`getLink`: `initialize()` may replace it); without one, a waiter just sleeps.
 */
function loaderSettings(
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
function newLoader(
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
        if (sink.emitHits) cache.emit('hit', { key, tier, stale })
      },
      miss: (key) => cache.emit('miss', { key }),
      error: (error, operation, key) => sink.reportError(error, operation, key),
    },
    settings,
  )
}

/**
 * One sample of the servers' clock as the cache starts, so that its first writes already measure
 * freshness on it (fills refine it later; see `store-types.ts`).
 */
async function sampleServerClock(store: TieredStore): Promise<void> {
  const coordination = store.l2?.coordination
  if (coordination !== undefined)
    await sampleRoundTrip(
      () => coordination.serverTime(),
      (ms) => ms,
    )
}

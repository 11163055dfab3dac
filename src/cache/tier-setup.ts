import type { InvalidationBus } from '../drivers/bus.js'
import { L2Timing } from '../drivers/l2-calls.js'
import type { L2Driver } from '../drivers/l2-driver.js'
import type { Invalidation } from '../drivers/pending-invalidations.js'
import { RedisBus } from '../drivers/redis-bus.js'
import { isClusterConfig } from '../drivers/redis-cluster-client.js'
import { RedisDriver } from '../drivers/redis-driver.js'
import { ResilientL2 } from '../drivers/resilient-l2.js'
import { UpstashDriver } from '../drivers/upstash-driver.js'
import { ErrorCodes, type L2Error } from '../errors.js'
import { FillFence } from './fill-fence.js'
import { L1Store } from './l1-store.js'
import type { CacheMetrics } from './metrics.js'
import type { CacheOptions, ResolvedOptions } from './options.js'
import { resolveOptions } from './resolve-options.js'
import { TieredStore } from './tiered-store.js'

export interface TierHooks {
  error(error: Error, operation: string, key?: string): void
  degraded(reason: string): void
  recovered(): void
  /** An invalidation L2 missed reached it on recovery: other instances' L1 copies need it too. */
  replayed(invalidation: Invalidation): void
}

/**
 * Builds the tiers from resolved options, and rebuilds only what changed when `initialize()`
 * applies new options (a preset that keeps Redis keeps its connection and its contents).
 */
export class TierSetup {
  readonly #onL2Client = new WeakSet<InvalidationBus>()
  degraded = false
  /** Observers of L2 call durations; shared by every L2 built here, so they outlive `initialize()`. */
  readonly l2Timing = new L2Timing()
  readonly #metrics: CacheMetrics
  readonly #hooks: TierHooks

  constructor(metrics: CacheMetrics, hooks: TierHooks) {
    this.#metrics = metrics
    this.#hooks = hooks
  }

  resolve(options: CacheOptions, base?: CacheOptions): ResolvedOptions {
    return resolveOptions(options, base)
  }

  build(options: ResolvedOptions): TieredStore {
    return capWithoutBus(
      new TieredStore(
        this.#buildL1(options),
        this.#buildL2(options),
        this.#metrics,
        this.#storeOptions(options),
        new FillFence({ maxAgeMs: options.fenceWindowMs }),
      ),
      options,
    )
  }

  /** A store for `next`, reusing the tiers of `current` whose settings are unchanged. */
  rebuild(current: TieredStore, before: ResolvedOptions, next: ResolvedOptions): TieredStore {
    const sameL1 = JSON.stringify(before.local) === JSON.stringify(next.local)
    const sameL2 =
      before.redis === next.redis &&
      JSON.stringify(before.upstash) === JSON.stringify(next.upstash) &&
      before.l2 === next.l2 &&
      before.prefix === next.prefix &&
      before.commandTimeoutMs === next.commandTimeoutMs &&
      JSON.stringify(before.breaker) === JSON.stringify(next.breaker)
    const l1 = sameL1 ? current.l1 : this.#buildL1(next)
    if (!sameL1) current.l1?.clear()
    const l2 = sameL2 ? current.l2 : this.#buildL2(next)
    if (!sameL2 && current.l2 !== undefined) {
      const old = current.l2
      this.degraded = false
      old.close().catch((error: unknown) => this.#hooks.error(error as Error, 'close'))
    }
    // The fence carries over: fills running across initialize() stay fenced.
    const store = new TieredStore(l1, l2, this.#metrics, this.#storeOptions(next), current.fence)
    return capWithoutBus(store, next)
  }

  /**
   * The invalidation bus for `store`'s L2: the one given in the options, or Redis pub/sub on the
   * L2's own client (a standalone Redis whose driver we know). `undefined` without L2.
   */
  buildBus(options: ResolvedOptions, store: TieredStore): InvalidationBus | undefined {
    if (options.bus === false) return undefined
    if (isBusObject(options.bus)) return options.bus
    const l2 = store.l2
    if (!(l2 instanceof ResilientL2) || !(l2.driver instanceof RedisDriver)) return undefined
    // Pub/sub channels are server-wide, databases are not: caches with one prefix in two
    // databases (staging and production on one server) must not hear each other.
    const db = (l2.driver.client.options as { db?: number } | undefined)?.db ?? 0
    const bus = new RedisBus({
      client: l2.driver.client,
      channel: `${options.prefix}__sc:bus${db === 0 ? '' : `:db${db}`}`,
      heartbeatMs: options.bus.heartbeatMs,
    })
    this.#onL2Client.add(bus)
    return bus
  }

  /**
   * Whether `bus` publishes on the L2's own connection (one this setup built), so that the L2 may
   * publish its notices itself, in the command that applies the invalidation.
   */
  publishesOnL2(bus: InvalidationBus): boolean {
    return this.#onL2Client.has(bus)
  }

  async close(store: TieredStore): Promise<void> {
    store.l1?.clear()
    await store.l2?.close()
  }

  #storeOptions(options: ResolvedOptions) {
    return {
      compressionThreshold: options.compressionThreshold,
      maxValueBytes: options.maxValueBytes,
      shareReferences: options.local !== false && options.local.shareReferences,
      localTtlMs: options.local === false ? undefined : options.local.ttlMs,
      strict: options.strict,
      onError: this.#hooks.error,
    }
  }

  #buildL1(options: ResolvedOptions): L1Store | undefined {
    if (options.local === false) return undefined
    return new L1Store({ maxEntries: options.local.maxEntries, maxBytes: options.local.maxBytes })
  }

  #buildL2(options: ResolvedOptions): ResilientL2 | undefined {
    const driver = options.l2 ?? this.#redisDriver(options)
    if (driver === undefined) return undefined
    return new ResilientL2(
      driver,
      {
        commandTimeoutMs: options.commandTimeoutMs,
        breaker: options.breaker,
        maxPendingInvalidations: options.maxPendingInvalidations,
        // Strict: a write waits (bounded) for Redis to take its invalidation rather than be
        // acknowledged with it only queued, which other instances could not see.
        ...(options.strict ? { settleMs: Math.max(1000, 4 * options.commandTimeoutMs) } : {}),
      },
      {
        onError: (error: L2Error) => {
          if (error.code === ErrorCodes.L2_TIMEOUT) this.#metrics.l2Timeouts++
          this.#hooks.error(error, error.operation)
        },
        onDegraded: (reason: string) => {
          this.degraded = true
          this.#hooks.degraded(reason)
        },
        onRecovered: () => {
          this.degraded = false
          this.#hooks.recovered()
        },
        onReplayed: (invalidation: Invalidation) => this.#hooks.replayed(invalidation),
        timing: this.l2Timing,
      },
    )
  }

  #redisDriver(options: ResolvedOptions): L2Driver | undefined {
    if (options.upstash !== undefined) {
      return new UpstashDriver({
        ...options.upstash,
        prefix: options.prefix,
        // ResilientL2 gives up on a call after commandTimeout (ERR_L2_TIMEOUT, as on Redis); the
        // request itself is aborted later, so that none outlives its caller for long.
        commandTimeoutMs: Math.ceil(options.commandTimeoutMs * 2),
        fenceWindowMs: options.fenceWindowMs,
      })
    }
    const redis = options.redis
    if (redis === false) return undefined
    // clockSkewMs is read on a Cluster only (a client given may be one).
    const common = {
      prefix: options.prefix,
      fenceWindowMs: options.fenceWindowMs,
      clockSkewMs: options.clockSkewMs,
    }
    if (typeof redis === 'string') return new RedisDriver({ url: redis, ...common })
    if (isClusterConfig(redis)) return new RedisDriver({ ...redis, ...common })
    if (typeof (redis as { sendCommand?: unknown }).sendCommand === 'function') {
      return new RedisDriver({ client: redis as never, ...common })
    }
    return new RedisDriver({ options: redis as never, ...common })
  }
}

/**
 * Without an invalidation bus, nothing tells L1 of another instance's writes: on Upstash (no bus
 * over REST) L1 entries then live at most `untrustedLocalTtl`, as while a bus is down, which
 * bounds how long this instance serves a value another instance replaced or deleted. Strict mode
 * checks each L1 hit against L2 instead, and a bus object given in the options lifts the cap
 * (its trust then decides, as with Redis).
 */
function capWithoutBus(store: TieredStore, options: ResolvedOptions): TieredStore {
  const l2 = store.l2
  const busless = l2 instanceof ResilientL2 && l2.driver instanceof UpstashDriver
  if (busless && !options.strict && !isBusObject(options.bus)) {
    store.distrust(options.untrustedLocalTtlMs, false)
  }
  return store
}

/** Whether the `bus` option is a bus object of the application's own (not `false` or settings). */
export function isBusObject(bus: ResolvedOptions['bus']): bus is InvalidationBus {
  return typeof (bus as InvalidationBus).publish === 'function'
}

/**
 * The longest failover measured here (a master SIGKILLed: Sentinel and Cluster promote a replica
 * in 2.2 to 3.7 s). A strict write waits at most `max(1 s, 4 × commandTimeout)` for Redis to take
 * its invalidation; a shorter wait can let a failover outlast it.
 */
const FAILOVER_MS = 4_000

/**
 * What this cache's topology cannot keep of the guarantees, in words for a log: said once at
 * start, loudly, rather than found out under a fault. Empty on a standalone Redis or memory only.
 */
export function topologyLimits(options: ResolvedOptions, store: TieredStore): string[] {
  const l2 = store.l2
  if (!(l2 instanceof ResilientL2)) return []
  const driver = l2.driver
  const limits: string[] = []
  if (driver instanceof UpstashDriver) {
    if (!options.strict && !isBusObject(options.bus)) {
      limits.push(
        `Upstash has no invalidation bus: another instance's write reaches this L1 only when its entry expires (at most untrustedLocalTtl, ${options.untrustedLocalTtlMs} ms); use consistency: 'strict' for none`,
      )
    }
    limits.push(
      'Upstash: a server that lost acknowledged writes (failover, restart) or evicts keys is not detected; keep eviction off (noeviction) on that database',
    )
    return limits
  }
  if (!(driver instanceof RedisDriver)) return limits
  const client = driver.client as { isCluster?: boolean; options?: { sentinels?: unknown } }
  const topology =
    client.isCluster === true ? 'Redis Cluster' : client.options?.sentinels ? 'Sentinel' : undefined
  if (topology === undefined) return limits
  const strictWaitMs = Math.max(1_000, 4 * options.commandTimeoutMs)
  if (options.strict && strictWaitMs < FAILOVER_MS) {
    limits.push(
      `${topology}: strict writes wait at most ${strictWaitMs} ms for Redis, less than a failover takes (about ${FAILOVER_MS} ms after a master dies): reads may be stale during one; raise commandTimeout to ${FAILOVER_MS / 4} ms or more`,
    )
  }
  if (topology === 'Redis Cluster') {
    limits.push(
      `Redis Cluster: fills are fenced against tag invalidations on other nodes only if the nodes' clocks are within clockSkew (${options.clockSkewMs} ms) of each other`,
    )
  }
  return limits
}

/** Limits already told to the process's warnings: each once, however many caches are made. */
const warned = new Set<string>()

/**
 * Says each limit: to `log` (the `logger` option) when there is one, every time; otherwise as a
 * process warning (code `STRATACACHE_TOPOLOGY`), once per process.
 */
export function announceTopologyLimits(
  limits: readonly string[],
  log: ((message: string) => void) | undefined,
): void {
  for (const limit of limits) {
    const message = `stratacache: ${limit}`
    if (log !== undefined) log(message)
    else if (!warned.has(message)) {
      warned.add(message)
      process.emitWarning(message, { code: 'STRATACACHE_TOPOLOGY' })
    }
  }
}

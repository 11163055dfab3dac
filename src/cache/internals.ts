import type { L2CallObserver } from '../drivers/l2-calls.js'
import type { ComputeInfo, ComputePlan } from './call-options.js'
import { type Loaded, type PlanDefaults, unwrapLoaded } from './call-options.js'
import { assertOpen, type ManagerState } from './manager-wiring.js'
import type { CacheLogger } from './options.js'
import { MISS } from './store-types.js'

/**
 * What stratacache's own upper layers (the Prisma extension) use of a cache beyond its public
 * methods: `getOrCompute` with a plan they built and validated once, reporting how each call was
 * answered. Not part of the public API.
 */
export interface CacheInternals {
  /**
   * `getOrCompute` without per-call validation; `info` says hit, swr or miss afterwards.
   * `compute` may return its value marked (`call-options.ts`): local-only, or with tags of its own.
   */
  compute<T>(
    key: string,
    compute: () => T | Loaded<T> | Promise<T | Loaded<T>>,
    plan: ComputePlan,
    info: ComputeInfo,
  ): Promise<T>
  /**
   * The fresh L1 value of `key` now, or `MISS` (`store-types.ts`) when `compute` must be asked:
   * the synchronous first step of `compute`, for hot paths that skip its promise on a hit.
   */
  tryL1(key: string, compute: () => unknown, plan: ComputePlan, info: ComputeInfo): unknown
  /**
   * `invalidateByTag` for writes that must be seen by this process's later reads (read-your-
   * writes) but need not wait for Redis's reply: resolves once L1 is invalidated and the L2
   * invalidation is sent ahead of any later command, when L2 applies calls in order and the
   * cache is not strict (other instances' strict reads must find it applied); otherwise once it
   * is applied. Tags are not validated.
   */
  invalidate(tags: readonly string[]): Promise<void>
  /**
   * `invalidateByTag`, resolving to whether Redis took it now: `false` while Redis is bypassed
   * (the invalidation is then queued for replay, and its bus notice lost). `true` without Redis.
   * For callers that must not forget an invalidation until Redis has it (the change feed).
   */
  invalidateApplied(tags: readonly string[]): Promise<boolean>
  /** Whether the cache is strict now: its invalidations wait (bounded) for L2 to take them. */
  strict(): boolean
  /** `GetOrCompute.replace`: loads and stores in place of any stored value, fenced (warming). */
  replace(
    key: string,
    compute: () => unknown,
    plan: ComputePlan,
  ): Promise<{ value: unknown; stored: boolean }>
  /** The cache's current default TTL and L1 cap (they change with `initialize()`). */
  planDefaults(): PlanDefaults
  /** Longest key the cache accepts. */
  maxKeyLength(): number
  /**
   * Calls `observer` with the duration (ms) of every Redis call from now on, by operation (`get`,
   * `setMany`, `beginFill`...), also across `initialize()`. Calls are timed only while an
   * observer is added (two clock reads per call). Returns the function that removes it.
   */
  observeL2(observer: L2CallObserver): () => void
  /** The `logger` option, as now (an `initialize()` may change it). */
  logger(): CacheLogger | undefined
}

const RESOLVED: Promise<void> = Promise.resolve()

/**
 * The {@link CacheInternals} of the cache whose parts are `state`; `invalidateByTag` is its public
 * method (traced like any other call).
 */
export function newInternals(
  state: ManagerState,
  invalidateByTag: (tags: readonly string[]) => Promise<void>,
): CacheInternals {
  return {
    compute: (key, compute, plan, info) => {
      assertOpen(state)
      if (!state.options.enabled) return Promise.resolve(compute()).then(withoutMark<never>)
      return state.loader.run(key, compute as () => never, plan, info)
    },
    tryL1: (key, compute, plan, info) => {
      assertOpen(state)
      if (!state.options.enabled) return MISS
      return state.loader.tryL1(key, compute, plan, info)
    },
    invalidate: (tags) => {
      const applied = invalidateByTag(tags)
      if (state.options.strict || state.store.l2?.ordered !== true) return applied
      applied.catch((error: unknown) => state.sink.reportError(error as Error, 'invalidateByTag'))
      return RESOLVED
    },
    invalidateApplied: async (tags) => {
      if (state.setup.degraded) {
        await invalidateByTag(tags)
        return false
      }
      await invalidateByTag(tags)
      return !state.setup.degraded
    },
    strict: () => state.options.strict,
    replace: (key, compute, plan) => {
      assertOpen(state)
      if (!state.options.enabled) {
        return Promise.resolve(compute()).then((value) => ({
          value: withoutMark(value),
          stored: false,
        }))
      }
      return state.loader.replace(key, compute, plan)
    },
    planDefaults: () => state.options,
    maxKeyLength: () => state.options.maxKeyLength,
    observeL2: (observer) => state.setup.l2Timing.add(observer),
    logger: () => state.options.logger,
  }
}

/** A loaded value without its local-only mark (a disabled cache stores nothing anyway). */
export function withoutMark<T>(loaded: unknown): T {
  return unwrapLoaded(loaded).value as T
}

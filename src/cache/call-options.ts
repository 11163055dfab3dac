import { invalid, LoaderTimeoutError } from '../errors.js'
import type { Tier } from './events.js'
import type { ResolvedOptions } from './options.js'
import type { StorePlan } from './store-types.js'
import { cacheNow } from './store-types.js'
import {
  assertOptionsObject,
  type Duration,
  normalizeTags,
  toMs,
  ttlOrDefault,
} from './validate.js'

/** Options of {@link CacheManager.set}. */
export interface SetOptions {
  /**
   * Lifetime of the entry.
   * @default the cache's `ttl`
   */
  ttl?: Duration
  /** Labels for {@link CacheManager.invalidateByTag}. */
  tags?: string | readonly string[]
  /**
   * Shorter lifetime in this process's L1 only.
   * @default the entry's lifetime (capped by `local.ttl`)
   */
  localTtl?: Duration
}

/** Options of {@link CacheManager.getOrCompute}. */
export interface GetOrComputeOptions extends SetOptions {
  /**
   * Serve a stale value this long past expiry while one background refresh runs. An entry written
   * by `getOrCompute` is kept `max(staleWhileRevalidate, staleIfError)` past its TTL in both tiers,
   * so that it can be served stale.
   * @default 0
   */
  staleWhileRevalidate?: Duration
  /**
   * Serve a stale value this long past expiry when the loader throws; `true` means 1 h.
   * @default 0
   */
  staleIfError?: Duration | boolean
  /**
   * Stop waiting for the loader after this long: stale value if allowed, else `ERR_LOADER_TIMEOUT`.
   * @default no limit
   */
  timeout?: Duration
}

/** One item of {@link CacheManager.setBatch}. */
export interface BatchItem<T = unknown> {
  /** The key to write. */
  key: string
  /** The value to cache. */
  value: T
  /**
   * This item's lifetime.
   * @default the cache's `ttl`
   */
  ttl?: Duration
}

/** What `getOrCompute` resolved, in ms, after validation. */
export interface ComputePlan extends StorePlan {
  /** Serve a stale value this long past expiry while one background refresh runs. */
  swrMs: number
  /** Serve a stale value this long past expiry when the loader throws or times out. */
  staleIfErrorMs: number
  /** Give up waiting for the loader after this long (the load itself goes on and still fills). */
  timeoutMs: number | undefined
  /**
   * Whether a loaded value may be stored; `undefined` stores everything. A value refused is
   * handed to the callers that waited for it and kept nowhere (the Prisma layer refuses a
   * `findUnique` that found nothing, so that creating the record needs no invalidation).
   */
  storeIf: ((value: unknown) => boolean) | undefined
}

/**
 * How a `getOrCompute` call was answered, filled in by `GetOrCompute.run` when asked (for
 * Prisma's `withCacheInfo()`): the caller sets `status: 'miss'` and the run overwrites it on a hit.
 */
export interface ComputeInfo {
  /** `hit`: a fresh value; `swr`: a stale one (while revalidating, or as stale-if-error). */
  status: 'hit' | 'swr' | 'miss'
  /** The tier that answered a hit. */
  tier: Tier | undefined
}

/** The cache-wide settings a per-call plan falls back on. */
export type PlanDefaults = Pick<ResolvedOptions, 'ttlMs' | 'local'>

/** `staleIfError: true` allows serving a value up to this long past its expiry. */
export const STALE_IF_ERROR_DEFAULT_MS = 3_600_000

/** Validates per-call write options and resolves them to milliseconds. */
export function planWrite(
  options: SetOptions | undefined,
  defaults: PlanDefaults,
  ttlField = 'ttl',
): StorePlan {
  assertOptionsObject(options, 'options')
  const ttlMs = ttlOrDefault(options?.ttl, defaults.ttlMs, ttlField)
  const localTtlMs =
    options?.localTtl === undefined
      ? defaults.local === false
        ? undefined
        : defaults.local.ttlMs
      : ttlOrDefault(options.localTtl, ttlMs, 'localTtl')
  return { ttlMs, staleMs: 0, localTtlMs, tags: normalizeTags(options?.tags) }
}

/** Validates `getOrCompute` options; the entry is kept `max(swr, staleIfError)` past its expiry. */
export function planCompute(
  options: GetOrComputeOptions | undefined,
  defaults: PlanDefaults,
): ComputePlan {
  const write = planWrite(options, defaults)
  const swrMs =
    options?.staleWhileRevalidate === undefined
      ? 0
      : toMs(options.staleWhileRevalidate, 'staleWhileRevalidate')
  const sie = options?.staleIfError
  let staleIfErrorMs = 0
  if (sie === true) staleIfErrorMs = STALE_IF_ERROR_DEFAULT_MS
  else if (sie !== undefined && sie !== false) staleIfErrorMs = toMs(sie, 'staleIfError')
  let timeoutMs: number | undefined
  if (options?.timeout !== undefined) {
    timeoutMs = toMs(options.timeout, 'timeout')
    if (timeoutMs === 0) throw invalid('timeout', 'must be greater than 0')
  }
  // Written out field by field: a spread plus extra fields costs microseconds on V8 11 (Node 20),
  // and this runs on every getOrCompute, hits included.
  return {
    ttlMs: write.ttlMs,
    staleMs: Math.max(swrMs, staleIfErrorMs),
    localTtlMs: write.localTtlMs,
    tags: write.tags,
    swrMs,
    staleIfErrorMs,
    timeoutMs,
    storeIf: undefined,
  }
}

/** Whether a value fresh until `freshUntil` is within the plan's stale-while-revalidate window. */
export function withinSwr(plan: ComputePlan, freshUntil: number): boolean {
  return plan.swrMs > 0 && cacheNow() - freshUntil <= plan.swrMs
}

/** Whether a value fresh until `freshUntil` may stand in for a loader that failed. */
export function withinStaleIfError(plan: ComputePlan, freshUntil: number): boolean {
  return plan.staleIfErrorMs > 0 && cacheNow() - freshUntil <= plan.staleIfErrorMs
}

/** `promise` bounded by the plan's timeout: `ERR_LOADER_TIMEOUT` (for `key`) past it. */
export function bounded<T>(promise: Promise<T>, key: string, plan: ComputePlan): Promise<T> {
  const timeoutMs = plan.timeoutMs
  if (timeoutMs === undefined) return promise
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new LoaderTimeoutError(key, timeoutMs)), timeoutMs)
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(error)
      },
    )
  })
}

/**
 * What a loader may hand `getOrCompute` instead of a bare value: the value, plus how the cache is
 * to keep it. Callers always get the value itself.
 *
 * - `localOnly`: keep it in this process (L1), never in L2, where other instances would take it
 *   as theirs. For values read from a source they must not trust, such as a read replica that may
 *   lag behind a write another instance made and this one has not heard of. Fenced by what this
 *   process knows when the load ends (its own invalidations, and the notices of others that have
 *   arrived), not by Redis's versions: another instance's invalidation whose notice is still on
 *   its way removes the value when the notice arrives, as it does any L1 copy (the bus's bound).
 *   Strict mode never serves it without asking Redis.
 * - `tags`: tags known only once the value is loaded (the rows a query returned), added to the
 *   plan's own. The fill is fenced on them too: an invalidation of one of them while the loader
 *   ran keeps the value out of the cache.
 */
export class Loaded<T = unknown> {
  constructor(
    readonly value: T,
    readonly localOnly: boolean,
    readonly tags: readonly string[],
  ) {}
}

const NO_TAGS: readonly string[] = []

/**
 * Marks a loaded value as local-only (see {@link Loaded}).
 *
 * @example
 * ```ts
 * await cache.getOrCompute(key, async () => localOnly(await readFromReplica()))
 * ```
 */
export function localOnly<T>(value: T): Loaded<T> {
  return new Loaded(value, true, NO_TAGS)
}

/** A loaded value with `tags` beyond the plan's, kept local-only when `local` (see {@link Loaded}). */
export function loaded<T>(value: T, tags: readonly string[], local = false): Loaded<T> {
  return new Loaded(value, local, tags)
}

/** What a loader returned, without its mark: the value, whether it is local-only, its own tags. */
export function unwrapLoaded(result: unknown): Loaded {
  return result instanceof Loaded ? result : new Loaded(result, false, NO_TAGS)
}

/** `plan` with `extra` tags (the loader's) added, the plan itself when there are none. */
export function withTags<P extends StorePlan>(plan: P, extra: readonly string[]): P {
  if (extra.length === 0) return plan
  const tags = new Set(plan.tags)
  for (const tag of extra) tags.add(tag)
  return { ...plan, tags: [...tags] }
}

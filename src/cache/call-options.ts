import type { Duration } from './duration.js'

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

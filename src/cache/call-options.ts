import type { Duration } from './duration.js'

/** Options of {@link CacheManager.set}. */
export interface SetOptions {
  /** Lifetime of the entry. Default: the cache's `ttl`. */
  ttl?: Duration
  /** Labels for {@link CacheManager.invalidateByTag}. */
  tags?: string | readonly string[]
  /** Shorter lifetime in this process's L1 only. */
  localTtl?: Duration
}

/** Options of {@link CacheManager.getOrCompute}. */
export interface GetOrComputeOptions extends SetOptions {
  /** Serve a stale value this long past expiry while one background refresh runs. */
  staleWhileRevalidate?: Duration
  /** Serve a stale value this long past expiry when the loader throws; `true` = 1 h. */
  staleIfError?: Duration | boolean
  /** Stop waiting for the loader after this long: stale value if allowed, else `ERR_LOADER_TIMEOUT`. */
  timeout?: Duration
}

/** One item of {@link CacheManager.setBatch}. */
export interface BatchItem<T = unknown> {
  key: string
  value: T
  ttl?: Duration
}

/** What `withCacheInfo()` reports about one query. */
export interface CacheInfo {
  /**
   * `hit`: a fresh cached result; `swr`: a stale one, served while it is refreshed; `miss`: the
   * database was queried (and the result cached when cacheable); `none`: the cache was not used
   * (`cacheStrategy: false`, a model not cached, inside a transaction, caching disabled).
   */
  cacheStatus: 'hit' | 'swr' | 'miss' | 'none'
  /** The tier that answered a hit: `l1` (this process) or `l2` (Redis). */
  tier: 'l1' | 'l2' | undefined
  /** The cache key of the query, when it was cacheable. */
  key: string | undefined
  /** Seconds the result stays fresh, when cached. */
  ttl: number | undefined
  /** The tags the entry carries (model, record and your own), when cacheable. */
  tags: readonly string[] | undefined
  /** Time the call took, in ms. */
  durationMs: number
}

/** A fresh info block: `none` until the read path says otherwise. */
export function newCacheInfo(): CacheInfo {
  return {
    cacheStatus: 'none',
    tier: undefined,
    key: undefined,
    ttl: undefined,
    tags: undefined,
    durationMs: 0,
  }
}

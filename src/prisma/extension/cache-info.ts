import { randomUUID } from 'node:crypto'

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

/**
 * What Prisma Accelerate's `withAccelerateInfo()` reports, for code written for it: `ttl` is a
 * fresh hit (our `hit`), `swr` a stale one, `miss` and `none` as ours.
 */
export interface AccelerateInfo {
  /** `ttl` (fresh hit), `swr` (stale hit), `miss`, or `none` (not cached). */
  cacheStatus: 'ttl' | 'swr' | 'miss' | 'none'
  /** When the answer was produced: now for a miss or an uncached call; a hit's load time is not kept. */
  lastModified: Date
  /** Where the answer came from: `l1` (this process), `l2` (Redis), or `database`. */
  region: string
  /** A random id of this call, as Accelerate gives one per request. */
  requestId: string
  /** Accelerate signs its answers; nothing signs ours: always `''`. */
  signature: string
}

const ACCELERATE_STATUS = { hit: 'ttl', swr: 'swr', miss: 'miss', none: 'none' } as const

/** Our info in Accelerate's shape. */
export function accelerateInfo(info: CacheInfo): AccelerateInfo {
  return {
    cacheStatus: ACCELERATE_STATUS[info.cacheStatus],
    lastModified: new Date(),
    region: info.tier ?? 'database',
    requestId: randomUUID(),
    signature: '',
  }
}

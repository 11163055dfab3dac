/**
 * Ready-made option sets for `cache.initialize(preset)`.
 *
 * A preset is merged over the options the cache was built with, so it says only what it is about:
 * a preset never carries a Redis connection (that comes from the constructor or `fromEnv()`), and
 * it never sets a key to `undefined`, which would erase the base option in the merge.
 *
 * @example
 * ```ts
 * const cache = CacheManager.fromEnv()          // REDIS_URL=redis://...
 * await cache.initialize(CACHE_PRESETS.DISTRIBUTED)
 * ```
 */
import type { CacheOptions } from './options.js'

/** The names of the built-in presets. */
export type CachePresetName = 'AGGRESSIVE' | 'LIGHT' | 'DISTRIBUTED' | 'MEMORY_ONLY'

const MINUTE = 60_000
const HOUR = 60 * MINUTE

/** Freezes an object and every object inside it, so a preset shared by the process cannot be edited. */
function deepFreeze<T extends object>(value: T): Readonly<T> {
  for (const inner of Object.values(value)) {
    if (typeof inner === 'object' && inner !== null) deepFreeze(inner)
  }
  return Object.freeze(value)
}

/**
 * The built-in presets. Durations are milliseconds. Deeply frozen: a preset is shared by every
 * caller in the process, so editing one in place would change other modules' caches; spread it
 * into a new object to customise (`{ ...CACHE_PRESETS.LIGHT, ttl: 60_000 }`).
 */
export const CACHE_PRESETS: Readonly<Record<CachePresetName, Readonly<CacheOptions>>> = deepFreeze({
  /**
   * Short-lived entries for data that changes often but is read far more often (listings, counts,
   * search pages): 5-minute TTL, compression on so more of it fits in Redis, both tiers (L1 on;
   * Redis is used when the cache was given one).
   */
  AGGRESSIVE: { ttl: 5 * MINUTE, compression: true, local: true },
  /**
   * A small in-process cache with no network dependency, for a single instance or a side job: memory
   * only (Redis off even if configured), 30-minute TTL, and a reduced L1 footprint (1,000 entries,
   * 16 MiB) — "light" on memory as well as on infrastructure.
   */
  LIGHT: {
    ttl: 30 * MINUTE,
    redis: false,
    local: { maxEntries: 1_000, maxBytes: 16 * 1024 * 1024 },
  },
  /**
   * Many instances sharing one view: Redis only (`local: false`), so no instance can serve an entry
   * another one has invalidated, at the cost of a round trip per read; 2-hour TTL. Needs a Redis
   * connection (or `l2`) in the cache's options, or `initialize` rejects it (no tier left).
   */
  DISTRIBUTED: { ttl: 2 * HOUR, local: false },
  /**
   * The in-process tier alone with the default L1 bounds and a 1-hour TTL: Redis is turned off even
   * if configured. For tests, scripts and single-instance services.
   */
  MEMORY_ONLY: { ttl: HOUR, redis: false, local: true },
})

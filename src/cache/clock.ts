/**
 * A clock for freshness checks on the read path. `Date.now()` costs 70-90 ns on some virtual
 * machines, as much as the rest of an L1 hit; this reads it at most once per millisecond and
 * serves the cached value in between, the way lru-cache's `ttlResolution` does. The reset is an
 * unref'd timer, so a cached value lives until the event loop next runs timers: an entry may be
 * served up to that long past its expiry (1 ms when the loop is not blocked).
 */
let cached = 0

function forget(): void {
  cached = 0
}

/** Epoch milliseconds, at most about 1 ms old. */
export function coarseNow(): number {
  if (cached !== 0) return cached
  cached = Date.now()
  setTimeout(forget, 1).unref()
  return cached
}

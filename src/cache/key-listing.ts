import { globMatcher } from './glob.js'
import type { L1Store } from './l1-store.js'
import type { L2Tier } from './store-types.js'

/** Keys per batch of an L1 listing: as many as one SCAN step of the Redis driver asks for. */
const L1_BATCH = 1000

/**
 * `CacheManager.scanKeys`: the keys matching the glob `pattern`, in batches. L2's, one batch per
 * SCAN step, while L2 is in use and can list; otherwise L1's, in batches of {@link L1_BATCH}.
 *
 * @throws ValidationError (`pattern`) for an empty glob or one over 1024 characters.
 */
export function listKeys(
  tiers: { l1: L1Store | undefined; l2: L2Tier | undefined },
  pattern: string,
): AsyncGenerator<string[], void, undefined> {
  const matches = globMatcher(pattern)
  return tiers.l2?.scanKeys?.(pattern) ?? listL1(tiers.l1, matches)
}

async function* listL1(
  l1: L1Store | undefined,
  matches: (key: string) => boolean,
): AsyncGenerator<string[], void, undefined> {
  if (l1 === undefined) return
  // Taken at once: the reads a consumer makes between batches promote and evict entries, which
  // an iterator over the LRU's own list would not survive.
  const keys: string[] = []
  for (const key of l1.keys()) if (matches(key)) keys.push(key)
  for (let i = 0; i < keys.length; i += L1_BATCH) yield keys.slice(i, i + L1_BATCH)
}

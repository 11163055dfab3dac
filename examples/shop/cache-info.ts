/**
 * How the shop tells a client where a response came from: every read runs through
 * `withCacheInfo()`, and the route's `x-cache` header combines the reads it made.
 */
import type { CacheInfo, CachePromise } from '../../src/prisma/index.js'

/** What a read reports in the `x-cache` header. */
export type CacheStatus = CacheInfo['cacheStatus']

/**
 * Runs a cached Prisma read and says where its result came from. Prisma queries are lazy:
 * calling `withCacheInfo()` instead of awaiting the query runs it once, not twice.
 */
export async function readWithCacheStatus<T>(
  query: CachePromise<T>,
): Promise<{ data: T; cacheStatus: CacheStatus }> {
  const { data, info } = await query.withCacheInfo()
  return { data, cacheStatus: info.cacheStatus }
}

/**
 * The status of a response built from several reads: a miss if any read missed (the response
 * cost a database query), stale if any was served stale, a hit only if all were hits.
 */
export function combineCacheStatus(...statuses: CacheStatus[]): CacheStatus {
  for (const status of ['miss', 'swr', 'hit'] as const) {
    if (statuses.includes(status)) return status
  }
  return 'none'
}

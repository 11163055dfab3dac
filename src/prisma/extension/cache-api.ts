/** `prisma.$cache`: invalidation by tag, for the whole client, and the figures. */

import type { CacheMetricsSnapshot } from '../../cache/metrics.js'
import { normalizeTags } from '../../cache/validate.js'
import { invalid } from '../../errors.js'
import type { QueryMetrics, QueryStats } from '../metrics/query-metrics.js'
import type { PrismaCache } from './prisma-cache.js'

/** What `prisma.$cache.stats()` returns. */
export interface PrismaCacheStats {
  /** Per model and operation (`Product.findUnique`): queries, hits, misses, p50/p95/p99 ms... */
  queries: QueryStats | undefined
  /** The cache's own counters (all users of the cache, not only this client). */
  cache: CacheMetricsSnapshot
  /** Writes in a transaction not started through this client, invalidated before its commit. */
  untrackedTransactionWrites: number
}

/** Builds the `$cache` object of one extended client. */
export function cacheApi(runtime: PrismaCache, metrics: QueryMetrics | undefined) {
  return {
    async invalidate(input: { tags: readonly string[] }): Promise<void> {
      const tags = (input as { tags?: unknown } | undefined)?.tags
      if (!Array.isArray(tags) || tags.length === 0) {
        throw invalid('input.tags', 'must be a non-empty array of tags')
      }
      // Checked here too, so that a bad tag is named as the caller wrote it (`input.tags[1]`).
      await runtime.cache.invalidateByTag(normalizeTags(tags, 'input.tags'))
    },
    invalidateAll: (): Promise<void> => runtime.invalidateAll(),
    stats: (): PrismaCacheStats => ({
      queries: metrics?.stats(),
      cache: runtime.cache.getMetrics(),
      untrackedTransactionWrites: runtime.untrackedTransactionWrites,
    }),
  }
}

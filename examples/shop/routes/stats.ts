/**
 * What the cache has been doing: the cache manager's counters (hits, misses, L1 and L2, fills,
 * invalidations) and the extension's query figures per model and operation (hits, misses,
 * p50/p95/p99, slow queries, N+1 reports), and the order transactions (attempts, retries, deadlocks).
 */
import type { TransactionManager } from '../../../src/database/index.js'
import type { CacheManager } from '../../../src/index.js'
import type { ShopPrisma } from '../cached-client.js'
import type { Router } from '../http.js'

export function registerStatsRoutes(
  router: Router,
  {
    prisma,
    cache,
    transactions,
  }: { prisma: ShopPrisma; cache: CacheManager; transactions: TransactionManager<ShopPrisma> },
): void {
  const started = Date.now()
  router.get('/stats', async () => ({
    body: {
      uptimeSeconds: Math.round((Date.now() - started) / 1000),
      cache: cache.getMetrics(),
      localCache: cache.getLocalCacheStats(),
      queries: prisma.$cache.stats().queries,
      transactions: transactions.getStats(),
    },
  }))
}

/**
 * The Prisma clients under comparison, each on its own Prisma client (its own pool of 8
 * connections) to the shared shop schema:
 *
 * - `plain`: Prisma 7 + PrismaPg, no cache (the baseline);
 * - `extended`: the same with an empty query extension (`$allOperations` calling `query(args)`):
 *   what Prisma's extension machinery costs any extension, before the extension does anything;
 * - `memory`, `tiered`, `l2`: `withCache` on a CacheManager that is memory only, L1 + Redis, or
 *   Redis only (`local: false`: every hit is an L2 hit, the honest way to measure one: a second
 *   instance with an empty L1 would answer from its L1 again after its first read);
 * - `peer`: `prisma-extension-redis`, set up as its README says for automatic caching with
 *   invalidation on writes (`auto.invalidateOnWrite`), `type: 'STRING'` (this Redis has no
 *   RedisJSON), on an ioredis client of its own.
 *
 * Both caches keep results for {@link TTL_SECONDS}, so that nothing expires while it is measured.
 * Libraries are imported lazily: one that fails to load fails its own candidates only.
 */
import type { Redis } from 'ioredis'
import type { MetricsCollector, PrismaExtensionRedis } from 'prisma-extension-redis'
import type { PrismaClient } from '../../prisma/generated/client.js'
import type { CacheManager } from '../../src/index.js'
import type { withCache } from '../../src/prisma/index.js'
import { REDIS_URL, sweep } from '../fixtures.js'
import { closeStratacache, ioredis, stratacache } from '../peers.js'
import { runRead, type ShopClient, type ShopRead } from './shop-client.js'
import { shopDatabase } from './shop-database.js'

export type ClientKind = 'plain' | 'extended' | 'memory' | 'tiered' | 'l2' | 'peer'

/** Seconds a cached result stays fresh, in both extensions. */
export const TTL_SECONDS = 3_600

export interface ClientUnderTest {
  readonly shop: ShopClient
  /**
   * Runs `read` and says who answered: `l1` or `l2` (withCache hits), `redis` (the peer's hit),
   * `miss` (a cache went to the database), `database` (no cache).
   */
  answeredFrom(read: ShopRead): Promise<string>
  /** Drops everything this client cached (the mix starts each candidate from an empty cache). */
  clear(): Promise<void>
  /** The cache's own counters, reported next to the timings. */
  facts(): Record<string, number | string | boolean>
  close(): Promise<void>
}

/** `prefix`: the Redis prefix of this candidate (it is swept after the scenario). */
export async function openClient(kind: ClientKind, prefix: string): Promise<ClientUnderTest> {
  const shopDb = await shopDatabase.get()
  const base = shopDb.client()
  try {
    if (kind === 'plain') return plainClient(base)
    if (kind === 'extended') return extendedClient(base)
    if (kind === 'peer') return await peerClient(base, prefix)
    return await cachedClient(base, kind, prefix)
  } catch (error) {
    await base.$disconnect()
    throw error
  }
}

/** `shop`: the client the reads and writes go through (`base` itself, or `base` extended). */
function plainClient(base: PrismaClient, shop: ShopClient = base): ClientUnderTest {
  return {
    shop,
    async answeredFrom(read) {
      await runRead(shop, read)
      return 'database'
    },
    clear: async () => {},
    facts: () => ({}),
    close: () => base.$disconnect(),
  }
}

function extendedClient(base: PrismaClient): ClientUnderTest {
  const shop = base.$extends({
    query: { $allModels: { $allOperations: ({ args, query }) => query(args) } },
  })
  return plainClient(base, shop)
}

async function cachedClient(
  base: PrismaClient,
  kind: 'memory' | 'tiered' | 'l2',
  prefix: string,
): Promise<ClientUnderTest> {
  const { withCache } = await import('../../src/prisma/index.js')
  const cache = await stratacache(
    kind === 'memory'
      ? {}
      : { redis: REDIS_URL, prefix, ...(kind === 'l2' ? { local: false } : {}) },
  )
  try {
    return cachedClientOn(base, cache, withCache)
  } catch (error) {
    await closeStratacache(cache)
    throw error
  }
}

function cachedClientOn(
  base: PrismaClient,
  cache: CacheManager,
  extension: typeof withCache,
): ClientUnderTest {
  const prisma = base.$extends(
    extension({ cache, env: false, defaultStrategy: { ttl: TTL_SECONDS } }),
  )
  return {
    shop: prisma,
    async answeredFrom(read) {
      const { info } =
        read.op === 'findUnique'
          ? await prisma.product.findUnique(read.args).withCacheInfo()
          : await prisma.product.findMany(read.args).withCacheInfo()
      return info.cacheStatus === 'hit' ? (info.tier ?? 'hit') : info.cacheStatus
    },
    clear: () => cache.clear(),
    facts() {
      const stats = prisma.$cache.stats()
      const reads = stats.queries?.totals
      return {
        hits: reads?.hits ?? -1,
        misses: reads?.misses ?? -1,
        l1Hits: stats.cache.l1Hits,
        l2Hits: stats.cache.l2Hits,
        invalidations: stats.cache.invalidations,
        errors: stats.cache.errors,
        loaderCalls: cache.getMetrics().loaderCalls,
        fencedFills: cache.getMetrics().fencedFills,
      }
    },
    async close() {
      try {
        await closeStratacache(cache)
      } finally {
        await base.$disconnect()
      }
    },
  }
}

async function peerClient(base: PrismaClient, prefix: string): Promise<ClientUnderTest> {
  const { PrismaExtensionRedis, createMetricsCollector } = await import('prisma-extension-redis')
  const redis = await ioredis()
  try {
    return peerClientOn(base, redis, prefix, PrismaExtensionRedis, createMetricsCollector())
  } catch (error) {
    await redis.quit()
    throw error
  }
}

function peerClientOn(
  base: PrismaClient,
  redis: Redis,
  prefix: string,
  extension: typeof PrismaExtensionRedis,
  metrics: MetricsCollector,
): ClientUnderTest {
  const prisma = base.$extends(
    extension({
      config: {
        ttl: TTL_SECONDS,
        stale: 0,
        type: 'STRING',
        auto: { invalidateOnWrite: true, ttl: TTL_SECONDS, stale: 0 },
        // Its default key transformer snake-cases the prefix too (dropping ':' and '-'), which
        // would put the keys outside the prefix the runner sweeps: keep names as they are.
        cacheKey: { prefix: prefix.replace(/:$/, ''), caseTransformer: (name: string) => name },
        metricsCollector: metrics,
      },
      client: redis,
    }),
  )
  return {
    shop: prisma,
    // Its `meta: true` changes the cache key (a different entry): tell by its hit counter instead.
    async answeredFrom(read) {
      const before = metrics.getMetrics()
      await runRead(prisma, read)
      const after = metrics.getMetrics()
      if (after.hits === before.hits + 1) return 'redis'
      return after.misses === before.misses + 1 ? 'miss' : 'unknown'
    },
    async clear() {
      await sweep(redis, prefix)
    },
    facts() {
      const m = metrics.getMetrics()
      return { hits: m.hits, misses: m.misses, staleHits: m.staleHits, errors: m.errors }
    },
    async close() {
      try {
        await base.$disconnect()
      } finally {
        await redis.quit()
      }
    },
  }
}

/** Throws unless `client` answers `read` from `expected` (checked before anything is timed). */
export async function expectAnswerFrom(
  client: ClientUnderTest,
  read: ShopRead,
  expected: string,
): Promise<void> {
  const source = await client.answeredFrom(read)
  if (source !== expected)
    throw new Error(`expected the read to be answered from ${expected}, got ${source}`)
}

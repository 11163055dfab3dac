/**
 * The shop's Prisma client with stratacache's `withCache` extension: reads are answered from the
 * cache and every write invalidates the reads it may change. The catalog (products, categories)
 * and users are reference data, changed through this client only: they keep the long TTL.
 * Inventory is hot: the product page reads stock on its own, so an order invalidates one small
 * read instead of the whole page. The models not listed take the extension's default. A TTL only
 * bounds how long a change made behind the extension's back (another application, a manual SQL
 * session) can stay unseen, unless the change feed is on (`CACHE_CHANGE_FEED=auto` with
 * `DIRECT_DATABASE_URL`, read from the environment): then those changes are invalidated too.
 * Writes through this client are visible to the next read whatever the TTL.
 */
import type { ITXClientDenyList } from '@prisma/client/runtime/client'
import type { PrismaClient } from '../../prisma/generated/client.js'
import type { CacheManager } from '../../src/index.js'
import { withCache } from '../../src/prisma/index.js'

export function withShopCache(prisma: PrismaClient, cache: CacheManager, namespace = 'shop') {
  return prisma.$extends(
    withCache({
      cache,
      namespace,
      models: { Category: 'reference', User: 'reference', Product: 'reference', Inventory: 'hot' },
    }),
  )
}

/** The client the routes use. */
export type ShopPrisma = ReturnType<typeof withShopCache>

/** The client an interactive transaction (`prisma.$transaction(async (tx) => ...)`) hands over. */
export type ShopTransaction = Omit<ShopPrisma, ITXClientDenyList>

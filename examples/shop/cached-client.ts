/**
 * The shop's Prisma client with stratacache's `withCache` extension: reads are answered from the
 * cache and every write invalidates the reads it may change. The strategies follow seed 004:
 * categories and users are reference data (long TTL), products and inventory are hot data (short
 * TTL); the models not listed take the extension's default. A TTL only bounds how long a change
 * made behind the extension's back (another application, a manual SQL session) can stay unseen:
 * writes through this client are visible to the next read whatever the TTL.
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
      models: { Category: 'reference', User: 'reference', Inventory: 'hot', Product: 'hot' },
    }),
  )
}

/** The client the routes use. */
export type ShopPrisma = ReturnType<typeof withShopCache>

/** The client an interactive transaction (`prisma.$transaction(async (tx) => ...)`) hands over. */
export type ShopTransaction = Omit<ShopPrisma, ITXClientDenyList>

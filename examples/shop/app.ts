/**
 * The shop as a `node:http` request listener, built from a Prisma client and a cache. It knows
 * nothing of the environment, the seed or the port: main.ts wires those for `npm start`, and the
 * tests build the app on a schema of their own.
 */
import type { RequestListener } from 'node:http'
import type { PrismaClient } from '../../prisma/generated/client.js'
import { TransactionManager } from '../../src/database/index.js'
import type { CacheManager } from '../../src/index.js'
import { type ShopPrisma, withShopCache } from './cached-client.js'
import { type ListenerHooks, Router } from './http.js'
import { registerCategoryRoutes } from './routes/categories.js'
import { registerHomeRoutes } from './routes/home.js'
import { registerOrderRoutes } from './routes/orders.js'
import { registerProductRoutes } from './routes/products.js'
import { registerStatsRoutes } from './routes/stats.js'

export interface ShopAppOptions extends ListenerHooks {
  /** A client without the cache extension; the app adds it. */
  readonly prisma: PrismaClient
  readonly cache: CacheManager
  /** Where the data lives, shown by `GET /`. */
  readonly database?: string
  /**
   * The cache namespace of this database's query results. Instances of the shop sharing one
   * Redis must use one namespace per database, or they would serve each other's rows.
   */
  readonly namespace?: string
}

export interface ShopApp {
  readonly listener: RequestListener
  /** The extended client the routes use. */
  readonly prisma: ShopPrisma
}

export function createShopApp({
  prisma,
  cache,
  database = 'PostgreSQL',
  namespace = 'shop',
  ...hooks
}: ShopAppOptions): ShopApp {
  const cached = withShopCache(prisma, cache, namespace)
  const router = new Router()
  registerHomeRoutes(router, { database })
  registerProductRoutes(router, cached)
  // Orders retry deadlocks and serialization failures; /stats shows the counts.
  const transactions = new TransactionManager(cached, { maxRetries: 3 })
  registerOrderRoutes(router, transactions)
  registerCategoryRoutes(router, cached)
  registerStatsRoutes(router, { prisma: cached, cache, transactions })
  return { listener: router.listener(hooks), prisma: cached }
}

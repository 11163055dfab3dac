/**
 * The shop as a `node:http` request listener, built from a Prisma client and a cache. It knows
 * nothing of the environment, the seed or the port: main.ts wires those for `npm start`, and the
 * tests build the app on a schema of their own.
 */
import type { RequestListener } from 'node:http'
import type { PrismaClient } from '../../prisma/generated/client.js'
import { DatabaseHealthCheck, TransactionManager } from '../../src/database/index.js'
import { createOpsHandler, queryHeaders } from '../../src/http/index.js'
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
  /**
   * The token of the admin endpoints under `/ops` (invalidate, clear, the SQL of slow queries);
   * without one they stay closed.
   */
  readonly adminToken?: string
}

export interface ShopApp {
  readonly listener: RequestListener
  /** The extended client the routes use. */
  readonly prisma: ShopPrisma
}

/** Where the operations endpoints are mounted: `/ops/dashboard`, `/ops/metrics`, `/ops/health/db`... */
export const OPS_PATH = '/ops'

export function createShopApp({
  prisma,
  cache,
  database = 'PostgreSQL',
  namespace = 'shop',
  adminToken,
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
  const ops = createOpsHandler({
    cache,
    prisma: cached,
    health: new DatabaseHealthCheck(prisma),
    basePath: OPS_PATH,
    ...(adminToken === undefined ? {} : { adminToken }),
  })
  // Each shop response says what it cost the database (x-db-queries...), unless in production.
  const withHeaders = queryHeaders()
  const shop = router.listener(hooks)
  const listener: RequestListener = (req, res) => {
    const url = req.url ?? '/'
    if (url === OPS_PATH || url.startsWith(`${OPS_PATH}/`)) return ops(req, res)
    withHeaders(req, res, () => shop(req, res))
  }
  return { listener, prisma: cached }
}

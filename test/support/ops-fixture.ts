/**
 * What the operations endpoints' test files stand on: a schema of their own with the shop
 * seeded, a client whose SQL is captured, a cache on Redis under a prefix of its own, the client
 * extended with withCache, a CacheInvalidation with one warming item (`warm:categories`), a
 * DatabaseHealthCheck, and servers listening on free ports; all made in `beforeAll` and undone in
 * `afterAll` (servers first).
 */
import { once } from 'node:events'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { PrismaPg } from '@prisma/adapter-pg'
import { afterAll, beforeAll } from 'vitest'
import { PrismaClient } from '../../prisma/generated/client.js'
import { DatabaseHealthCheck } from '../../src/database/index.js'
import { CacheInvalidation, CacheManager } from '../../src/index.js'
import { captureSql, type QueryMetricsOptions, withCache } from '../../src/prisma/index.js'
import { createTestDatabase, type TestDatabase } from './database.js'
import { deleteKeysUnder, REDIS_URL, rawRedis, uniquePrefix } from './redis.js'
import { seedShop } from './shop-fixture.js'

const extend = (base: PrismaClient, cache: CacheManager, metrics: QueryMetricsOptions) =>
  base.$extends(withCache({ cache, env: false, metrics }))

export interface OpsStack {
  readonly db: TestDatabase
  /** The client without the cache, its SQL captured. */
  readonly base: PrismaClient
  readonly cache: CacheManager
  readonly prefix: string
  readonly prisma: ReturnType<typeof extend>
  readonly invalidation: CacheInvalidation
  readonly health: DatabaseHealthCheck
  /** Serves `handler` on a free port of 127.0.0.1; its base URL. Closed after the file. */
  listen(handler: http.RequestListener): Promise<string>
}

/** The stack of a test file named `name`; read its fields inside tests and hooks. */
export function useOpsStack(name: string, metrics: QueryMetricsOptions = {}): OpsStack {
  const raw = rawRedis()
  const prefix = uniquePrefix(name)
  const servers: http.Server[] = []
  const stack = { prefix } as { -readonly [K in keyof OpsStack]: OpsStack[K] }

  beforeAll(async () => {
    const db = await createTestDatabase(name.replaceAll('-', '_'))
    stack.db = db
    stack.base = new PrismaClient({
      adapter: captureSql(new PrismaPg({ ...db.config, max: 4 }, { schema: db.schema })),
    })
    await seedShop(stack.base)
    stack.cache = new CacheManager({ redis: REDIS_URL, prefix })
    stack.prisma = extend(stack.base, stack.cache, metrics)
    stack.invalidation = new CacheInvalidation(stack.cache)
    stack.invalidation.setupCacheWarming({
      enabled: true,
      interval: 3_600_000,
      runOnStart: false,
      items: [
        { key: 'warm:categories', compute: () => stack.base.category.findMany(), ttl: 60_000 },
      ],
    })
    stack.health = new DatabaseHealthCheck(stack.base, { pool: db.pool })
  })

  afterAll(async () => {
    for (const server of servers) await new Promise((resolve) => server.close(resolve))
    await stack.invalidation?.close()
    await stack.cache?.close()
    await stack.base?.$disconnect()
    await stack.db?.drop()
    await deleteKeysUnder(raw, prefix)
    raw.disconnect()
  })

  stack.listen = async (handler) => {
    const server = http.createServer(handler)
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    servers.push(server)
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  }
  return stack
}

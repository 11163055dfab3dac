/**
 * The CACHE_STRATEGY_* variables: short, medium and long are the hot, aggregation and reference
 * TTLs, chosen by kind of read (records, lists, aggregations) for models given no strategy in
 * code, and for models holding sessions; code wins over them; a bad value names its variable.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { PrismaClient } from '../../prisma/generated/client.js'
import { prismaSettingsFromEnv } from '../../src/config/prisma-env.js'
import { CacheManager } from '../../src/index.js'
import { withCache } from '../../src/prisma/index.js'
import { datamodelOf } from '../../src/prisma/schema/dmmf.js'
import { ModelGraph } from '../../src/prisma/schema/model-graph.js'
import { Strategies } from '../../src/prisma/strategies.js'
import { createTestDatabase, type TestDatabase } from '../support/database.js'
import { seedShop } from '../support/shop-fixture.js'

let db: TestDatabase
let base: PrismaClient
const caches: CacheManager[] = []

beforeAll(async () => {
  db = await createTestDatabase('strategy_env')
  base = db.client()
  await seedShop(base)
})

afterAll(async () => {
  for (const cache of caches) await cache.close()
  await base?.$disconnect()
  await db?.drop()
})

function client(env: Record<string, string>, models?: Record<string, 'hot'>) {
  const cache = new CacheManager()
  caches.push(cache)
  return base.$extends(withCache({ cache, env, ...(models ? { models } : {}) }))
}

const ENV = {
  CACHE_STRATEGY_ENTITIES: 'medium',
  CACHE_STRATEGY_QUERIES: 'long',
  CACHE_STRATEGY_AGGREGATIONS: 'short',
}

it('gives records, lists and aggregations the TTL of the class their variable names', async () => {
  const prisma = client(ENV)
  const ttl = async (query: { withCacheInfo(): Promise<{ info: { ttl: number | undefined } }> }) =>
    (await query.withCacheInfo()).info.ttl
  expect(await ttl(prisma.product.findUnique({ where: { id: 1 } }))).toBe(60)
  expect(await ttl(prisma.product.findMany({ take: 2 }))).toBe(300)
  expect(await ttl(prisma.product.count())).toBe(10)
  expect(await ttl(prisma.category.findFirst())).toBe(60)
})

it('leaves models given a strategy in code to it (aggregations still follow the variable)', async () => {
  const prisma = client(ENV, { Product: 'hot' })
  expect((await prisma.product.findMany({ take: 2 }).withCacheInfo()).info.ttl).toBe(10)
  expect((await prisma.product.findUnique({ where: { id: 1 } }).withCacheInfo()).info.ttl).toBe(10)
  expect((await prisma.category.findMany({ take: 2 }).withCacheInfo()).info.ttl).toBe(300)
})

it('gives models holding sessions the class of CACHE_STRATEGY_USER_SESSIONS', () => {
  const graph = new ModelGraph(
    datamodelOf(`
      datasource db {
        provider = "postgresql"
      }
      model User {
        id Int @id
      }
      model UserSession {
        id Int @id
      }
      model Session {
        id Int @id
      }
      model Sessionless {
        id Int @id
      }
    `),
  )
  const env = prismaSettingsFromEnv({ CACHE_STRATEGY_USER_SESSIONS: 'long' })
  const cache = new CacheManager()
  caches.push(cache)
  const strategies = new Strategies({ cache }, env, graph)
  const ttlOf = (model: string) => strategies.automaticPlan(model, 'record')?.ttlMs
  expect([ttlOf('UserSession'), ttlOf('Session'), ttlOf('Sessionless'), ttlOf('User')]).toEqual([
    300_000, 300_000, 10_000, 10_000,
  ])
  expect(strategies.classes(['User', 'UserSession', 'Session']).reference.models).toEqual([
    'UserSession',
    'Session',
  ])
})

it('refuses a value other than short, medium or long, naming the variable', () => {
  expect(() => prismaSettingsFromEnv({ CACHE_STRATEGY_QUERIES: 'forever' })).toThrow(
    /CACHE_STRATEGY_QUERIES.*not one of short, medium, long/,
  )
})

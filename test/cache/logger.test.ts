/**
 * The `logger` option: what otherwise reaches only events (Redis bypassed and back, the bus
 * untrusted and trusted, absorbed failures) and withCache's slow queries and N+1 reports reach a
 * logger in pino's shape; a bad logger is refused by name, and a throwing one breaks nothing.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { PrismaClient } from '../../prisma/generated/client.js'
import { CacheManager, ValidationError } from '../../src/index.js'
import { runWithQueryContext, withCache } from '../../src/prisma/index.js'
import { createTestDatabase, type TestDatabase } from '../support/database.js'
import { deleteKeysUnder, REDIS_URL, rawRedis, uniquePrefix } from '../support/redis.js'
import { seedShop } from '../support/shop-fixture.js'
import { TcpProxy } from '../support/tcp-proxy.js'
import { waitFor } from '../support/wait.js'

interface Line {
  level: string
  fields: Record<string, unknown>
  message: string
}

/** A logger of pino's shape that keeps what it is told. */
function recordingLogger() {
  const lines: Line[] = []
  const at = (level: string) => (fields: object, message: string) =>
    lines.push({ level, fields: fields as Record<string, unknown>, message })
  return {
    lines,
    logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') },
  }
}

const raw = rawRedis()
const prefixes: string[] = []
let proxy: TcpProxy
let db: TestDatabase
let base: PrismaClient

beforeAll(async () => {
  proxy = await TcpProxy.to(REDIS_URL)
  db = await createTestDatabase('cache_logger')
  base = db.client()
  await seedShop(base)
})

afterAll(async () => {
  await proxy?.close()
  await base?.$disconnect()
  await db?.drop()
  for (const prefix of prefixes) await deleteKeysUnder(raw, prefix)
  raw.disconnect()
})

it('logs Redis bypassed (warn) and back (info), the bus untrusted and trusted, and failures (error)', async () => {
  const prefix = uniquePrefix('logger')
  prefixes.push(prefix)
  const { lines, logger } = recordingLogger()
  const cache = new CacheManager({
    redis: proxy.url('redis'),
    prefix,
    logger,
    circuitBreaker: { openDuration: '200ms' },
  })
  await waitFor(() => lines.some((l) => l.message.includes('bus trusted')), {
    what: 'the bus trusted',
  })
  await cache.set('k', 1)
  proxy.partition()
  await cache.delete('k') // fails in Redis: the breaker opens at once
  await waitFor(
    () => lines.some((l) => l.level === 'warn' && l.message.includes('Redis bypassed')),
    {
      what: 'the degraded line',
    },
  )
  expect(lines.find((l) => l.message.includes('Redis bypassed'))!.fields.reason).toEqual(
    expect.any(String),
  )
  expect(lines.some((l) => l.level === 'error' && l.fields.operation !== undefined)).toBe(true)
  await waitFor(
    () => lines.some((l) => l.level === 'warn' && l.message.includes('bus untrusted')),
    {
      what: 'the untrusted line',
    },
  )
  proxy.heal()
  await waitFor(
    () => lines.some((l) => l.level === 'info' && l.message.includes('Redis in use again')),
    {
      timeoutMs: 10_000,
      what: 'the recovered line',
    },
  )
  await cache.close()
})

it("logs withCache's slow queries and N+1 reports to the cache's logger (warn)", async () => {
  const { lines, logger } = recordingLogger()
  const cache = new CacheManager({ logger })
  const prisma = base.$extends(withCache({ cache, env: false, metrics: { slowQueryMs: 0 } }))
  await prisma.category.findMany({ cacheStrategy: false, take: 1 }) // logged as slow
  const source = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n')
  const line = source.findIndex((text) => text.endsWith('// logged as slow')) + 1
  const slow = `stratacache: slow query Category.findMany at test/cache/logger.test.ts:${line}`
  expect(lines.some((l) => l.level === 'warn' && l.message === slow)).toBe(true)
  await runWithQueryContext(async () => {
    for (let id = 1; id <= 12; id++) await prisma.product.findUnique({ where: { id } })
  })
  const report = lines.find((l) => l.message.startsWith('stratacache: N+1 Product.findUnique'))
  expect(report?.fields).toMatchObject({ shape: '{where:{id:?}}' })
  await cache.close()
})

it('refuses a logger without any log method, naming it, and survives one that throws', async () => {
  expect(() => new CacheManager({ logger: {} as never })).toThrow(ValidationError)
  expect(() => new CacheManager({ logger: {} as never })).toThrow(/options\.logger/)
  const throwing = {
    error() {
      throw new Error('the log is full')
    },
  }
  // Redis on a port nobody listens on: every call fails, is absorbed, and logged.
  const cache = new CacheManager({
    redis: 'redis://127.0.0.1:1',
    logger: throwing,
    commandTimeout: '50ms',
  })
  expect(await cache.get('k')).toBeUndefined()
  await cache.set('k', 1)
  expect(cache.getMetrics().errors).toBeGreaterThan(0)
  await cache.close()
})

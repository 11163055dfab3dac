import type { AddressInfo } from 'node:net'
import { PrismaPg } from '@prisma/adapter-pg'
import express from 'express'
import Fastify from 'fastify'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PrismaClient } from '../../prisma/generated/client.js'
import { DatabaseHealthCheck, QueryAnalyzer } from '../../src/database/index.js'
import { createOpsHandler, type OpsHandler } from '../../src/http/index.js'
import { type CacheManager, ValidationError } from '../../src/index.js'
import { type OpsStack, useOpsStack } from '../support/ops-fixture.js'
import { rawRedis } from '../support/redis.js'

const TOKEN = 'test-admin-token-0123456789'
const raw = rawRedis()
const stack = useOpsStack('http-ops')
const { prefix } = stack
let base: PrismaClient
let cache: CacheManager
let prisma: OpsStack['prisma']
let ops: OpsHandler
const fastifies: { close(): unknown }[] = []

beforeAll(() => {
  ;({ base, cache, prisma } = stack)
  ops = createOpsHandler({
    cache,
    prisma,
    health: stack.health,
    analyzer: new QueryAnalyzer(base),
    invalidation: stack.invalidation,
    adminToken: TOKEN,
    basePath: '/ops',
  })
})

afterAll(async () => {
  for (const app of fastifies) await app.close()
  raw.disconnect()
})

interface Call {
  method?: string
  body?: unknown
  token?: string | false
  raw?: string
}

type Fetcher = (path: string, call?: Call) => Promise<Response>

/** A JSON answer, read loosely: each test asserts the fields it cares about. */
// biome-ignore lint/suspicious/noExplicitAny: the answers are checked field by field
const body = async (response: Response): Promise<any> => response.json()

function over(baseUrl: string): Fetcher {
  return (path, call = {}) => fetch(`${baseUrl}${path}`, request(call))
}

function request({ method, body, token = TOKEN, raw: text }: Call): RequestInit {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (token !== false) headers.authorization = `Bearer ${token}`
  return {
    method: method ?? (body === undefined && text === undefined ? 'GET' : 'POST'),
    headers,
    ...(text !== undefined
      ? { body: text }
      : body === undefined
        ? {}
        : { body: JSON.stringify(body) }),
  }
}

/** The same checks, whatever the mount: figures, an admin call, refusals, an unknown path. */
async function exercise(call: Fetcher): Promise<void> {
  const status = await call('/ops/api/v1/database/cache/status', { token: false })
  expect(status.status).toBe(200)
  expect(status.headers.get('content-type')).toMatch(/^application\/json/)
  expect(await status.json()).toMatchObject({
    status: 'healthy',
    metrics: { hitRate: expect.any(Number) },
  })

  await cache.set('mounted', 1, { tags: ['mounted-tag'] })
  expect(await raw.exists(`${prefix}mounted`)).toBe(1)
  const refused = await call('/ops/api/v1/database/cache/invalidate', {
    body: { tags: ['mounted-tag'] },
    token: false,
  })
  expect(refused.status).toBe(401)
  expect(refused.headers.get('www-authenticate')).toBe('Bearer')
  expect(await raw.exists(`${prefix}mounted`)).toBe(1)
  const done = await call('/ops/api/v1/database/cache/invalidate', {
    body: { tags: ['mounted-tag'] },
  })
  expect(done.status).toBe(200)
  expect(await done.json()).toEqual({ invalidated: { tags: 1, keys: 0 } })
  expect(await raw.exists(`${prefix}mounted`)).toBe(0)

  const bad = await call('/ops/api/v1/database/cache/invalidate', { body: { tags: [7] } })
  expect(bad.status).toBe(400)
  expect(await bad.json()).toMatchObject({ error: { field: 'body.tags[0]' } })
}

describe('mounted in each framework, under /ops', () => {
  it('as a node:http listener', async () => {
    const call = over(await stack.listen(ops))
    await exercise(call)
    expect((await call('/ops/nowhere')).status).toBe(404)
  })

  it('as Express middleware, after express.json(), next() for what it does not serve', async () => {
    const app = express()
    app.use(express.json())
    app.use('/ops', ops)
    app.get('/ops/app-route', (_req, res) => {
      res.json({ app: true })
    })
    const call = over(await stack.listen(app))
    await exercise(call)
    expect(await (await call('/ops/app-route')).json()).toEqual({ app: true })
  })

  it('as a Fastify plugin', async () => {
    const app = Fastify()
    await app.register(ops.fastify, { prefix: '/ops' })
    app.get('/elsewhere', async () => ({ app: true }))
    await app.listen({ port: 0, host: '127.0.0.1' })
    fastifies.push(app)
    const call = over(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`)
    await exercise(call)
    expect(await (await call('/elsewhere')).json()).toEqual({ app: true })
  })

  it('as a fetch handler in Hono', async () => {
    const app = new Hono()
    app.all('/ops/*', (c) => ops.fetch(c.req.raw))
    await exercise(async (path, call) =>
      app.fetch(new Request(`http://shop.test${path}`, request(call ?? {}))),
    )
  })
})

describe('safe to expose', () => {
  const call: Fetcher = (path, c) =>
    ops.fetch(new Request(`http://ops.test${path}`, request(c ?? {})))

  it('admin endpoints stay closed (403, saying why) without a configured token', async () => {
    const open = createOpsHandler({ cache, env: {} })
    for (const [path, method] of [
      ['/api/v1/database/cache/invalidate', 'POST'],
      ['/api/v1/database/cache/clear', 'DELETE'],
      ['/api/performance/cache/clear', 'POST'],
      ['/api/performance/queries', 'GET'],
      ['/health/db/detailed', 'GET'],
    ] as const) {
      const response = await open.fetch(
        new Request(`http://ops.test${path}`, {
          method,
          headers: { authorization: 'Bearer anything-at-all-long' },
        }),
      )
      expect(response.status, path).toBe(403)
      expect(await response.json()).toMatchObject({ error: { code: 'ERR_NO_ADMIN_TOKEN' } })
    }
  })

  it('compares the token (a wrong one of the same length is refused)', async () => {
    const wrong = TOKEN.replace(/.$/, 'x')
    expect(
      (await call('/ops/api/v1/database/cache/clear', { method: 'DELETE', token: wrong })).status,
    ).toBe(401)
    expect(
      (await call('/ops/api/v1/database/cache/clear', { method: 'DELETE', token: 'short' })).status,
    ).toBe(401)
  })

  it('refuses a token shorter than 16 characters, naming it', () => {
    expect(() => createOpsHandler({ cache, adminToken: 'short' })).toThrow(ValidationError)
    expect(() => createOpsHandler({ cache, adminToken: 'short' })).toThrow(/options\.adminToken/)
    expect(() => createOpsHandler({ cache: {} as CacheManager })).toThrow(
      /options\.cache: must be a CacheManager/,
    )
  })

  it('reads its switches from the environment; an option wins over its variable', async () => {
    const get = (handler: OpsHandler, path: string, token?: string) =>
      handler.fetch(
        new Request(`http://ops.test${path}`, {
          headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
        }),
      )
    const env = {
      STRATACACHE_ADMIN_TOKEN: TOKEN,
      STRATACACHE_DASHBOARD: 'off',
      STRATACACHE_METRICS: 'false',
      STRATACACHE_PROTECT_STATS: 'yes',
    }
    const fromEnv = createOpsHandler({ cache, env })
    expect((await get(fromEnv, '/dashboard')).status).toBe(404)
    const metrics = await get(fromEnv, '/metrics', TOKEN)
    expect(metrics.status).toBe(404)
    expect(await metrics.json()).toMatchObject({ error: { code: 'ERR_NOT_CONFIGURED' } })
    expect((await get(fromEnv, '/api/performance/stats')).status).toBe(401)
    expect((await get(fromEnv, '/api/performance/stats', TOKEN)).status).toBe(200)
    expect((await get(fromEnv, '/health/db')).status).not.toBe(401)

    const options = createOpsHandler({ cache, env, dashboard: true, protectStats: false })
    expect((await get(options, '/dashboard')).status).toBe(200)
    expect((await get(options, '/api/performance/stats')).status).toBe(200)
    // Unset, the defaults: the page served, figures open.
    const defaults = createOpsHandler({ cache, env: {} })
    expect((await get(defaults, '/dashboard')).status).toBe(200)
    expect((await get(defaults, '/api/performance/stats')).status).toBe(200)

    expect(() => createOpsHandler({ cache, env: { STRATACACHE_DASHBOARD: 'maybe' } })).toThrow(
      /STRATACACHE_DASHBOARD.*not a boolean/,
    )
    expect(() => createOpsHandler({ cache, env: { STRATACACHE_ADMIN_TOKEN: 'short' } })).toThrow(
      /STRATACACHE_ADMIN_TOKEN/,
    )
  })

  it('bounds and validates bodies: 413, bad JSON, unknown fields, long patterns', async () => {
    const huge = await call('/ops/api/v1/database/cache/invalidate', {
      raw: JSON.stringify({ keys: ['k'.repeat(70_000)] }),
    })
    expect(huge.status).toBe(413)
    const notJson = await call('/ops/api/v1/database/cache/invalidate', { raw: '{"tags": [' })
    expect(notJson.status).toBe(400)
    expect(await notJson.json()).toMatchObject({ error: { field: 'body' } })
    const unknown = await call('/ops/api/v1/database/cache/invalidate', { body: { tag: 'x' } })
    expect(await unknown.json()).toMatchObject({
      error: { field: 'body.tag', message: 'body.tag: is not a known option' },
    })
    const empty = await call('/ops/api/v1/database/cache/invalidate', { body: {} })
    expect(empty.status).toBe(400)
    const long = await call('/ops/api/v1/database/cache/invalidate', {
      body: { pattern: `${'*a'.repeat(200)}` },
    })
    expect(long.status).toBe(400)
    expect(await long.json()).toMatchObject({ error: { field: 'body.pattern' } })
    const tier = await call('/ops/api/performance/cache/clear', { body: { tier: 'L4' } })
    expect(await tier.json()).toMatchObject({ error: { field: 'body.tier' } })
  })

  it('answers 405 with Allow for a known path and the wrong method, and HEAD like GET without a body', async () => {
    const wrong = await call('/ops/api/v1/database/cache/clear', { method: 'GET' })
    expect(wrong.status).toBe(405)
    expect(wrong.headers.get('allow')).toBe('DELETE')
    const head = await call('/ops/health/db', { method: 'HEAD', token: false })
    expect(head.status).toBe(200)
    expect(await head.text()).toBe('')
  })
})

describe('the endpoints', () => {
  const call: Fetcher = (path, c) =>
    ops.fetch(new Request(`http://ops.test${path}`, request(c ?? {})))

  it('/health/db: the short form, public; detailed and report need the token', async () => {
    const short = await call('/ops/health/db', { token: false })
    expect(short.status).toBe(200)
    const answer = await body(short)
    expect(Object.keys(answer).sort()).toEqual(['connected', 'responseTime', 'status', 'timestamp'])
    expect(answer).toMatchObject({ status: 'healthy', connected: true })
    expect((await call('/ops/health/db/detailed', { token: false })).status).toBe(401)
    const detailed = await body(await call('/ops/health/db/detailed'))
    expect(detailed.details).toHaveProperty('connectionPool')
    const report = await call('/ops/health/db/report')
    expect(report.headers.get('content-type')).toMatch(/^text\/plain/)
    expect(await report.text()).toMatch(/healthy/i)
  })

  it('/health/db answers 503 when the database is unreachable', async () => {
    const gone = new PrismaClient({
      adapter: new PrismaPg({
        host: '127.0.0.1',
        port: 1,
        user: 'x',
        database: 'x',
        connectionTimeoutMillis: 500,
      }),
    })
    try {
      const down = createOpsHandler({
        cache,
        health: new DatabaseHealthCheck(gone, { timeout: 1000 }),
      })
      const response = await down.fetch(new Request('http://ops.test/health/db'))
      expect(response.status).toBe(503)
      expect(await response.json()).toMatchObject({ status: 'unhealthy', connected: false })
      const both = await down.fetch(new Request('http://ops.test/api/performance/health'))
      expect(both.status).toBe(503)
    } finally {
      await gone.$disconnect()
    }
  })

  it('/api/performance/queries, /stats and /cache report Prisma reads per model, and the TTL classes', async () => {
    await prisma.category.findUnique({ where: { id: 1 } })
    await prisma.category.findUnique({ where: { id: 1 } })
    const queries = await body(await call('/ops/api/performance/queries'))
    expect(queries.operations['Category.findUnique']).toMatchObject({
      hits: expect.any(Number),
      misses: expect.any(Number),
    })
    const stats = await body(await call('/ops/api/performance/stats', { token: false }))
    expect(stats.queries.totals.queries).toBeGreaterThanOrEqual(2)
    const tiers = (await body(await call('/ops/api/performance/cache', { token: false }))).tiers
    expect(tiers.L1).toMatchObject({ strategy: 'hot', ttlSeconds: 10 })
    expect(tiers.L1.models).toContain('Category')
    expect(tiers.L2.strategy).toBe('aggregation')
  })

  it('POST /api/performance/cache/clear { tier: "L1" } drops the hot class: the next read misses', async () => {
    await prisma.category.findUnique({ where: { id: 2 } })
    const before = prisma.$cache.stats().queries!.operations['Category.findUnique']!
    await prisma.category.findUnique({ where: { id: 2 } })
    const hit = prisma.$cache.stats().queries!.operations['Category.findUnique']!
    expect(hit.hits).toBe(before.hits + 1)
    const cleared = await call('/ops/api/performance/cache/clear', { body: { tier: 'L1' } })
    expect(await cleared.json()).toMatchObject({ cleared: 'L1', strategy: 'hot' })
    await prisma.category.findUnique({ where: { id: 2 } })
    const after = prisma.$cache.stats().queries!.operations['Category.findUnique']!
    expect(after.misses).toBe(hit.misses + 1)
  })

  it('POST /api/performance/analyze explains a read, and refuses a write', async () => {
    const analysis = await call('/ops/api/performance/analyze', {
      body: {
        model: 'Product',
        operation: 'findMany',
        query: { where: { isActive: true }, take: 10 },
      },
    })
    expect(analysis.status).toBe(200)
    expect((await body(analysis)).statements.length).toBeGreaterThan(0)
    const write = await call('/ops/api/performance/analyze', {
      body: { model: 'Product', operation: 'deleteMany', query: {} },
    })
    expect(write.status).toBe(400)
    expect(await write.json()).toMatchObject({ error: { field: 'query.operation' } })
  })

  it('POST /api/performance/prefetch runs a warming round now', async () => {
    await cache.delete('warm:categories')
    const response = await call('/ops/api/performance/prefetch', { method: 'POST' })
    expect(await response.json()).toMatchObject({ prefetched: { successes: 1, failures: 0 } })
    expect(await cache.has('warm:categories')).toBe(true)
  })

  it('DELETE /api/v1/database/cache/clear and invalidation by keys and pattern', async () => {
    await cache.set('p:1', 1)
    await cache.set('p:2', 2)
    await cache.set('q:1', 3)
    const byPattern = await call('/ops/api/v1/database/cache/invalidate', {
      body: { pattern: 'p:*', keys: ['q:1'] },
    })
    expect(await byPattern.json()).toEqual({
      invalidated: { tags: 0, keys: 1, pattern: 'p:*', removed: 2 },
    })
    expect(await cache.has('q:1')).toBe(false)
    await cache.set('r:1', 1)
    expect((await call('/ops/api/v1/database/cache/clear', { method: 'DELETE' })).status).toBe(200)
    expect(await cache.has('r:1')).toBe(false)
  })
})

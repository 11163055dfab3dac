/**
 * OpenTelemetry spans from the tracing channels, with the real SDK (in-memory exporter,
 * AsyncLocalStorage context): cache reads and cached Prisma reads become spans with their
 * status and tier, invalidations and Prisma writes spans with what they invalidated, children
 * of the caller's span; errors are recorded; nothing is published while nobody subscribes; the
 * unsubscribe stops them.
 */
import { channel } from 'node:diagnostics_channel'
import { context, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import { afterAll, beforeAll, expect, it, vi } from 'vitest'
import type { PrismaClient } from '../../prisma/generated/client.js'
import {
  CACHE_CHANNEL,
  CacheManager,
  instrumentOpenTelemetry,
  type L2Driver,
  PRISMA_CHANNEL,
  ValidationError,
} from '../../src/index.js'
import { withCache } from '../../src/prisma/index.js'
import { createTestDatabase, type TestDatabase } from '../support/database.js'
import { seedShop } from '../support/shop-fixture.js'

const exporter = new InMemorySpanExporter()
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
const contextManager = new AsyncLocalStorageContextManager()
let db: TestDatabase
let base: PrismaClient

beforeAll(async () => {
  context.setGlobalContextManager(contextManager.enable())
  db = await createTestDatabase('otel')
  base = db.client()
  await seedShop(base)
})

afterAll(async () => {
  context.disable()
  await base?.$disconnect()
  await db?.drop()
})

it('makes a span per cache read, with status and tier, under the caller span', async () => {
  exporter.reset()
  const stop = await instrumentOpenTelemetry({ tracerProvider: provider })
  const cache = new CacheManager()
  const tracer = provider.getTracer('test')
  await tracer.startActiveSpan('request', async (parent) => {
    await cache.get('absent')
    await cache.getOrCompute('k', async () => 42)
    await cache.getOrCompute('k', async () => 43)
    await expect(
      cache.getOrCompute('bad', () => Promise.reject(new Error('boom'))),
    ).rejects.toThrow()
    parent.end()
  })
  stop()
  await cache.get('after-stop')
  const spans = exporter.getFinishedSpans()
  const request = spans.find((s) => s.name === 'request')!
  const reads = spans.filter((s) => s.name.startsWith('stratacache '))
  expect(reads.map((s) => [s.name, s.attributes['stratacache.cache.status']])).toEqual([
    ['stratacache get', 'miss'],
    ['stratacache getOrCompute', 'miss'],
    ['stratacache getOrCompute', 'hit'],
    ['stratacache getOrCompute', 'miss'],
  ])
  expect(reads[2]!.attributes['stratacache.cache.tier']).toBe('l1')
  expect(reads[3]!.status.code).toBe(2) // ERROR
  expect(reads[3]!.events.some((e) => e.name === 'exception')).toBe(true)
  for (const read of reads)
    expect(read.parentSpanContext?.spanId).toBe(request.spanContext().spanId)
  await cache.close()
})

it('makes a span per cached Prisma read, after the database semantic conventions', async () => {
  exporter.reset()
  const stop = await instrumentOpenTelemetry({ tracerProvider: provider, cacheReads: false })
  const cache = new CacheManager()
  const prisma = base.$extends(withCache({ cache, env: false }))
  await prisma.product.findUnique({ where: { id: 1 } })
  await prisma.product.findUnique({ where: { id: 1 } })
  stop()
  const spans = exporter.getFinishedSpans()
  expect(spans.map((s) => s.name)).toEqual([
    'prisma Product.findUnique',
    'prisma Product.findUnique',
  ])
  expect(spans[0]!.attributes).toMatchObject({
    'db.system.name': 'postgresql',
    'db.collection.name': 'Product',
    'db.operation.name': 'findUnique',
    'stratacache.cache.status': 'miss',
  })
  expect(spans[1]!.attributes).toMatchObject({
    'stratacache.cache.status': 'hit',
    'stratacache.cache.tier': 'l1',
  })
  await cache.close()
})

/** A second tier whose every call fails: the first invalidation opens the circuit. */
function downL2(): L2Driver {
  const fail = () => Promise.reject(new Error('L2 down'))
  return {
    name: 'down',
    get: fail,
    getMany: fail,
    set: fail,
    setMany: fail,
    delete: fail,
    deleteByTags: fail,
    deleteByPattern: fail,
    increment: fail,
    addToSet: fail,
    getSet: fail,
    clear: fail,
    ping: fail,
    close: async () => {},
  }
}

it('makes a span per invalidation, counting its targets, with its outcome, under the caller span', async () => {
  exporter.reset()
  const stop = await instrumentOpenTelemetry({ tracerProvider: provider, cacheReads: false })
  const cache = new CacheManager()
  const down = new CacheManager({ l2: downL2() })
  await cache.set('a', 1, { tags: ['t1'] })
  await cache.set('b', 2, { tags: ['t1', 't2'] })
  const tracer = provider.getTracer('test')
  await tracer.startActiveSpan('request', async (parent) => {
    await cache.get('a') // a read: not asked for
    await cache.invalidateByTag('t1')
    await cache.invalidateByTag(['t2', 't3'])
    await cache.delete(['k1', 'k2', 'k3'])
    await cache.delete('k1')
    await cache.invalidateByPattern('user:*')
    await cache.clear()
    await expect(cache.invalidateByTag([])).rejects.toThrow(ValidationError)
    await down.invalidateByTag('t1')
    parent.end()
  })
  stop()
  await cache.delete('after-stop')
  const spans = exporter.getFinishedSpans()
  const request = spans.find((s) => s.name === 'request')!
  const made = spans.filter((s) => s !== request)
  expect(made.map((s) => [s.name, s.attributes])).toEqual([
    [
      'stratacache invalidateByTag',
      {
        'db.operation.name': 'invalidateByTag',
        'stratacache.cache.tag_count': 1,
        'stratacache.cache.tag': 't1',
        'stratacache.cache.removed': 2,
        'stratacache.cache.outcome': 'applied',
      },
    ],
    [
      'stratacache invalidateByTag',
      {
        'db.operation.name': 'invalidateByTag',
        'stratacache.cache.tag_count': 2,
        'stratacache.cache.removed': 0,
        'stratacache.cache.outcome': 'applied',
      },
    ],
    [
      'stratacache delete',
      {
        'db.operation.name': 'delete',
        'stratacache.cache.key_count': 3,
        'stratacache.cache.outcome': 'applied',
      },
    ],
    [
      'stratacache delete',
      {
        'db.operation.name': 'delete',
        'stratacache.cache.key_count': 1,
        'stratacache.cache.key': 'k1',
        'stratacache.cache.outcome': 'applied',
      },
    ],
    [
      'stratacache invalidateByPattern',
      {
        'db.operation.name': 'invalidateByPattern',
        'stratacache.cache.pattern': 'user:*',
        'stratacache.cache.removed': 0,
        'stratacache.cache.outcome': 'applied',
      },
    ],
    ['stratacache clear', { 'db.operation.name': 'clear', 'stratacache.cache.outcome': 'applied' }],
    [
      'stratacache invalidateByTag',
      { 'db.operation.name': 'invalidateByTag', 'stratacache.cache.tag_count': 0 },
    ],
    [
      'stratacache invalidateByTag',
      {
        'db.operation.name': 'invalidateByTag',
        'stratacache.cache.tag_count': 1,
        'stratacache.cache.tag': 't1',
        'stratacache.cache.removed': 0,
        'stratacache.cache.outcome': 'deferred',
      },
    ],
  ])
  expect(made.map((s) => s.status.code)).toEqual([0, 0, 0, 0, 0, 0, 2, 0]) // 2: ERROR
  expect(made[6]!.events.some((e) => e.name === 'exception')).toBe(true)
  for (const span of made) {
    expect(span.kind).toBe(2) // CLIENT
    expect(span.parentSpanContext?.spanId).toBe(request.spanContext().spanId)
  }
  await cache.close()
  await down.close()
})

it('makes a span per Prisma write, with the invalidation it caused, under the caller span', async () => {
  exporter.reset()
  const stop = await instrumentOpenTelemetry({
    tracerProvider: provider,
    cacheReads: false,
    cacheInvalidations: false,
    prismaReads: false,
  })
  const cache = new CacheManager()
  const strictCache = new CacheManager({ consistency: 'strict' })
  const prisma = base.$extends(withCache({ cache, env: false }))
  const strict = base.$extends(withCache({ cache: strictCache, env: false }))
  const tracer = provider.getTracer('test')
  await tracer.startActiveSpan('request', async (parent) => {
    await prisma.product.findUnique({ where: { id: 3 } }) // a read: not asked for
    await prisma.product.update({ where: { id: 3 }, data: { name: 'Product 3' } })
    await strict.product.update({ where: { id: 3 }, data: { name: 'Product 3' } })
    await prisma.$transaction(async (tx) => {
      await tx.product.update({ where: { id: 3 }, data: { name: 'Product 3' } })
    })
    await prisma.$executeRawUnsafe('UPDATE "Product" SET "viewCount" = "viewCount" WHERE id = 3')
    await expect(
      prisma.product.create({ data: { sku: 'SKU-1', name: 'Duplicate', price: '1.00' } }),
    ).rejects.toThrow()
    parent.end()
  })
  stop()
  const spans = exporter.getFinishedSpans()
  const request = spans.find((s) => s.name === 'request')!
  const writes = spans.filter((s) => s !== request)
  expect(writes.map((s) => s.name)).toEqual([
    'prisma Product.update',
    'prisma Product.update',
    'prisma Product.update',
    'prisma $executeRawUnsafe',
    'prisma Product.create',
  ])
  const invalidation = (i: number) => [
    writes[i]!.attributes['stratacache.invalidation.timing'],
    writes[i]!.attributes['stratacache.invalidation.strict'],
  ]
  expect(writes[0]!.attributes).toMatchObject({
    'db.system.name': 'postgresql',
    'db.collection.name': 'Product',
    'db.operation.name': 'update',
  })
  expect([0, 1, 2, 3, 4].map(invalidation)).toEqual([
    ['now', false],
    ['now', true],
    ['commit', false],
    ['now', false],
    ['now', false],
  ])
  for (const write of writes) {
    expect(write.attributes['stratacache.invalidation.tag_count']).toBeGreaterThan(0)
    expect(write.kind).toBe(2) // CLIENT
    expect(write.parentSpanContext?.spanId).toBe(request.spanContext().spanId)
  }
  expect(writes[3]!.attributes['db.collection.name']).toBeUndefined()
  expect(writes[3]!.attributes['db.operation.name']).toBe('$executeRawUnsafe')
  expect(writes.map((s) => s.status.code)).toEqual([0, 0, 0, 0, 2]) // 2: ERROR
  expect(writes[4]!.events.some((e) => e.name === 'exception')).toBe(true)
  await cache.close()
  await strictCache.close()
})

it('publishes nothing while nobody subscribes, and refuses a bad provider by name', async () => {
  expect(channel(CACHE_CHANNEL).hasSubscribers).toBe(false)
  expect(channel(PRISMA_CHANNEL).hasSubscribers).toBe(false)
  const published = [
    vi.spyOn(channel(CACHE_CHANNEL), 'publish'),
    vi.spyOn(channel(PRISMA_CHANNEL), 'publish'),
  ]
  const cache = new CacheManager()
  const prisma = base.$extends(withCache({ cache, env: false }))
  await cache.get('k')
  await cache.invalidateByTag('t')
  await cache.delete('k')
  await cache.clear()
  await prisma.product.findUnique({ where: { id: 4 } })
  await prisma.product.update({ where: { id: 4 }, data: { name: 'Product 4' } })
  for (const spy of published) {
    expect(spy).not.toHaveBeenCalled()
    spy.mockRestore()
  }
  await cache.close()
  await expect(instrumentOpenTelemetry({ tracerProvider: {} })).rejects.toThrow(ValidationError)
  await expect(instrumentOpenTelemetry({ tracerProvider: {} })).rejects.toThrow(
    /options\.tracerProvider/,
  )
  void trace
})

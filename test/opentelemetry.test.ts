/**
 * OpenTelemetry spans from the tracing channels, with the real SDK (in-memory exporter,
 * AsyncLocalStorage context): cache reads and cached Prisma reads become spans with their
 * status and tier, children of the caller's span; errors are recorded; nothing is published
 * while nobody subscribes; the unsubscribe stops them.
 */
import { channel } from 'node:diagnostics_channel'
import { context, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { PrismaClient } from '../prisma/generated/client.js'
import {
  CACHE_CHANNEL,
  CacheManager,
  instrumentOpenTelemetry,
  ValidationError,
} from '../src/index.js'
import { withCache } from '../src/prisma/index.js'
import { createTestDatabase, type TestDatabase } from './support/database.js'
import { seedShop } from './support/shop-fixture.js'

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

it('publishes nothing while nobody subscribes, and refuses a bad provider by name', async () => {
  expect(channel(CACHE_CHANNEL).hasSubscribers).toBe(false)
  await expect(instrumentOpenTelemetry({ tracerProvider: {} })).rejects.toThrow(ValidationError)
  await expect(instrumentOpenTelemetry({ tracerProvider: {} })).rejects.toThrow(
    /options\.tracerProvider/,
  )
  void trace
})

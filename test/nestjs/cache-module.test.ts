import { EventEmitter } from 'node:events'
import type { INestApplication } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import { EventEmitter2, EventEmitterModule } from '@nestjs/event-emitter'
import { TerminusModule } from '@nestjs/terminus'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DatabaseHealthCheck } from '../../src/database/index.js'
import { ValidationError } from '../../src/errors.js'
import { CacheInvalidation, CacheManager } from '../../src/index.js'
import {
  CACHE_INVALIDATION_EVENTS,
  CacheModule,
  StrataCacheHealthIndicator,
} from '../../src/nestjs/index.js'
import { CACHE_MODULE_OPTIONS } from '../../src/nestjs/injection.js'
import type { ResolvedCacheModuleOptions } from '../../src/nestjs/resolve-options.js'
import { useHealthDatabase } from '../support/health.js'
import {
  APP_CONFIG,
  type AppConfig,
  appModule,
  ConfigModule,
  fetchJson,
  listen,
  PRISMA,
  type Product,
  ProductsController,
  ProductsService,
  StatusController,
} from '../support/nest-app.js'
import { deleteKeysUnder, rawRedis, uniquePrefix } from '../support/redis.js'
import { freePort } from '../support/redis-server.js'
import { waitFor } from '../support/wait.js'

/** A database that answers: `healthy`, or `degraded` on a busy machine. */
const ANSWERING = /^(healthy|degraded)$/
const REDIS = new URL(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379')
const live = useHealthDatabase('nestjs')
let raw: Redis
const prefixes: string[] = []

beforeAll(() => {
  raw = rawRedis()
})

afterAll(async () => {
  for (const prefix of prefixes) await deleteKeysUnder(raw, prefix)
  await raw.quit()
})

function newPrefix(name: string): string {
  const prefix = uniquePrefix(`nestjs-${name}`)
  prefixes.push(prefix)
  return prefix
}

/** The `ValidationError` that `run` throws (or rejects with). */
async function refusal(run: () => unknown): Promise<ValidationError> {
  try {
    await run()
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError)
    return error as ValidationError
  }
  throw new Error('expected a ValidationError')
}

describe('CacheModule.registerAsync in an HTTP application (express, Redis, PostgreSQL)', () => {
  let app: INestApplication
  let url: string
  let config: AppConfig

  beforeAll(async () => {
    config = {
      redisHost: REDIS.hostname,
      redisPort: Number(REDIS.port || 6379),
      prefix: newPrefix('async'),
      ttlMs: 120_000,
      healthCheckIntervalMs: 50,
    }
    const AppModule = appModule({
      imports: [
        EventEmitterModule.forRoot(),
        TerminusModule,
        CacheModule.registerAsync({
          imports: [ConfigModule.with(config, live.prisma)],
          inject: [APP_CONFIG, PRISMA],
          useFactory: (c: AppConfig, prisma: DatabaseHealthCheckClient) => ({
            redis: { host: c.redisHost, port: c.redisPort, password: undefined, db: 0 },
            defaultTtl: c.ttlMs,
            enableCompression: true,
            cache: { prefix: c.prefix },
            prisma,
            databaseHealth: { env: false },
            healthCheckInterval: c.healthCheckIntervalMs,
          }),
          healthController: true,
        }),
      ],
      controllers: [ProductsController, StatusController],
      providers: [ProductsService],
    })
    ;({ app, url } = await listen(AppModule))
  })

  afterAll(async () => {
    await app?.close()
  })

  it('caches what a service loads through the injected CacheManager, in Redis with the factory’s prefix and TTL', async () => {
    const service = app.get(ProductsService)
    expect(service.cache).toBe(app.get(CacheManager))

    const first = await fetchJson(`${url}/products/1`)
    expect(first).toMatchObject({ status: 200, body: { id: '1', name: 'Product 1', load: 1 } })
    const again = await fetchJson(`${url}/products/1`)
    expect((again.body as Product).load).toBe(1)
    expect(service.loads).toBe(1)

    // The factory's options reached the cache: its Redis, its prefix, its TTL (ms).
    expect(await raw.exists(`${config.prefix}product:1`)).toBe(1)
    const ttl = await raw.pttl(`${config.prefix}product:1`)
    expect(ttl).toBeGreaterThan(config.ttlMs - 10_000)
    expect(ttl).toBeLessThanOrEqual(config.ttlMs)
    const options = app.get<ResolvedCacheModuleOptions>(CACHE_MODULE_OPTIONS)
    expect(options.cache).toEqual({
      prefix: config.prefix,
      redis: { host: config.redisHost, port: config.redisPort, db: 0 },
      ttl: config.ttlMs,
      compression: true,
    })
  })

  it('fires CacheInvalidation rules from events emitted through EventEmitter2', async () => {
    const emitter = app.get(EventEmitter2)
    expect(app.get(CACHE_INVALIDATION_EVENTS)).toBe(emitter)
    const service = app.get(ProductsService)
    const before = ((await fetchJson(`${url}/products/2`)).body as Product).load
    expect(await raw.exists(`${config.prefix}product:2`)).toBe(1)

    emitter.emit('product.updated', { id: '2' })
    await app.get(CacheInvalidation).settled()

    expect(await raw.exists(`${config.prefix}product:2`)).toBe(0)
    const after = await fetchJson(`${url}/products/2`)
    expect((after.body as Product).load).toBe(before + 1)
    expect(service.loads).toBe(before + 1)
    expect(app.get(CacheInvalidation).getRuleStats().products?.runs).toBe(1)
  })

  // A busy machine (the whole suite at once) can make the shared database `degraded` (slow, many
  // connections): still 200, which is the point. Only `unhealthy` answers 503 (tested below).
  it('serves /health/db, /health/db/detailed and /health/db/report with a reachable database', async () => {
    const summary = await fetchJson(`${url}/health/db`)
    expect(summary.status).toBe(200)
    expect(summary.type).toContain('application/json')
    const body = summary.body as Record<string, unknown>
    expect(Object.keys(body).sort()).toEqual(['connected', 'responseTime', 'status', 'timestamp'])
    expect(body).toMatchObject({ status: expect.stringMatching(ANSWERING), connected: true })
    expect(body.responseTime).toBeGreaterThan(0)
    expect(Number.isNaN(Date.parse(body.timestamp as string))).toBe(false)

    const detailed = await fetchJson(`${url}/health/db/detailed`)
    expect(detailed).toMatchObject({
      status: 200,
      body: { status: expect.stringMatching(ANSWERING), connected: true },
    })
    const details = (detailed.body as { details: Record<string, unknown> }).details
    expect(Object.keys(details).sort()).toEqual([
      'connectionPool',
      'database',
      'errors',
      'performance',
      'slowQueries',
    ])
    expect(details.database).toMatchObject({ version: expect.any(String) })

    const report = await fetchJson(`${url}/health/db/report`)
    expect(report.status).toBe(200)
    expect(report.type).toContain('text/plain')
    expect(report.body).toMatch(/^Database health: (HEALTHY|DEGRADED)/)
  })

  it('reports cache and database through @nestjs/terminus', async () => {
    const status = await fetchJson(`${url}/status`)
    expect(status.status).toBe(200)
    expect(status.body).toMatchObject({
      status: 'ok',
      info: {
        cache: {
          status: 'up',
          degraded: expect.any(Boolean),
          busTrusted: expect.any(Boolean),
          hitRate: expect.any(Number),
          errors: expect.any(Number),
        },
        database: {
          status: 'up',
          health: expect.stringMatching(ANSWERING),
          connected: true,
          reasons: expect.any(Array),
        },
      },
    })
    const indicator = app.get(StrataCacheHealthIndicator)
    expect(await indicator.isCacheHealthy('redis')).toMatchObject({ redis: { status: 'up' } })
    await expect(
      indicator.isCacheHealthy('cache', { strict: true } as never),
    ).rejects.toMatchObject({ field: 'options.strict' })
  })

  it('runs the continuous database check from bootstrap', async () => {
    const health = app.get(DatabaseHealthCheck)
    const first = await waitFor(() => health.getLastHealthCheck())
    await waitFor(() => health.getLastHealthCheck() !== first, { what: 'a second check' })
  })

  it('closes the cache, the rules and the checks on app.close()', async () => {
    const cache = app.get(CacheManager)
    const invalidation = app.get(CacheInvalidation)
    const health = app.get(DatabaseHealthCheck)
    const emitter = app.get(EventEmitter2)
    expect(emitter.listenerCount('product.updated')).toBe(1)

    await app.close()

    await expect(cache.get('product:1')).rejects.toMatchObject({ code: 'ERR_CLOSED' })
    expect(() =>
      invalidation.registerRule({ id: 'late', pattern: '*', triggers: ['x'], enabled: true }),
    ).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }))
    // The rule's listener is gone from the application's emitter.
    expect(emitter.listenerCount('product.updated')).toBe(0)
    // No check runs any more (one in flight at close may still finish).
    await new Promise((resolve) => setTimeout(resolve, 100))
    const last = health.getLastHealthCheck()
    await new Promise((resolve) => setTimeout(resolve, 4 * config.healthCheckIntervalMs))
    expect(health.getLastHealthCheck()).toBe(last)
  })
})

/** The Prisma client type the factory receives (any client with `$queryRawUnsafe`). */
type DatabaseHealthCheckClient = ConstructorParameters<typeof DatabaseHealthCheck>[0]

describe('CacheModule.register: memory only, without @nestjs/event-emitter’s module', () => {
  it('answers 503 on every health route when the database is unreachable', async () => {
    const AppModule = appModule({
      imports: [
        CacheModule.register({
          prisma: await live.unreachable(),
          databaseHealth: { timeout: '2s', env: false },
          healthController: { path: 'ops' },
        }),
      ],
    })
    const { app, url } = await listen(AppModule)
    try {
      const summary = await fetchJson(`${url}/ops/db`)
      expect(summary).toMatchObject({
        status: 503,
        body: { status: 'unhealthy', connected: false },
      })
      const detailed = await fetchJson(`${url}/ops/db/detailed`)
      expect(detailed).toMatchObject({ status: 503, body: { status: 'unhealthy' } })
      expect((detailed.body as { reasons: string[] }).reasons.length).toBeGreaterThan(0)
      const report = await fetchJson(`${url}/ops/db/report`)
      expect(report.status).toBe(503)
      expect(report.type).toContain('text/plain')
      expect(report.body).toMatch(/^Database health: UNHEALTHY/)
      expect((await fetchJson(`${url}/health/db`)).status).toBe(404)

      // Terminus is not in this application: the indicator says what is missing.
      const indicator = app.get(StrataCacheHealthIndicator)
      await expect(indicator.isDatabaseHealthy()).rejects.toThrow(/TerminusModule/)
    } finally {
      await app.close()
    }
  })

  it('fires rules from its own emitter (CACHE_INVALIDATION_EVENTS), with the configuration of the docs', async () => {
    const AppModule = appModule({
      imports: [
        CacheModule.register({
          redis: false,
          defaultTtl: 3600000,
          enableCompression: true,
          enableWarming: true,
          warmingInterval: 300000,
        }),
      ],
    })
    const app = await NestFactory.createApplicationContext(AppModule, {
      logger: false,
      abortOnError: false,
    })
    try {
      const events = app.get(CACHE_INVALIDATION_EVENTS)
      expect(events).toBeInstanceOf(EventEmitter)
      expect(events).not.toBeInstanceOf(EventEmitter2)
      const cache = app.get(CacheManager)
      const invalidation = app.get(CacheInvalidation)
      invalidation.registerRule({
        id: 'p',
        pattern: 'product:*',
        triggers: ['p.changed'],
        enabled: true,
      })
      await cache.set('product:9', { id: 9 })
      ;(events as EventEmitter).emit('p.changed')
      await invalidation.settled()
      expect(await cache.get('product:9')).toBeUndefined()
      // No Prisma client: no DatabaseHealthCheck provider.
      expect(() => app.get(DatabaseHealthCheck)).toThrow()
    } finally {
      await app.close()
    }
  })

  it('tells terminus Redis is bypassed, and is down over it only with failOnDegraded', async () => {
    const AppModule = appModule({
      imports: [
        TerminusModule,
        CacheModule.register({
          redis: { host: '127.0.0.1', port: await freePort() },
          cache: { prefix: newPrefix('degraded') },
        }),
      ],
    })
    const app = await NestFactory.createApplicationContext(AppModule, {
      logger: false,
      abortOnError: false,
    })
    try {
      const cache = app.get(CacheManager)
      await cache.set('a', 1) // the write Redis did not take opens the circuit
      expect(await cache.get('a')).toBe(1) // still served, from L1
      const indicator = app.get(StrataCacheHealthIndicator)
      expect(await indicator.isCacheHealthy()).toMatchObject({
        cache: { status: 'up', degraded: true },
      })
      expect(await indicator.isCacheHealthy('l2', { failOnDegraded: true })).toMatchObject({
        l2: { status: 'down', degraded: true, message: expect.stringContaining('bypassed') },
      })
      await expect(indicator.isDatabaseHealthy()).rejects.toMatchObject({ field: 'prisma' })
    } finally {
      await app.close()
    }
  })

  it('registerAsync without a Prisma client provides DatabaseHealthCheck as undefined', async () => {
    const AppModule = appModule({
      imports: [CacheModule.registerAsync({ useFactory: async () => ({ defaultTtl: '1m' }) })],
    })
    const app = await NestFactory.createApplicationContext(AppModule, {
      logger: false,
      abortOnError: false,
    })
    expect(app.get(DatabaseHealthCheck)).toBeUndefined()
    const cache = app.get(CacheManager)
    await cache.set('k', 'v')
    expect(await cache.get('k')).toBe('v')
    await app.close()
    await expect(cache.get('k')).rejects.toMatchObject({ code: 'ERR_CLOSED' })
  })

  it('keeps warmingItems warm from bootstrap, and stops at shutdown', async () => {
    let computed = 0
    const AppModule = appModule({
      imports: [
        CacheModule.register({
          enableWarming: true,
          warmingInterval: '1h',
          warmingItems: [{ key: 'featured', compute: () => ['a', String(++computed)], ttl: '1m' }],
        }),
      ],
    })
    const app = await NestFactory.createApplicationContext(AppModule, {
      logger: false,
      abortOnError: false,
    })
    const cache = app.get(CacheManager)
    await waitFor(async () => (await cache.get('featured')) !== undefined, { what: 'warming' })
    expect(await cache.get('featured')).toEqual(['a', '1'])
    expect(app.get(CacheInvalidation).getWarmingStats().items.featured?.successes).toBe(1)
    await app.close()
    await expect(cache.get('featured')).rejects.toMatchObject({ code: 'ERR_CLOSED' })
  })
})

describe('CacheModule options are validated, errors naming the option', () => {
  it.each([
    [
      { redis: { host: 'localhost', port: Number.parseInt('not a port', 10) } },
      'options.redis.port',
    ],
    [{ redis: { host: 'localhost', port: 70000 } }, 'options.redis.port'],
    [{ redis: { host: '', port: 6379 } }, 'options.redis.host'],
    [{ redis: { host: 'localhost', db: -1 } }, 'options.redis.db'],
    [{ redis: { host: 'localhost', tls: {} } }, 'options.redis.tls'],
    [{ defaultTTL: 1000 }, 'options.defaultTTL'],
    [{ defaultTtl: -5 }, 'options.defaultTtl'],
    [{ defaultTtl: 0 }, 'options.defaultTtl'],
    [{ defaultTtl: 1000, cache: { ttl: '1s' } }, 'options.cache.ttl'],
    [{ redis: 'redis://localhost', cache: { redis: false } }, 'options.cache.redis'],
    [{ enableCompression: false, cache: { compression: false } }, 'options.cache.compression'],
    [{ cache: { local: { maxEntries: 0 } } }, 'options.cache.local.maxEntries'],
    [{ enableWarming: 'yes' }, 'options.enableWarming'],
    [{ warmingInterval: '5 minutes' }, 'options.warmingInterval'],
    [{ enableWarming: true, warmingItems: [{ key: 'a' }] }, 'options.warmingItems[0].compute'],
    [{ healthController: true }, 'options.healthController'],
    [{ healthCheckInterval: '1m' }, 'options.healthCheckInterval'],
    [{ prisma: {} }, 'options.prisma'],
    [{ events: {} }, 'options.events'],
    [
      { prisma: { $queryRawUnsafe: async () => [] }, databaseHealth: { timeout: 'soon' } },
      'options.databaseHealth.timeout',
    ],
    [
      { prisma: { $queryRawUnsafe: async () => [] }, databaseHealth: { nope: 1 } },
      'options.databaseHealth.nope',
    ],
  ])('register(%j) → %s', async (options, field) => {
    const error = await refusal(() => CacheModule.register(options as never))
    expect(error.field).toBe(field)
    expect(error.message.startsWith(`${field}: `)).toBe(true)
  })

  it('maps the documented configuration onto CacheOptions', () => {
    const module = CacheModule.register({
      redis: { host: 'localhost', port: Number.parseInt('6379', 10), password: undefined, db: 0 },
      defaultTtl: 3600000,
      enableCompression: true,
      enableWarming: true,
      warmingInterval: 300000,
    })
    expect(module.global).toBe(true)
    const provider = module.providers?.find(
      (p) => typeof p === 'object' && 'provide' in p && p.provide === CACHE_MODULE_OPTIONS,
    ) as { useValue: ResolvedCacheModuleOptions }
    expect(provider.useValue.cache).toEqual({
      redis: { host: 'localhost', port: 6379, db: 0 },
      ttl: 3600000,
      compression: true,
    })
    // Warming is on but has nothing to warm until the application sets items up.
    expect(provider.useValue.warming).toBeUndefined()
  })

  it('checks registerAsync’s own options at once, and its factory’s result at start-up', async () => {
    expect((await refusal(() => CacheModule.registerAsync({} as never))).field).toBe(
      'options.useFactory',
    )
    expect(
      (
        await refusal(() =>
          CacheModule.registerAsync({ useFactory: () => ({}), extra: 1 } as never),
        )
      ).field,
    ).toBe('options.extra')
    expect(
      (
        await refusal(() =>
          CacheModule.registerAsync({ useFactory: () => ({}), healthController: 'yes' as never }),
        )
      ).field,
    ).toBe('options.healthController')

    const start = (factory: () => unknown, healthController = false) =>
      NestFactory.createApplicationContext(
        appModule({
          imports: [CacheModule.registerAsync({ useFactory: factory as never, healthController })],
        }),
        { logger: false, abortOnError: false },
      )
    const bad = await refusal(() => start(() => ({ redis: { host: 'localhost', db: 1.5 } })))
    expect(bad.field).toBe('options.redis.db')
    const misplaced = await refusal(() => start(async () => ({ healthController: true })))
    expect(misplaced.field).toBe('options.healthController')
    const noPrisma = await refusal(() => start(() => ({}), true))
    expect(noPrisma.field).toBe('options.healthController')
  })
})

/**
 * What each operations endpoint answers (routing, the admin token and body limits are in
 * `ops-handler.ts`). Bodies are validated with zod; a bad one is a 400 naming the field.
 */
import { randomBytes } from 'node:crypto'
import { z } from 'zod'
import type { CacheManager } from '../cache/cache-manager.js'
import { validationErrorOf } from '../cache/zod-issue.js'
import { invalid } from '../errors.js'
import { dashboardPage } from './dashboard-page.js'

/** A reply, before it is encoded for the mount (node response, fetch `Response`). */
export interface OpsReply {
  status: number
  /** JSON unless `type` says otherwise. */
  body: unknown
  type?: 'json' | 'text' | 'html'
  contentType?: string
  headers?: Record<string, string>
}

/** What the endpoints read from: `createOpsHandler`'s options, checked. */
export interface OpsContext {
  cache: CacheManager
  prisma: { $cache: PrismaCacheApi } | undefined
  health: HealthLike | undefined
  analyzer: { analyze(query: unknown): Promise<unknown> } | undefined
  invalidation: { warmNow(): Promise<unknown> } | undefined
  metrics: false | object
  /** The Prometheus exporter, made on the first scrape. */
  exporter?: Promise<{ metrics(): Promise<string>; contentType: string }>
}

interface PrismaCacheApi {
  stats(): { queries: QueryFigures | undefined }
  classes(): Record<StrategyClass, { ttlMs: number; models: string[] }>
  invalidateClass(name: StrategyClass): Promise<void>
}
type StrategyClass = 'hot' | 'aggregation' | 'reference'
interface QueryFigures {
  totals: unknown
  slowQueryCount: number
  nPlusOne: unknown[]
  since: number
}
interface HealthLike {
  check(): Promise<HealthFigures>
  generateReport(): string
}
interface HealthFigures {
  status: 'healthy' | 'degraded' | 'unhealthy'
  connected: boolean
  responseTime: number
  reasons: string[]
  details: { connectionPool: unknown; performance: unknown }
  timestamp: Date
}

/**
 * Who may call a route: anyone (health: load balancers), anyone unless `protectStats`
 * (figures), or only with the admin token (changes something, or shows SQL and call sites).
 */
export type Access = 'public' | 'stats' | 'admin'

export interface Route {
  method: 'GET' | 'POST' | 'DELETE'
  path: string
  access: Access
  handle(context: OpsContext, body: unknown): Promise<OpsReply>
}

/** The seed-compatible TTL classes of `POST /api/performance/cache/clear`, by strategy. */
const TIERS = { L1: 'hot', L2: 'aggregation', L3: 'reference' } as const

const invalidateBody = z
  .strictObject({
    tags: z.array(z.string().min(1).max(1024)).min(1).max(1000),
    keys: z.array(z.string().min(1).max(1024)).min(1).max(1000),
    // A glob only (never a RegExp), bounded: matching is linear in it, but every instance runs it.
    pattern: z.string().min(1).max(256),
  })
  .partial()
  .refine((body) => Object.keys(body).length > 0, 'must name tags, keys or a pattern')
const clearBody = z.strictObject({ tier: z.enum(['all', 'L1', 'L2', 'L3']) })
const analyzeBody = z.strictObject({
  model: z.string().min(1).max(128),
  operation: z.string().min(1).max(64),
  query: z.record(z.string(), z.unknown()).optional(),
  args: z.record(z.string(), z.unknown()).optional(),
})

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body)
  if (!parsed.success) throw validationErrorOf(parsed.error, 'body')
  return parsed.data
}

const json = (body: unknown, status = 200): OpsReply => ({ status, body })

/** 404 for an endpoint whose part was not given to `createOpsHandler`. */
function missing(option: string, what: string): OpsReply {
  const message = `no ${what}: pass ${option} to createOpsHandler`
  return { status: 404, body: { error: { code: 'ERR_NOT_CONFIGURED', message } } }
}

/** `status`, `connected`, `responseTime`, `timestamp`: what a load balancer needs, no SQL. */
function summary(health: HealthFigures) {
  const { status, connected, responseTime, timestamp } = health
  return { status, connected, responseTime, timestamp }
}

const healthStatus = (status: string) => (status === 'unhealthy' ? 503 : 200)

async function databaseHealth(context: OpsContext): Promise<HealthFigures | undefined> {
  return context.health?.check()
}

export const ROUTES: readonly Route[] = [
  {
    method: 'GET',
    path: '/health/db',
    access: 'public',
    async handle({ health }) {
      if (health === undefined) return missing('health', 'database health check')
      const result = await health.check()
      return json(summary(result), healthStatus(result.status))
    },
  },
  {
    method: 'GET',
    path: '/health/db/detailed',
    access: 'admin', // other sessions' SQL, in the slow queries
    async handle({ health }) {
      if (health === undefined) return missing('health', 'database health check')
      const result = await health.check()
      return json(result, healthStatus(result.status))
    },
  },
  {
    method: 'GET',
    path: '/health/db/report',
    access: 'admin',
    async handle({ health }) {
      if (health === undefined) return missing('health', 'database health check')
      return { status: 200, body: health.generateReport(), type: 'text' }
    },
  },
  {
    method: 'GET',
    path: '/api/v1/database/status',
    access: 'stats',
    async handle(context) {
      const result = await databaseHealth(context)
      if (result === undefined) return missing('health', 'database health check')
      const { connectionPool, performance } = result.details
      return json({
        ...summary(result),
        reasons: result.reasons,
        connectionPool,
        performance,
        queries: context.prisma?.$cache.stats().queries?.totals ?? null,
      })
    },
  },
  {
    method: 'GET',
    path: '/api/v1/database/cache/status',
    access: 'stats',
    async handle({ cache }) {
      const metrics = cache.getMetrics()
      return json({
        status: metrics.degraded ? 'degraded' : 'healthy',
        degraded: metrics.degraded,
        busTrusted: metrics.busTrusted,
        metrics,
        local: cache.getLocalCacheStats(),
      })
    },
  },
  {
    method: 'POST',
    path: '/api/v1/database/cache/invalidate',
    access: 'admin',
    async handle({ cache }, body) {
      const { tags, keys, pattern } = parse(invalidateBody, body)
      if (tags !== undefined) await cache.invalidateByTag(tags)
      if (keys !== undefined) await cache.delete(keys)
      const removed = pattern === undefined ? undefined : await cache.invalidateByPattern(pattern)
      return json({
        invalidated: {
          tags: tags?.length ?? 0,
          keys: keys?.length ?? 0,
          ...(pattern === undefined ? {} : { pattern, removed }),
        },
      })
    },
  },
  {
    method: 'DELETE',
    path: '/api/v1/database/cache/clear',
    access: 'admin',
    async handle({ cache }) {
      await cache.clear()
      return json({ cleared: 'all' })
    },
  },
  {
    method: 'GET',
    path: '/api/performance/stats',
    access: 'stats',
    async handle(context) {
      const queries = context.prisma?.$cache.stats().queries
      return json({
        cache: context.cache.getMetrics(),
        queries:
          queries === undefined
            ? null
            : {
                totals: queries.totals,
                slowQueries: queries.slowQueryCount,
                nPlusOneReports: queries.nPlusOne.length,
                since: queries.since,
              },
      })
    },
  },
  {
    method: 'GET',
    path: '/api/performance/cache',
    access: 'stats',
    async handle({ cache, prisma }) {
      const classes = prisma?.$cache.classes()
      return json({
        metrics: cache.getMetrics(),
        local: cache.getLocalCacheStats(),
        tiers:
          classes === undefined
            ? null
            : Object.fromEntries(
                Object.entries(TIERS).map(([tier, name]) => [
                  tier,
                  {
                    strategy: name,
                    ttlSeconds: classes[name].ttlMs / 1000,
                    models: classes[name].models,
                  },
                ]),
              ),
      })
    },
  },
  {
    method: 'GET',
    path: '/api/performance/queries',
    access: 'admin', // SQL, arguments' shapes and call sites
    async handle({ prisma }) {
      if (prisma === undefined) return missing('prisma', 'Prisma client')
      return json(prisma.$cache.stats().queries ?? null)
    },
  },
  {
    method: 'GET',
    path: '/api/performance/health',
    access: 'public',
    async handle(context) {
      const database = await databaseHealth(context)
      const metrics = context.cache.getMetrics()
      const cacheStatus = metrics.degraded || !metrics.busTrusted ? 'degraded' : 'healthy'
      const status =
        database?.status === 'unhealthy'
          ? 'unhealthy'
          : database?.status === 'degraded' || cacheStatus === 'degraded'
            ? 'degraded'
            : 'healthy'
      return json(
        {
          status,
          database: database === undefined ? null : summary(database),
          cache: {
            status: cacheStatus,
            degraded: metrics.degraded,
            busTrusted: metrics.busTrusted,
            hitRate: metrics.hitRate,
          },
          timestamp: new Date(),
        },
        healthStatus(status),
      )
    },
  },
  {
    method: 'POST',
    path: '/api/performance/cache/clear',
    access: 'admin',
    async handle({ cache, prisma }, body) {
      const { tier } = body === undefined ? { tier: 'all' as const } : parse(clearBody, body)
      if (tier === 'all') {
        await cache.clear()
        return json({ cleared: 'all' })
      }
      if (prisma === undefined)
        throw invalid(
          'body.tier',
          `${tier} is a class of Prisma reads: pass prisma to createOpsHandler`,
        )
      const name = TIERS[tier]
      await prisma.$cache.invalidateClass(name)
      return json({ cleared: tier, strategy: name, models: prisma.$cache.classes()[name].models })
    },
  },
  {
    method: 'POST',
    path: '/api/performance/analyze',
    access: 'admin',
    async handle({ analyzer }, body) {
      if (analyzer === undefined) return missing('analyzer', 'QueryAnalyzer')
      const { model, operation, query, args } = parse(analyzeBody, body)
      return json(await analyzer.analyze({ model, operation, args: args ?? query ?? {} }))
    },
  },
  {
    method: 'POST',
    path: '/api/performance/prefetch',
    access: 'admin',
    async handle({ invalidation }) {
      if (invalidation === undefined) return missing('invalidation', 'CacheInvalidation (warming)')
      const round = await invalidation.warmNow()
      if (round === undefined)
        throw invalid('invalidation', 'has no warming set up (setupCacheWarming)')
      return json({ prefetched: round })
    },
  },
  {
    method: 'GET',
    path: '/dashboard',
    access: 'public', // the page holds no figures: it asks the endpoints above, with the token
    async handle() {
      const nonce = randomBytes(16).toString('base64')
      return {
        status: 200,
        body: dashboardPage({ nonce }),
        type: 'html',
        headers: {
          // Nothing but this page's own script and style, and calls back to these endpoints.
          'content-security-policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
          'referrer-policy': 'no-referrer',
        },
      }
    },
  },
  {
    method: 'GET',
    path: '/metrics',
    access: 'stats',
    async handle(context) {
      const { metrics } = context
      if (metrics === false) return missing('metrics', 'metrics (metrics: false)')
      context.exporter ??= import('./prometheus.js')
        .then(({ createMetricsExporter }) =>
          createMetricsExporter({
            cache: context.cache,
            // A client made with `metrics: false` has no query figures to export.
            ...(context.prisma?.$cache.stats().queries === undefined
              ? {}
              : { prisma: context.prisma }),
            ...(context.health === undefined
              ? {}
              : { health: context.health, checkOnScrape: true }),
            ...metrics,
          } as never),
        )
        .catch((error: unknown) => {
          context.exporter = undefined // prom-client installed later: the next scrape tries again
          throw error
        })
      const exporter = await context.exporter
      return {
        status: 200,
        body: await exporter.metrics(),
        type: 'text',
        contentType: exporter.contentType,
      }
    },
  },
]

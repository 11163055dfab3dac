/**
 * What the health, status and figures endpoints answer, and the dashboard page and `/metrics`
 * (the admin actions are in `ops-actions.ts`; routing, the token and bodies in `ops-handler.ts`).
 */
import { randomBytes } from 'node:crypto'
import { dashboardPage } from './dashboard-page.js'
import {
  type HealthFigures,
  json,
  missing,
  type OpsContext,
  type Route,
  TIERS,
} from './ops-reply.js'

/** `status`, `connected`, `responseTime`, `timestamp`: what a load balancer needs, no SQL. */
function summary(health: HealthFigures) {
  const { status, connected, responseTime, timestamp } = health
  return { status, connected, responseTime, timestamp }
}

const healthStatus = (status: string) => (status === 'unhealthy' ? 503 : 200)

async function databaseHealth(context: OpsContext): Promise<HealthFigures | undefined> {
  return context.health?.check()
}

/** The endpoints that read: health, status, figures, the dashboard, `/metrics`. */
export const READ_ROUTES: readonly Route[] = [
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
    async handle({ health, prisma }) {
      if (health === undefined) return missing('health', 'database health check')
      const result = await health.check()
      const changeFeed = prisma?.$cache.changeFeed?.status()
      return json(
        changeFeed === undefined ? result : { ...result, changeFeed },
        healthStatus(result.status),
      )
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
        changeFeed: context.prisma?.$cache.changeFeed?.status() ?? null,
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
        changeFeed: context.prisma?.$cache.changeFeed?.status() ?? null,
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

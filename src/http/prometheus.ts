/**
 * `createMetricsExporter`: the cache's, the Prisma extension's and the database toolkit's figures
 * as Prometheus metrics, in a prom-client registry. prom-client is an optional peer dependency,
 * imported only here and only when an exporter is made.
 */
import type { Registry as PromRegistry, RegistryContentType } from 'prom-client'
import { CacheManager } from '../cache/cache-manager.js'
import { invalid } from '../errors.js'
import { describeValue } from '../option-checks.js'
import type { ChangeFeedApi } from '../prisma/extension/cache-api.js'
import type { QueryMetrics } from '../prisma/metrics/query-metrics.js'
import { cacheMetrics } from './prometheus-cache.js'
import {
  loadPromClient,
  type MetricDefinition,
  registerAll,
  ScrapedMetric,
  unregisterAll,
} from './prometheus-collector.js'
import {
  type HealthSource,
  healthMetrics,
  type PoolSource,
  poolMetrics,
  type TransactionSource,
  transactionMetrics,
} from './prometheus-database.js'
import {
  changeFeedMetrics,
  changeFeedOf,
  type PrismaMetricsSource,
  prismaMetrics,
  resolveQueryMetrics,
} from './prometheus-prisma.js'

export type { HealthSource, PoolSource, PrismaMetricsSource, TransactionSource }

/** A prom-client registry, in the Prometheus or the OpenMetrics format. */
export type Registry = PromRegistry<RegistryContentType>

/** Buckets of the Prisma and transaction duration histograms, seconds: 0.5 ms to 10 s. */
export const DEFAULT_QUERY_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]

/** Buckets of the Redis call histogram, seconds: 100 µs to 1 s. */
export const DEFAULT_L2_BUCKETS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
]

/** Options of {@link createMetricsExporter}. Only `cache` is required. */
export interface MetricsExporterOptions {
  /** The cache whose counters, L1 figures, events and Redis call durations are exported. */
  cache: CacheManager
  /**
   * A Prisma client extended with `withCache` (its query metrics), or the `QueryMetrics` given
   * to `withQueryMetrics`: calls, errors and durations by model and operation, slow queries, N+1.
   * @default undefined (no Prisma metrics)
   */
  prisma?: PrismaMetricsSource
  /**
   * A `DatabaseHealthCheck`: up, status, response time, PostgreSQL's figures and, without
   * `connections`, the pool figures of its last check.
   * @default undefined (no health metrics)
   */
  health?: HealthSource
  /**
   * Whether each scrape runs `health.check()` (bounded by its timeout; concurrent scrapes share
   * one run). Otherwise the result of its own schedule (`startContinuousCheck`) is read, and the
   * health metrics are absent until a first check ended.
   * @default false
   */
  checkOnScrape?: boolean
  /**
   * A `ConnectionManager`: live pool counts (no query) and pool errors, in place of the health
   * check's pool figures.
   * @default undefined
   */
  connections?: PoolSource
  /**
   * A `TransactionManager`, or a `ConnectionManager` (its `executeTransaction` counters):
   * transactions by outcome, their durations, retries, failed attempts by kind.
   * @default undefined (no transaction metrics)
   */
  transactions?: TransactionSource
  /**
   * The prom-client registry to register in: your own, to serve them with your other metrics.
   * Two exporters on one registry need distinct prefixes.
   * @default a new Registry of the exporter's own
   */
  registry?: Registry
  /**
   * Start of every metric name: letters, digits and underscores, ending with `_`.
   * @default 'stratacache_'
   */
  prefix?: string
  /**
   * Bucket bounds (seconds, ascending) of the Prisma and transaction duration histograms.
   * @default DEFAULT_QUERY_BUCKETS
   */
  queryBuckets?: readonly number[]
  /**
   * Bucket bounds (seconds, ascending) of `l2_command_duration_seconds`, or `false` for none:
   * timing Redis calls costs two clock reads per call, made only while an exporter observes.
   * @default DEFAULT_L2_BUCKETS
   */
  l2Buckets?: readonly number[] | false
}

/** What {@link createMetricsExporter} returns. */
export interface MetricsExporter {
  /** The registry the metrics are in: `options.registry`, or the exporter's own. */
  readonly registry: Registry
  /** The registry's content type, for the `Content-Type` header of a `/metrics` answer. */
  readonly contentType: string
  /** Every metric of the registry in the text exposition format. */
  metrics(): Promise<string>
  /** Removes this exporter's listeners, Redis timing and metrics. Idempotent. */
  close(): void
}

const OPTIONS = new Set([
  'cache',
  'prisma',
  'health',
  'checkOnScrape',
  'connections',
  'transactions',
  'registry',
  'prefix',
  'queryBuckets',
  'l2Buckets',
])
const PREFIX = /^[a-zA-Z_][a-zA-Z0-9_]*_$/
const MAX_BUCKETS = 50

function hasMethods(value: unknown, field: string, methods: readonly string[], what: string) {
  const ok =
    typeof value === 'object' &&
    value !== null &&
    methods.every((m) => typeof (value as Record<string, unknown>)[m] === 'function')
  if (!ok) throw invalid(field, `must be ${what}, got ${describeValue(value)}`)
}

function buckets(value: unknown, field: string): readonly number[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_BUCKETS) {
    throw invalid(field, `must be an array of 1 to ${MAX_BUCKETS} bounds in seconds`)
  }
  value.forEach((bound, i) => {
    if (typeof bound !== 'number' || !Number.isFinite(bound) || bound <= 0) {
      throw invalid(
        `${field}[${i}]`,
        `must be a finite number > 0 (seconds), got ${describeValue(bound)}`,
      )
    }
    if (i > 0 && bound <= value[i - 1]) {
      throw invalid(`${field}[${i}]`, 'must be greater than the bound before it')
    }
  })
  return [...value]
}

interface Resolved {
  cache: CacheManager
  queries: QueryMetrics | undefined
  changeFeed: ChangeFeedApi | undefined
  health: HealthSource | undefined
  checkOnScrape: boolean
  connections: PoolSource | undefined
  transactions: TransactionSource | undefined
  registry: Registry | undefined
  prefix: string
  queryBuckets: readonly number[]
  l2Buckets: readonly number[] | undefined
}

/** Validates every option before prom-client is loaded or anything is attached. */
function resolveOptions(options: unknown): Resolved {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalid('options', `must be an object { cache, ... }, got ${describeValue(options)}`)
  }
  const o = options as Record<string, unknown>
  for (const key of Object.keys(o)) {
    if (!OPTIONS.has(key)) throw invalid(key, 'is not an option of createMetricsExporter')
  }
  if (!(o.cache instanceof CacheManager)) {
    throw invalid('cache', `must be a CacheManager, got ${describeValue(o.cache)}`)
  }
  if (o.health !== undefined) {
    hasMethods(o.health, 'health', ['check', 'getLastHealthCheck'], 'a DatabaseHealthCheck')
  }
  if (o.checkOnScrape !== undefined && typeof o.checkOnScrape !== 'boolean') {
    throw invalid('checkOnScrape', `must be a boolean, got ${describeValue(o.checkOnScrape)}`)
  }
  if (o.checkOnScrape === true && o.health === undefined) {
    throw invalid('checkOnScrape', 'needs the health option')
  }
  if (o.connections !== undefined) {
    hasMethods(o.connections, 'connections', ['getStats'], 'a ConnectionManager')
  }
  if (o.transactions !== undefined) {
    hasMethods(o.transactions, 'transactions', ['getStats'], 'a TransactionManager')
  }
  if (o.registry !== undefined) {
    hasMethods(o.registry, 'registry', ['registerMetric', 'metrics'], 'a prom-client Registry')
  }
  const prefix = o.prefix ?? 'stratacache_'
  if (typeof prefix !== 'string' || !PREFIX.test(prefix)) {
    throw invalid(
      'prefix',
      `must be letters, digits and _ ending with _, got ${describeValue(prefix)}`,
    )
  }
  return {
    cache: o.cache,
    queries: o.prisma === undefined ? undefined : resolveQueryMetrics(o.prisma, 'prisma'),
    changeFeed: changeFeedOf(o.prisma),
    health: o.health as HealthSource | undefined,
    checkOnScrape: o.checkOnScrape === true,
    connections: o.connections as PoolSource | undefined,
    transactions: o.transactions as TransactionSource | undefined,
    registry: o.registry as Registry | undefined,
    prefix,
    queryBuckets:
      o.queryBuckets === undefined
        ? DEFAULT_QUERY_BUCKETS
        : buckets(o.queryBuckets, 'queryBuckets'),
    l2Buckets:
      o.l2Buckets === false
        ? undefined
        : o.l2Buckets === undefined
          ? DEFAULT_L2_BUCKETS
          : buckets(o.l2Buckets, 'l2Buckets'),
  }
}

/**
 * Exports the cache's metrics (and, when given, the Prisma client's, the database health
 * check's, the pool's and the transaction manager's) to Prometheus through prom-client.
 * Counters are read from their sources when scraped, so nothing is added to the hot paths
 * but the timing of Redis calls (see `l2Buckets`).
 *
 * Throws a `ValidationError` naming a bad option, a prefix whose names the registry already
 * has, or a missing prom-client (`npm install prom-client`).
 *
 * @example
 * ```ts
 * const exporter = await createMetricsExporter({ cache, prisma, health })
 * app.get('/metrics', async (_req, res) => {
 *   res.type(exporter.contentType).send(await exporter.metrics())
 * })
 * ```
 */
export async function createMetricsExporter(
  options: MetricsExporterOptions,
): Promise<MetricsExporter> {
  const o = resolveOptions(options)
  const prom = await loadPromClient()
  const registry = o.registry ?? new prom.Registry()
  const lastHealth = healthReader(o.health, o.checkOnScrape)
  const cache = cacheMetrics(o.cache, o.l2Buckets)
  const definitions: MetricDefinition[] = [...cache.definitions]
  if (o.queries !== undefined) definitions.push(...prismaMetrics(o.queries, o.queryBuckets))
  if (o.changeFeed !== undefined) definitions.push(...changeFeedMetrics(o.changeFeed))
  if (lastHealth !== undefined) definitions.push(...healthMetrics(lastHealth))
  if (o.connections !== undefined || lastHealth !== undefined) {
    definitions.push(...poolMetrics(o.connections, lastHealth))
  }
  if (o.transactions !== undefined) {
    definitions.push(...transactionMetrics(o.transactions, o.queryBuckets))
  }
  const metrics = definitions.map((definition) => new ScrapedMetric(o.prefix, definition))
  try {
    registerAll(registry, metrics)
  } catch (error) {
    cache.detach()
    throw error
  }
  let closed = false
  return {
    registry,
    get contentType() {
      return registry.contentType
    },
    metrics: () => registry.metrics(),
    close() {
      if (closed) return
      closed = true
      cache.detach()
      unregisterAll(registry, metrics)
    },
  }
}

/** How a scrape gets the health result: a fresh check, or the last one; none without `health`. */
function healthReader(health: HealthSource | undefined, checkOnScrape: boolean) {
  if (health === undefined) return undefined
  // check() is single-flight: the health metrics of one scrape, read side by side, share a run.
  return checkOnScrape ? () => health.check() : () => Promise.resolve(health.getLastHealthCheck())
}

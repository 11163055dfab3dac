/**
 * The query metrics of a Prisma client extended with `withCache` (or the `QueryMetrics` given to
 * `withQueryMetrics`): calls by model, operation and cache status, errors, latency and database
 * time histograms, slow queries and N+1 reports. Labels are the model and the operation only:
 * both come from the schema, so the series are bounded (the metrics fold anything past 1000
 * pairs into `$other`).
 */
import { invalid } from '../errors.js'
import type { ChangeFeedApi } from '../prisma/extension/cache-api.js'
import type { LatencyHistogram } from '../prisma/metrics/histogram.js'
import { QueryMetrics, queryMetricsOf } from '../prisma/metrics/query-metrics.js'
import { latencySamples, type MetricDefinition, type Sample } from './prometheus-collector.js'

/** What `prisma` may be: a client extended with `withCache`, or a `QueryMetrics`. */
export type PrismaMetricsSource =
  | {
      /** The `withCache` extension's API. */
      $cache: {
        /** The extension's statistics. */
        stats(): {
          /** The query metrics, when `withCache` was given `metrics`. */
          queries?: unknown
        }
      }
    }
  | QueryMetrics

/** The `QueryMetrics` behind `source`; throws naming `field` when there is none. */
export function resolveQueryMetrics(source: unknown, field: string): QueryMetrics {
  if (source instanceof QueryMetrics) return source
  const api = (source as { $cache?: { stats?: unknown } } | null | undefined)?.$cache
  if (typeof source !== 'object' || source === null || typeof api?.stats !== 'function') {
    throw invalid(
      field,
      'must be a Prisma client extended with withCache, or the QueryMetrics given to withQueryMetrics',
    )
  }
  const metrics = queryMetricsOf((api.stats as () => { queries?: unknown })().queries)
  if (metrics === undefined) {
    throw invalid(field, 'has no query metrics: its withCache was made with metrics: false')
  }
  return metrics
}

/** The change feed of `source`, when it is a client extended with `withCache` whose feed is on. */
export function changeFeedOf(source: unknown): ChangeFeedApi | undefined {
  if (source instanceof QueryMetrics) return undefined
  return (source as { $cache?: { changeFeed?: ChangeFeedApi } } | undefined)?.$cache?.changeFeed
}

/** The change feed's state: lag, transactions and rows invalidated, flushes, retries, role. */
export function changeFeedMetrics(feed: ChangeFeedApi): MetricDefinition[] {
  const gauge = (
    name: string,
    help: string,
    read: (status: ReturnType<ChangeFeedApi['status']>) => number | undefined,
    type: 'gauge' | 'counter' = 'gauge',
  ): MetricDefinition => ({
    name,
    help,
    type,
    collect: () => {
      const value = read(feed.status())
      return value === undefined ? [] : [{ labels: {}, value }]
    },
  })
  return [
    gauge(
      'change_feed_lag_bytes',
      "WAL PostgreSQL keeps for the change feed's slot that its consumer has not confirmed (logical mode).",
      (s) => s.lagBytes,
    ),
    gauge(
      'change_feed_lag_seconds',
      "From the last transaction's commit to its invalidation, on the consumer.",
      (s) => s.lagSeconds,
    ),
    gauge(
      'change_feed_consumer',
      '1 when this instance consumes the change feed, 0 when it stands by (or cannot run).',
      (s) => (s.role === 'consumer' ? 1 : 0),
    ),
    gauge(
      'change_feed_transactions_total',
      'Committed transactions the change feed invalidated on this instance.',
      (s) => s.transactions,
      'counter',
    ),
    gauge(
      'change_feed_rows_total',
      'Changed rows those transactions held.',
      (s) => s.rows,
      'counter',
    ),
    gauge(
      'change_feed_flushes_total',
      'Invalidations of every cached read by the change feed (a new slot, a notify listener reconnected).',
      (s) => s.flushes,
      'counter',
    ),
    gauge(
      'change_feed_retries_total',
      'Change-feed invalidations tried again because Redis did not take them.',
      (s) => s.retries,
      'counter',
    ),
  ]
}

/** The labels of one model and operation; raw queries are under model `$raw`. */
function labelsOf(model: string | undefined, operation: string) {
  return { model: model ?? '$raw', operation }
}

function histogram(
  name: string,
  metrics: QueryMetrics,
  bounds: readonly number[],
  pick: (stats: ReturnType<QueryMetrics['operationStats']>[number]) => LatencyHistogram,
): Sample[] {
  const out: Sample[] = []
  for (const stats of metrics.operationStats()) {
    out.push(...latencySamples(name, labelsOf(stats.model, stats.operation), bounds, pick(stats)))
  }
  return out
}

/** The Prisma metrics of `metrics`, histograms in `buckets` (seconds). */
export function prismaMetrics(
  metrics: QueryMetrics,
  buckets: readonly number[],
): MetricDefinition[] {
  return [
    {
      name: 'prisma_queries_total',
      help: 'Prisma calls by model, operation and cache status (hit, swr: served stale while refreshed, miss: went to the database and was cached, uncached: writes, raw queries, transactions, cacheStrategy false). Raw queries are under model $raw.',
      type: 'counter',
      collect: () => {
        const out: Sample[] = []
        for (const s of metrics.operationStats()) {
          const labels = labelsOf(s.model, s.operation)
          out.push(
            { labels: { ...labels, cache: 'hit' }, value: s.hits },
            { labels: { ...labels, cache: 'swr' }, value: s.swr },
            { labels: { ...labels, cache: 'miss' }, value: s.misses },
            { labels: { ...labels, cache: 'uncached' }, value: s.uncached },
          )
        }
        return out
      },
    },
    {
      name: 'prisma_query_errors_total',
      help: 'Prisma calls that failed, by model and operation.',
      type: 'counter',
      collect: () =>
        metrics
          .operationStats()
          .map((s) => ({ labels: labelsOf(s.model, s.operation), value: s.errors })),
    },
    {
      name: 'prisma_query_duration_seconds',
      help: 'Duration of Prisma calls as their callers saw it (cache hits included), by model and operation.',
      type: 'histogram',
      collect: (name) => histogram(name, metrics, buckets, (s) => s.latency),
    },
    {
      name: 'prisma_database_duration_seconds',
      help: 'Time Prisma calls spent in the database (misses and uncached calls), by model and operation.',
      type: 'histogram',
      collect: (name) => histogram(name, metrics, buckets, (s) => s.db),
    },
    {
      name: 'prisma_slow_queries_total',
      help: 'Database calls slower than the slow-query threshold (DATABASE_MAX_QUERY_EXECUTION_TIME).',
      type: 'counter',
      collect: () => [{ labels: {}, value: metrics.slowQueryCount }],
    },
    {
      name: 'prisma_n_plus_one_total',
      help: 'N+1 patterns reported (one query shape repeated within a request or a burst).',
      type: 'counter',
      collect: () => [{ labels: {}, value: metrics.nPlusOneCount }],
    },
  ]
}

import { describe, expect, it } from 'vitest'
import { PrismaClient } from '../../prisma/generated/client.js'
import { ConnectionManager, DatabaseHealthCheck } from '../../src/database/index.js'
import { createMetricsExporter } from '../../src/http/prometheus.js'
import { CacheManager } from '../../src/index.js'
import { runWithQueryContext } from '../../src/prisma/index.js'
import { DATABASE_URL } from '../support/database.js'
import { scrape, usePrometheusFixture } from '../support/prometheus-fixture.js'
import { bucketsOf, delta, sampleOf } from '../support/prometheus-text.js'
import { uniquePrefix } from '../support/redis.js'
import { waitFor } from '../support/wait.js'

// The exporter against a real cache on Redis, a real Prisma client extended with withCache on
// PostgreSQL, real health checks, transaction and connection managers: traffic, then the
// exposition text must have moved by exactly what the traffic did. Names, registries, options
// and the shipped dashboard and alert rules: prometheus-conventions.test.ts.

const f = usePrometheusFixture('http_prometheus')

describe('cache metrics', () => {
  it('move by exactly the traffic: hits per tier, misses, fills, fenced fills, invalidations', async () => {
    const { cache, writer } = f
    const before = await scrape(f.exporter)
    await cache.set('p:a', 1)
    await cache.get('p:a')
    await cache.get('p:a')
    await writer.set('p:b', 2)
    await cache.get('p:b')
    await cache.get('p:none')
    await cache.getOrCompute('p:c', async () => 3)
    await expect(
      cache.getOrCompute('p:d', async () => {
        throw new Error('loader down')
      }),
    ).rejects.toThrow('loader down')
    // An invalidation of its key while the loader runs: that value is not cached, and the
    // caller, whose read came before the invalidation resolved, loads again.
    let raced = false
    await cache.getOrCompute('p:e', async () => {
      if (!raced) {
        raced = true
        await cache.delete('p:e')
      }
      return 5
    })
    await cache.invalidateByTag('p-tag')
    await cache.invalidateByPattern('p:zz*')
    const after = await scrape(f.exporter)
    const d = (name: string, labels: Record<string, string> = {}) =>
      delta(before, after, `stratacache_${name}`, labels)
    expect(d('hits_total', { tier: 'l1' })).toBe(2)
    expect(d('hits_total', { tier: 'l2' })).toBe(1)
    expect(d('misses_total')).toBe(4) // p:none, p:c, p:d, p:e
    expect(d('loader_calls_total')).toBe(4) // p:c, p:d, p:e twice
    expect(d('loader_errors_total')).toBe(1)
    expect(d('fenced_fills_total')).toBe(1)
    expect(d('deletes_total')).toBe(1)
    expect(d('invalidations_total', { kind: 'delete', origin: 'local' })).toBe(1)
    expect(d('invalidations_total', { kind: 'tag', origin: 'local' })).toBe(1)
    expect(d('invalidations_total', { kind: 'pattern', origin: 'local' })).toBe(1)
    expect(d('invalidations_total', { kind: 'clear', origin: 'remote' })).toBe(0)
    expect(d('errors_total')).toBe(0)
    // The counters are the cache's own, read at scrape time.
    const m = cache.getMetrics()
    expect(sampleOf(after, 'stratacache_misses_total')).toBe(m.misses)
    expect(sampleOf(after, 'stratacache_sets_total')).toBe(m.sets)
    expect(sampleOf(after, 'stratacache_tier_misses_total', { tier: 'l1' })).toBe(m.l1Misses)
  })

  it('counts stale hits and the background refresh they start', async () => {
    const { cache } = f
    const options = { ttl: 50, staleWhileRevalidate: '1m' }
    await cache.getOrCompute('p:s', async () => 1, options)
    // Well past the TTL: freshness is measured on Redis's clock, known to half a round trip.
    await new Promise((resolve) => setTimeout(resolve, 400))
    const before = await scrape(f.exporter)
    const calls = cache.getMetrics().loaderCalls
    await cache.getOrCompute('p:s', async () => 2, options)
    await waitFor(() => cache.getMetrics().loaderCalls > calls, { what: 'the refresh' })
    const after = await scrape(f.exporter)
    expect(delta(before, after, 'stratacache_stale_hits_total')).toBe(1)
    expect(delta(before, after, 'stratacache_loader_calls_total')).toBe(1)
  })

  it('reports L1 size, bus trust and no degradation as gauges', async () => {
    const { cache } = f
    const now = await scrape(f.exporter)
    const l1 = cache.getLocalCacheStats()
    expect(sampleOf(now, 'stratacache_l1_entries')).toBe(l1.entries)
    expect(sampleOf(now, 'stratacache_l1_bytes')).toBe(l1.totalSize)
    expect(sampleOf(now, 'stratacache_l1_max_bytes')).toBe(l1.maxBytes)
    expect(l1.entries).toBeGreaterThan(0)
    expect(sampleOf(now, 'stratacache_degraded')).toBe(0)
    expect(sampleOf(now, 'stratacache_bus_trusted')).toBe(1)
  })

  it('times Redis calls in a histogram by operation', async () => {
    const { cache, writer } = f
    const before = await scrape(f.exporter)
    for (let i = 0; i < 5; i++) await writer.get(`p:l2:${i}`) // not this cache: no change
    for (let i = 0; i < 5; i++) await cache.get(`p:l2:${i}`)
    const after = await scrape(f.exporter)
    const family = 'stratacache_l2_command_duration_seconds'
    expect(delta(before, after, `${family}_count`, { operation: 'get' })).toBe(5)
    const buckets = bucketsOf(after, family, { operation: 'get' })
    expect(buckets.at(-1)).toEqual({ le: Number.POSITIVE_INFINITY, value: expect.any(Number) })
    expect(buckets.at(-1)!.value).toBe(sampleOf(after, `${family}_count`, { operation: 'get' }))
    for (let i = 1; i < buckets.length; i++) {
      expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value)
    }
    expect(sampleOf(after, `${family}_sum`, { operation: 'get' })).toBeGreaterThan(0)
  })

  it('shows Redis failures, the open circuit and an untrusted bus', async () => {
    const { closing } = f
    const down = new CacheManager({
      redis: 'redis://127.0.0.1:1',
      prefix: uniquePrefix('prometheus_down'),
      commandTimeout: 50,
      circuitBreaker: { failureThreshold: 2, openDuration: 60_000 },
    })
    closing.push(down)
    const exported = await createMetricsExporter({ cache: down })
    closing.push(exported)
    for (let i = 0; i < 3; i++) await down.get(`k${i}`)
    await waitFor(() => down.getMetrics().degraded, { what: 'the circuit to open' })
    const now = await scrape(exported)
    const failures =
      (sampleOf(now, 'stratacache_l2_errors_total', { reason: 'timeout' }) ?? 0) +
      (sampleOf(now, 'stratacache_l2_errors_total', { reason: 'unavailable' }) ?? 0)
    expect(failures).toBeGreaterThanOrEqual(2)
    expect(sampleOf(now, 'stratacache_errors_total')).toBeGreaterThanOrEqual(failures)
    expect(sampleOf(now, 'stratacache_degraded')).toBe(1)
    expect(sampleOf(now, 'stratacache_l2_circuit_openings_total')).toBe(1)
    expect(sampleOf(now, 'stratacache_bus_trusted')).toBe(0)
  })
})

describe('Prisma metrics', () => {
  it('count calls by model, operation and cache status, with duration histograms', async () => {
    const { prisma } = f
    const before = await scrape(f.exporter)
    for (let i = 0; i < 3; i++) await prisma.product.findUnique({ where: { id: 1 } })
    await prisma.product.update({ where: { id: 2 }, data: { name: 'Renamed' } })
    await runWithQueryContext(async () => {
      for (const productId of [1, 2, 3, 4]) await prisma.review.findMany({ where: { productId } })
    })
    const after = await scrape(f.exporter)
    const queries = (model: string, operation: string, status: string) =>
      delta(before, after, 'stratacache_prisma_queries_total', {
        model,
        operation,
        cache: status,
      })
    expect(queries('Product', 'findUnique', 'hit')).toBe(2)
    expect(queries('Product', 'findUnique', 'miss')).toBe(1)
    expect(queries('Product', 'update', 'uncached')).toBe(1)
    expect(queries('Review', 'findMany', 'miss')).toBe(4)
    expect(delta(before, after, 'stratacache_prisma_n_plus_one_total')).toBe(1)
    // Threshold 0: every call that went to the database is slow.
    const toDatabase = after.samples
      .filter((s) => s.name === 'stratacache_prisma_queries_total')
      .filter((s) => s.labels.cache === 'miss' || s.labels.cache === 'uncached')
      .reduce((sum, s) => sum + delta(before, after, s.name, s.labels), 0)
    expect(toDatabase).toBeGreaterThanOrEqual(6)
    expect(delta(before, after, 'stratacache_prisma_slow_queries_total')).toBe(toDatabase)

    const labels = { model: 'Product', operation: 'findUnique' }
    const latency = 'stratacache_prisma_query_duration_seconds'
    expect(delta(before, after, `${latency}_count`, labels)).toBe(3)
    expect(delta(before, after, 'stratacache_prisma_database_duration_seconds_count', labels)).toBe(
      1,
    )
    const buckets = bucketsOf(after, latency, labels)
    expect(buckets.at(-1)!.value).toBe(sampleOf(after, `${latency}_count`, labels))
    for (let i = 1; i < buckets.length; i++) {
      expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value)
    }
    expect(sampleOf(after, `${latency}_sum`, labels)).toBeGreaterThan(0)
  })
})

describe('database metrics', () => {
  it('report the last health check: up, status, response time, pool', async () => {
    const { db, base, cache, closing } = f
    const fresh = new DatabaseHealthCheck(base, { pool: db.pool })
    const exported = await createMetricsExporter({ cache, health: fresh, prefix: 'fresh_' })
    closing.push(exported)
    // Before the first check nothing is known, and nothing is made up.
    expect(sampleOf(await scrape(exported), 'fresh_database_up')).toBeUndefined()
    const result = await fresh.check()
    const now = await scrape(exported)
    expect(sampleOf(now, 'fresh_database_up')).toBe(1)
    for (const status of ['healthy', 'degraded', 'unhealthy']) {
      const expected = status === result.status ? 1 : 0
      expect(sampleOf(now, 'fresh_database_status', { status })).toBe(expected)
    }
    expect(sampleOf(now, 'fresh_database_response_time_seconds')).toBe(result.responseTime / 1000)
    expect(sampleOf(now, 'fresh_database_pool_max_connections')).toBe(4)
    expect(sampleOf(now, 'fresh_database_pool_waiting_requests')).toBe(0)
    expect(sampleOf(now, 'fresh_database_pool_connections', { state: 'idle' })).toBeDefined()
    expect(sampleOf(now, 'fresh_database_max_connections')).toBeGreaterThan(0)
    expect(sampleOf(now, 'fresh_database_connections', { scope: 'server' })).toBeGreaterThan(0)
  })

  it('runs a check per scrape with checkOnScrape', async () => {
    const { cache, health, closing } = f
    const exported = await createMetricsExporter({
      cache,
      health,
      checkOnScrape: true,
      prefix: 'scraped_',
    })
    closing.push(exported)
    const first = sampleOf(await scrape(exported), 'scraped_database_last_check_timestamp_seconds')
    await new Promise((resolve) => setTimeout(resolve, 20))
    const second = sampleOf(await scrape(exported), 'scraped_database_last_check_timestamp_seconds')
    expect(first).toBeGreaterThan(0)
    expect(second).toBeGreaterThan(first!)
  })

  it('count transactions by outcome, and live pool figures of a ConnectionManager', async () => {
    const { db, cache, closing } = f
    const manager = new ConnectionManager({
      PrismaClient,
      url: DATABASE_URL,
      poolSize: 3,
      pool: { options: `-c search_path=${db.schema}` },
      adapter: { schema: db.schema },
    })
    closing.push({ close: () => manager.disconnect() })
    const exported = await createMetricsExporter({
      cache,
      connections: manager,
      transactions: manager,
      prefix: 'pool_',
    })
    closing.push(exported)
    const before = await scrape(exported)
    const committed = await manager.executeTransaction((tx) => tx.category.count())
    const failed = await manager.executeTransaction(async () => {
      throw new Error('insufficient funds')
    })
    expect(failed.success).toBe(false)
    const after = await scrape(exported)
    expect(delta(before, after, 'pool_transactions_total', { outcome: 'committed' })).toBe(1)
    expect(delta(before, after, 'pool_transactions_total', { outcome: 'failed' })).toBe(1)
    // One duration per call and outcome: the whole call as execute() reported it.
    const duration = 'pool_transaction_duration_seconds'
    for (const [outcome, result] of [
      ['committed', committed],
      ['failed', failed],
    ] as const) {
      expect(sampleOf(before, `${duration}_count`, { outcome })).toBeUndefined()
      expect(sampleOf(after, `${duration}_count`, { outcome })).toBe(1)
      expect(sampleOf(after, `${duration}_sum`, { outcome })).toBeCloseTo(
        result.durationMs / 1000,
        9,
      )
      const buckets = bucketsOf(after, duration, { outcome })
      const first = buckets.findIndex((b) => b.value === 1)
      expect(buckets.slice(first).every((b) => b.value === 1)).toBe(true)
      expect(buckets[first]!.le).toBeGreaterThanOrEqual(result.durationMs / 1000)
      if (first > 0) expect(buckets[first - 1]!.le).toBeLessThan(result.durationMs / 1000)
    }
    expect(sampleOf(after, 'pool_transaction_retries_total')).toBe(0)
    expect(sampleOf(after, 'pool_database_pool_max_connections')).toBe(3)
    expect(sampleOf(after, 'pool_database_pool_connections', { state: 'active' })).toBe(0)
    expect(sampleOf(after, 'pool_database_pool_connections', { state: 'idle' })).toBe(
      manager.pool.idleCount,
    )
    expect(sampleOf(after, 'pool_database_pool_errors_total')).toBe(0)
  })
})

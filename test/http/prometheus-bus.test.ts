import { performance } from 'node:perf_hooks'
import { afterAll, describe, expect, it } from 'vitest'
import { createMetricsExporter, type MetricsExporter } from '../../src/http/prometheus.js'
import { CacheManager, MemoryBus, MemoryBusHub } from '../../src/index.js'
import { scrape } from '../support/prometheus-fixture.js'
import { delta, sampleOf } from '../support/prometheus-text.js'
import { REDIS_URL, uniquePrefix } from '../support/redis.js'
import { waitFor } from '../support/wait.js'

// The bus figures of the exporter, end to end: invalidations one instance sends as another
// receives them (through Redis, by either publishing path, and in process), and the bus lag
// measured by the Redis bus's own heartbeats.

const closing: { close(): unknown }[] = []
afterAll(async () => {
  for (const item of closing.splice(0).reverse()) await item.close()
})

async function exporterOf(cache: CacheManager): Promise<MetricsExporter> {
  const exporter = await createMetricsExporter({ cache, l2Buckets: false })
  closing.push(exporter)
  return exporter
}

/** Two instances on one prefix whose buses are trusted; `a` is cleared and closed last. */
async function pair(make: (prefix: string) => CacheManager) {
  const prefix = uniquePrefix('prometheus_bus')
  const a = make(prefix)
  const b = make(prefix)
  closing.push({ close: () => a.clear().then(() => a.close()) }, b)
  await waitFor(() => a.getMetrics().busTrusted && b.getMetrics().busTrusted, {
    what: 'both buses to be trusted',
  })
  return { a, b }
}

/** Each invalidation `a` makes, one at a time: each must be one notice sent and one received. */
async function eachSentOnce(a: CacheManager, b: CacheManager): Promise<void> {
  const invalidations: [string, () => Promise<unknown>][] = [
    ['set', () => a.set('bus:1', 1, { tags: ['bus-tag'] })],
    ['invalidateByTag', () => a.invalidateByTag('bus-tag')],
    ['delete', () => a.delete('bus:1')],
    ['invalidateByPattern', () => a.invalidateByPattern('bus:*')],
    ['clear', () => a.clear()],
  ]
  for (const [what, invalidate] of invalidations) {
    const sent = a.getMetrics().busSent
    const received = b.getMetrics().busReceived
    await invalidate()
    await waitFor(() => b.getMetrics().busReceived > received, { what: `${what} at b` })
    expect(a.getMetrics().busSent, what).toBe(sent + 1)
    expect(b.getMetrics().busReceived, what).toBe(received + 1)
  }
}

describe('bus_sent_total', () => {
  it('counts the notices Redis publishes with a tag invalidation and those the bus publishes', async () => {
    // On Redis the tag invalidation script publishes its notice itself; the rest go through
    // the bus's own PUBLISH.
    const { a, b } = await pair((prefix) => new CacheManager({ redis: REDIS_URL, prefix }))
    const exporter = await exporterOf(a)
    const before = await scrape(exporter)
    await eachSentOnce(a, b)
    const after = await scrape(exporter)
    expect(delta(before, after, 'stratacache_bus_sent_total')).toBe(5)
    expect(sampleOf(after, 'stratacache_bus_sent_total')).toBe(a.getMetrics().busSent)
    // Its own notices never come back to it.
    expect(delta(before, after, 'stratacache_bus_received_total')).toBe(0)
  })

  it('counts with an in-process bus, which measures no lag', async () => {
    const hub = new MemoryBusHub()
    const { a, b } = await pair(
      (prefix) => new CacheManager({ bus: new MemoryBus({ hub, channel: prefix }) }),
    )
    const exporter = await exporterOf(a)
    await eachSentOnce(a, b)
    const now = await scrape(exporter)
    expect(sampleOf(now, 'stratacache_bus_sent_total')).toBe(5)
    expect(a.getMetrics()).not.toHaveProperty('busLagMs')
    expect(sampleOf(now, 'stratacache_bus_lag_seconds')).toBeUndefined()
  })
})

describe('bus_lag_seconds', () => {
  it('is the round trip of one of its own heartbeats through Redis, kept until the next', async () => {
    const startedAt = performance.now()
    // One heartbeat when subscribed (its return makes the bus trusted), the next in an hour.
    const cache = new CacheManager({
      redis: REDIS_URL,
      prefix: uniquePrefix('prometheus_lag'),
      bus: { heartbeat: '1h' },
    })
    closing.push(cache)
    expect(cache.getMetrics()).not.toHaveProperty('busLagMs') // nothing came back yet
    const exporter = await exporterOf(cache)
    await waitFor(() => cache.getMetrics().busTrusted, { what: 'the bus to be trusted' })
    const trustedAt = performance.now()
    const lagMs = cache.getMetrics().busLagMs
    expect(lagMs).toBeGreaterThan(0)
    // Published after the cache was made, back before the bus was trusted.
    expect(lagMs).toBeLessThanOrEqual(trustedAt - startedAt)
    const now = await scrape(exporter)
    expect(sampleOf(now, 'stratacache_bus_lag_seconds')).toBe(lagMs! / 1000)
    expect(cache.getMetrics().busLagMs).toBe(lagMs)
  })

  it('follows each heartbeat (every second by default)', async () => {
    const { a } = await pair((prefix) => new CacheManager({ redis: REDIS_URL, prefix }))
    const first = a.getMetrics().busLagMs
    expect(first).toBeGreaterThan(0)
    await waitFor(() => a.getMetrics().busLagMs !== first, { what: 'the next heartbeat' })
    expect(a.getMetrics().busLagMs).toBeGreaterThan(0)
  })
})

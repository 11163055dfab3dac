import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import fc from 'fast-check'
import { Counter, type OpenMetricsContentType, Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { TransactionManager } from '../../src/database/index.js'
import { createMetricsExporter, DEFAULT_QUERY_BUCKETS } from '../../src/http/prometheus.js'
import { loadPromClient } from '../../src/http/prometheus-collector.js'
import { withCache } from '../../src/prisma/index.js'
import { LatencyHistogram } from '../../src/prisma/metrics/histogram.js'
import { parseMiniYaml } from '../support/mini-yaml.js'
import { optionError, scrape, usePrometheusFixture } from '../support/prometheus-fixture.js'
import { type Exposition, parseExposition, sampleOf } from '../support/prometheus-text.js'

// What the exporter's output looks like rather than what it counts (prometheus.test.ts):
// Prometheus naming, a registry of the user's, OpenMetrics, option validation, a missing
// prom-client, and the Grafana dashboard and alert rules shipped in ops/, checked against the
// metric names the exporter really emits.

const f = usePrometheusFixture('http_prometheus_names')

describe('names, registries and options', () => {
  /** An exporter with every source, so that every family is declared. */
  async function everyFamily(prefix = 'every_'): Promise<Exposition> {
    const { base, cache, prisma, health } = f
    const transactions = new TransactionManager(base)
    const connections = { getStats: () => ({ ...transactions.getStats(), ...poolStats() }) }
    const exported = await createMetricsExporter({
      cache,
      prisma,
      health,
      connections,
      transactions,
      prefix,
    })
    try {
      return await scrape(exported)
    } finally {
      exported.close()
    }
  }
  const poolStats = () => ({
    poolSize: 4,
    totalConnections: 1,
    activeConnections: 0,
    idleConnections: 1,
    waitingRequests: 0,
    poolErrors: 0,
  })

  it('follow Prometheus conventions: _total counters, _seconds histograms, bounded labels', async () => {
    const { health } = f
    await health.check()
    const { types, samples, help } = await everyFamily('stratacache_')
    expect(types.size).toBeGreaterThanOrEqual(50)
    const allowedLabels = new Set([
      'tier',
      'kind',
      'origin',
      'reason',
      'operation',
      'model',
      'cache',
      'status',
      'scope',
      'state',
      'outcome',
      'le',
    ])
    for (const [name, type] of types) {
      expect(name).toMatch(/^stratacache_[a-z0-9_]+$/)
      expect(help.get(name)?.length ?? 0).toBeGreaterThan(10)
      if (type === 'counter') expect(name).toMatch(/_total$/)
      else expect(name).not.toMatch(/_total$/)
      if (type === 'histogram') expect(name).toMatch(/_seconds$/)
      if (/(duration|latency|_time)(_|$)/.test(name)) expect(name).toMatch(/_seconds$/)
      expect(['counter', 'gauge', 'histogram']).toContain(type)
    }
    for (const sample of samples) {
      const family = sample.name.replace(/_(bucket|sum|count)$/, '')
      expect(types.has(sample.name) || types.get(family) === 'histogram').toBe(true)
      for (const label of Object.keys(sample.labels)) expect(allowedLabels).toContain(label)
      expect(Number.isFinite(sample.value) || sample.labels.le !== undefined).toBe(true)
    }
  })

  it('read Prisma histogram buckets exactly at bucket edges, within 1.6 % elsewhere', () => {
    const bounds = DEFAULT_QUERY_BUCKETS.map((seconds) => seconds * 1000)
    const sample = fc.double({ min: -2, max: 4, noNaN: true }).map((exponent) => 10 ** exponent)
    fc.assert(
      fc.property(fc.array(sample, { maxLength: 2000 }), (values) => {
        const histogram = new LatencyHistogram()
        for (const value of values) histogram.record(value)
        const counts = histogram.countsAtOrBelow(bounds)
        bounds.forEach((bound, i) => {
          const below = values.filter((v) => v < bound).length
          if (bound <= 1000) expect(counts[i]).toBe(below)
          else {
            expect(counts[i]).toBeGreaterThanOrEqual(below)
            expect(counts[i]).toBeLessThanOrEqual(values.filter((v) => v < bound * 1.016).length)
          }
        })
      }),
      { numRuns: 100 },
    )
  })

  it('register in a registry of the user, next to its own metrics, and refuse a second prefix', async () => {
    const { cache } = f
    const registry = new Registry()
    new Counter({ name: 'app_requests_total', help: 'Requests.', registers: [registry] }).inc(3)
    const listeners = cache.listenerCount('invalidate')
    const first = await createMetricsExporter({ cache, registry })
    expect(first.registry).toBe(registry)
    expect(first.contentType).toBe(registry.contentType)
    const text = parseExposition(await registry.metrics())
    expect(sampleOf(text, 'app_requests_total')).toBe(3)
    expect(sampleOf(text, 'stratacache_hits_total', { tier: 'l1' })).toBe(cache.getMetrics().l1Hits)
    const json = await registry.getMetricsAsJSON()
    expect(json.find((m) => m.name === 'stratacache_degraded')?.values).toEqual([
      { labels: {}, value: 0 },
    ])

    const count = registry.getMetricsAsArray().length
    const clash = await optionError(() => createMetricsExporter({ cache, registry }))
    expect(clash.field).toBe('prefix')
    expect(clash.message).toMatch(/stratacache_hits_total/)
    expect(registry.getMetricsAsArray().length).toBe(count) // nothing half-registered
    expect(cache.listenerCount('invalidate')).toBe(listeners + 1)

    const second = await createMetricsExporter({ cache, registry, prefix: 'replica_' })
    expect(sampleOf(parseExposition(await registry.metrics()), 'replica_misses_total')).toBe(
      cache.getMetrics().misses,
    )
    second.close()
    first.close()
    first.close()
    expect(registry.getMetricsAsArray().map((m) => m.name)).toEqual(['app_requests_total'])
    expect(cache.listenerCount('invalidate')).toBe(listeners)
  })

  it('speak OpenMetrics when the registry does', async () => {
    const { cache, closing } = f
    const registry = new Registry<OpenMetricsContentType>()
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE)
    const exported = await createMetricsExporter({ cache, registry, l2Buckets: false })
    closing.push(exported)
    expect(exported.contentType).toBe(Registry.OPENMETRICS_CONTENT_TYPE)
    const text = await exported.metrics()
    expect(text).toMatch(/^# TYPE stratacache_hits counter$/m)
    expect(text).toMatch(/^stratacache_hits_total\{tier="l1"\} \d+$/m)
    expect(text).not.toMatch(/l2_command_duration/)
    expect(text.endsWith('# EOF\n')).toBe(true)
  })

  it('validate every option, naming it', async () => {
    const { base, cache, health } = f
    const field = async (options: unknown) =>
      (await optionError(() => createMetricsExporter(options as never))).field
    expect(await field(null)).toBe('options')
    expect(await field({})).toBe('cache')
    expect(await field({ cache: {} })).toBe('cache')
    expect(await field({ cache, nope: 1 })).toBe('nope')
    expect(await field({ cache, prefix: 'bad-prefix_' })).toBe('prefix')
    expect(await field({ cache, prefix: 'app' })).toBe('prefix')
    expect(await field({ cache, queryBuckets: [] })).toBe('queryBuckets')
    expect(await field({ cache, queryBuckets: [0.1, 0.05] })).toBe('queryBuckets[1]')
    expect(await field({ cache, l2Buckets: [0, 1] })).toBe('l2Buckets[0]')
    expect(await field({ cache, checkOnScrape: true })).toBe('checkOnScrape')
    expect(await field({ cache, health, checkOnScrape: 'yes' })).toBe('checkOnScrape')
    expect(await field({ cache, health: {} })).toBe('health')
    expect(await field({ cache, connections: {} })).toBe('connections')
    expect(await field({ cache, transactions: 1 })).toBe('transactions')
    expect(await field({ cache, registry: {} })).toBe('registry')
    expect(await field({ cache, prisma: {} })).toBe('prisma')
    const noMetrics = base.$extends(withCache({ cache, env: false, metrics: false }))
    const error = await optionError(() => createMetricsExporter({ cache, prisma: noMetrics }))
    expect(error.field).toBe('prisma')
    expect(error.message).toMatch(/metrics: false/)
  })

  it('say to install prom-client when it is missing, which only the exporter needs', async () => {
    // A process in which prom-client cannot be resolved (a loader hook hides it): importing the
    // package works, making an exporter fails with the install command.
    const script = `
      const { CacheManager } = await import('./src/index.ts')
      const { createMetricsExporter } = await import('./src/http/prometheus.ts')
      const cache = new CacheManager()
      try {
        await createMetricsExporter({ cache })
        console.log(JSON.stringify({ created: true }))
      } catch (error) {
        console.log(JSON.stringify({ name: error.name, field: error.field, message: error.message }))
      }
      await cache.close()`
    const { stdout } = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        '--import',
        './test/support/without-prom-client.mjs',
        '--input-type=module',
        '-e',
        script,
      ],
      { cwd: fileURLToPath(new URL('../..', import.meta.url)), timeout: 60_000 },
    )
    const outcome = JSON.parse(stdout.trim().split('\n').at(-1)!)
    expect(outcome).toMatchObject({ name: 'ValidationError', field: 'prom-client' })
    expect(outcome.message).toMatch(/npm install prom-client/)
    // Any other failure of the import is not disguised as a missing package.
    const broken = new SyntaxError('Unexpected token')
    await expect(loadPromClient(() => Promise.reject(broken))).rejects.toBe(broken)
  })

  it('ship a Grafana dashboard and alert rules that use only metrics the exporter emits', async () => {
    const { types } = await everyFamily('stratacache_')
    const known = (name: string) =>
      types.has(name) || types.get(name.replace(/_(bucket|sum|count)$/, '')) === 'histogram'
    const dashboard = JSON.parse(readFileSync(opsFile('grafana-dashboard.json'), 'utf8'))
    const queries: string[] = []
    for (const panel of dashboard.panels) for (const t of panel.targets ?? []) queries.push(t.expr)
    for (const variable of dashboard.templating.list) {
      if (variable.type === 'query') queries.push(variable.query.query)
    }
    expect(queries.length).toBeGreaterThan(40)
    const used = new Set(queries.flatMap((q) => q.match(/\bstratacache_[a-z0-9_]+/g) ?? []))
    for (const name of used) expect(known(name), name).toBe(true)
    for (const topic of [
      'stratacache_hits_total',
      'stratacache_l2_command_duration_seconds_bucket',
      'stratacache_fenced_fills_total',
      'stratacache_degraded',
      'stratacache_bus_trusted',
      'stratacache_bus_sent_total',
      'stratacache_bus_lag_seconds',
      'stratacache_transaction_duration_seconds_bucket',
      'stratacache_prisma_queries_total',
      'stratacache_prisma_query_duration_seconds_bucket',
      'stratacache_prisma_slow_queries_total',
      'stratacache_prisma_n_plus_one_total',
      'stratacache_database_up',
      'stratacache_database_pool_connections',
    ]) {
      expect(used).toContain(topic)
    }
    const ids = dashboard.panels.map((p: { id: number }) => p.id)
    expect(new Set(ids).size).toBe(ids.length)

    const rules = parseMiniYaml(readFileSync(opsFile('prometheus-alerts.yml'), 'utf8')) as {
      groups: { name: string; rules: Record<string, unknown>[] }[]
    }
    const alerts = rules.groups.flatMap((group) => group.rules)
    for (const rule of alerts) {
      expect(Object.keys(rule).sort()).toEqual(['alert', 'annotations', 'expr', 'for', 'labels'])
      expect(rule.for).toMatch(/^\d+[smh]$/)
      expect(['info', 'warning', 'critical']).toContain(
        (rule.labels as { severity: string }).severity,
      )
      expect((rule.annotations as { summary: string }).summary.length).toBeGreaterThan(10)
      const expr = rule.expr as string
      expect(balanced(expr), `${rule.alert}: brackets`).toBe(true)
      const names = expr.match(/\bstratacache_[a-z0-9_]+/g) ?? []
      expect(names.length).toBeGreaterThan(0)
      for (const name of names) expect(known(name), `${rule.alert}: ${name}`).toBe(true)
    }
    const byName = new Map(alerts.map((rule) => [rule.alert as string, rule]))
    expect(byName.get('StratacacheLowHitRate')).toMatchObject({ for: '10m' })
    expect(byName.get('StratacacheLowHitRate')!.expr).toMatch(/< 0\.70/)
    expect(byName.get('StratacacheDatabasePoolExhausted')).toMatchObject({ for: '5m' })
    for (const name of [
      'StratacacheL1MemoryHigh',
      'StratacacheRedisErrors',
      'StratacacheRedisDegraded',
      'StratacacheDatabaseDown',
      'StratacacheDatabaseUnhealthy',
      'StratacachePrismaErrorRate',
      'StratacacheSlowQueries',
    ]) {
      expect(byName.has(name), name).toBe(true)
    }
  })
})

const run = promisify(execFile)

function opsFile(name: string): string {
  return fileURLToPath(new URL(`../../ops/${name}`, import.meta.url))
}

/** Whether (), [] and {} nest properly outside double-quoted strings. */
function balanced(expr: string): boolean {
  const open: string[] = []
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' }
  let quoted = false
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i]!
    if (quoted) {
      if (c === '\\') i++
      else if (c === '"') quoted = false
    } else if (c === '"') quoted = true
    else if ('([{'.includes(c)) open.push(c)
    else if (c in pairs && open.pop() !== pairs[c]) return false
  }
  return open.length === 0 && !quoted
}

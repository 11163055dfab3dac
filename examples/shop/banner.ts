/**
 * What `npm start` prints once the shop is up: where it listens, on what, how long it took, and
 * curl commands to try, built from the same list `GET /` serves.
 */
import type { CacheOptions } from '../../src/index.js'
import { OPS_PATH } from './app.js'
import { ENDPOINTS } from './routes/home.js'
import type { RunningShop } from './shop.js'

export function startupBanner(shop: RunningShop, cacheOptions: CacheOptions): string {
  const lines = [
    '',
    `stratacache shop demo listening on ${shop.url}`,
    `  database  ${shop.database.description}`,
    `  cache     ${describeCache(cacheOptions)}`,
    `  ready in  ${seconds(shop.startupMs)}${shop.seed ? `, seed included: ${describeSeed(shop)}` : ''}`,
    '',
    'Try it (every response has an x-cache header: hit, miss, swr or none):',
  ]
  for (const endpoint of ENDPOINTS) {
    const url = `'${shop.url}${endpoint.example}'`
    if (endpoint.body !== undefined) {
      const body = JSON.stringify(endpoint.body)
      lines.push(
        `  curl -X ${endpoint.method} -H 'content-type: application/json' -d '${body}' ${url}`,
      )
    } else if (endpoint.showsCache) {
      lines.push(`  curl -i ${url}    # twice: x-cache goes from miss to hit`)
    } else {
      lines.push(`  curl ${url}`)
    }
  }
  lines.push(
    `  curl ${shop.url}/    # lists the endpoints`,
    '',
    'Operations (every shop response also has x-db-queries, x-db-time-ms, x-cache-hits, x-cache-misses):',
    `  dashboard  ${shop.url}${OPS_PATH}/dashboard    (admin token for its actions: ${shop.adminToken})`,
    `  metrics    ${shop.url}${OPS_PATH}/metrics      (Prometheus)`,
    `  health     ${shop.url}${OPS_PATH}/health/db`,
    `  curl -H 'authorization: Bearer ${shop.adminToken}' ${shop.url}${OPS_PATH}/api/performance/queries`,
    '',
    'Ctrl-C stops it.',
    '',
  )
  return lines.join('\n')
}

function describeCache({ enabled, local, redis }: CacheOptions): string {
  if (enabled === false) return 'off (CACHE_ENABLED=false): every read goes to the database'
  if (!redis) return 'in this process only (set REDIS_URL to add Redis as a second tier)'
  const l2 = `Redis${typeof redis === 'string' ? ` at ${withoutPassword(redis)}` : ''} (L2)`
  return local === false ? `${l2} only` : `in this process (L1) and ${l2}`
}

function describeSeed({ seed }: RunningShop): string {
  if (!seed) return ''
  const count = (n: number) => n.toLocaleString('en')
  return (
    `${count(seed.products)} products, ${count(seed.reviews)} reviews, ${count(seed.orders)} orders ` +
    `and ${count(seed.users)} users written in ${seconds(seed.durationMs)}`
  )
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`
}

function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return 'the configured server'
  }
}

/**
 * stratacache quick start: `npm start`.
 *
 * Runs on embedded defaults (a memory-only cache, no server, no environment). With
 * `REDIS_URL=redis://127.0.0.1:6379 npm start` the same program runs on both tiers, under a key
 * prefix of its own that it removes at the end.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { CacheKeyBuilder, CacheManager } from '../src/index.js'

// A fake database: every query takes ~20 ms, and we count them.
const db = {
  queries: 0,
  price: 42,
  async findProduct(id: number) {
    this.queries++
    const price = this.price // read now, returned after the query's latency
    await sleep(20)
    return { id, name: `Product ${id}`, price, updatedAt: new Date('2026-01-01T00:00:00Z') }
  },
}

const redisUrl = process.env.REDIS_URL
const prefix = `quickstart:${process.pid}:`
const cache = new CacheManager(redisUrl ? { redis: redisUrl, prefix, ttl: '10m' } : { ttl: '10m' })

// --- output helpers -------------------------------------------------------------------------
const heading = (title: string) => console.log(`\n== ${title}`)
const line = (label: string, value: unknown, note = '') =>
  console.log(`  ${label.padEnd(34)} ${String(value).padEnd(22)} ${note}`.trimEnd())
async function timed<T>(work: () => Promise<T>): Promise<[T, string]> {
  const start = performance.now()
  const value = await work()
  const us = (performance.now() - start) * 1000
  return [value, `${us.toFixed(0).padStart(7)} µs`]
}

console.log(
  redisUrl
    ? `stratacache quick start: L1 (memory) + L2 (Redis at ${redisUrl}, prefix "${prefix}")`
    : 'stratacache quick start: memory-only (no REDIS_URL set; L1 in this process, no server)',
)

if (redisUrl) await cache.has('warm-up') // wait for the Redis connection before timing anything

// 1. Cache-aside: the first call runs the loader, the next ones are served from the cache.
heading('1. getOrCompute: a miss, then hits')
const key1 = CacheKeyBuilder.product(1) // 'product:1'
const load1 = () => db.findProduct(1)
let [product, took] = await timed(() => cache.getOrCompute(key1, load1, { tags: ['products'] }))
line(`getOrCompute('${key1}')`, took, `miss: loader ran (${db.queries} query)`)
for (let i = 0; i < 3; i++) {
  ;[product, took] = await timed(() => cache.getOrCompute(key1, load1, { tags: ['products'] }))
  line(`getOrCompute('${key1}')`, took, `hit (L1), queries still ${db.queries}`)
}
line('updatedAt comes back as a Date', product.updatedAt instanceof Date)
if (redisUrl) {
  // Another app instance on the same Redis and prefix, without L1: Redis (L2) answers.
  const other = new CacheManager({ redis: redisUrl, prefix, local: false })
  for (const note of ['(includes connecting)', '', '']) {
    const [fromL2, t] = await timed(() => other.get<typeof product>(key1))
    line('other instance: get', t, `L2 hit, price ${fromL2?.price} ${note}`)
  }
  await other.close()
}

// 2. Single flight: concurrent misses for one key share one loader call.
heading('2. 50 concurrent callers on a cold key')
const before = db.queries
const key2 = CacheKeyBuilder.product(2)
const results = await Promise.all(
  Array.from({ length: 50 }, () => cache.getOrCompute(key2, () => db.findProduct(2))),
)
line('callers answered', results.length, `all price ${results[0]?.price}`)
line('loader calls (database queries)', db.queries - before)

// 3. Tags: one call removes every entry labelled with a tag, in both tiers.
heading('3. tags and invalidateByTag')
const listKey = CacheKeyBuilder.productList({ page: 1, size: 20 }) // 'product:list:page=1&size=20'
await cache.set(listKey, [{ id: 1 }, { id: 2 }], { tags: ['products', 'product-list'] })
await cache.set(CacheKeyBuilder.category('audio'), { name: 'Audio' }, { tags: ['categories'] })
const tagged = [key1, listKey, 'category:audio']
const cached = async () => Array.from(await cache.getBatch(tagged), (v) => v !== undefined)
line('cached [product:1, list, category]', (await cached()).join(', '))
await cache.invalidateByTag('products')
line("after invalidateByTag('products')", (await cached()).join(', '), 'category kept')

// 4. The fill fence: a loader that read the database before a write must not cache its value.
heading('4. fence: a slow loader overtaken by a delete')
const key4 = CacheKeyBuilder.product(4)
db.price = 42
const slow = cache.getOrCompute(key4, async () => {
  const row = await db.findProduct(4) // reads price 42...
  await sleep(100) // ...and is slow to come back
  return row
})
await sleep(30)
db.price = 43 // meanwhile the row is updated...
await cache.delete(key4) // ...and its cache entry invalidated
line('slow caller got', `price ${(await slow).price}`, 'read before the update')
line('cached afterwards', String(await cache.get(key4)), 'the stale fill was not stored')
const fresh = await cache.getOrCompute(key4, () => db.findProduct(4))
line('next getOrCompute', `price ${fresh.price}`, `fencedFills = ${cache.getMetrics().fencedFills}`)

// 5. Stale-while-revalidate: past its TTL the old value is served at once, refreshed behind.
heading('5. stale-while-revalidate')
let version = 1
const loadVersion = async () => {
  await sleep(20)
  return `v${version}`
}
const swr = { ttl: 100, staleWhileRevalidate: '10s' }
await cache.getOrCompute('report:daily', loadVersion, swr)
version = 2
await sleep(150) // the entry is now stale
let [report, t5] = await timed(() => cache.getOrCompute('report:daily', loadVersion, swr))
line('after expiry', t5, `${report} (stale, refresh started)`)
await sleep(50)
;[report, t5] = await timed(() => cache.getOrCompute('report:daily', loadVersion, swr))
line('a moment later', t5, `${report} (refreshed in the background)`)

// 6. Batches: one L2 round trip for many keys.
heading('6. setBatch and getBatch')
const items = [10, 11, 12].map((id) => ({ key: CacheKeyBuilder.product(id), value: { id } }))
await cache.setBatch(items, ['products'])
const keys = [...items.map((item) => item.key), CacheKeyBuilder.product(99)]
const values = await cache.getBatch<{ id: number }>(keys)
for (const [i, key] of keys.entries()) line(`getBatch -> ${key}`, JSON.stringify(values[i]))

// 7. Counters and sets (native Redis types when Redis is there).
heading('7. increment and addToSet')
const views = CacheKeyBuilder.build('product', 1, 'views')
await cache.increment(views)
line(`increment('${views}', 5)`, await cache.increment(views, 5))
const visitors = CacheKeyBuilder.build('product', 1, 'visitors')
line("addToSet(['u1', 'u2'])", await cache.addToSet(visitors, ['u1', 'u2']), 'members added')
line("addToSet(['u2', 'u3'])", await cache.addToSet(visitors, ['u2', 'u3']), 'members added')
line('getSet', (await cache.getSet(visitors)).sort().join(', '))

// 8. What the cache saw.
heading('8. getMetrics() and getLocalCacheStats()')
const m = cache.getMetrics()
const l1 = cache.getLocalCacheStats()
const rows: [string, unknown, string?][] = [
  ['hits (L1 / L2 / stale)', `${m.hits} (${m.l1Hits} / ${m.l2Hits} / ${m.staleHits})`],
  ['misses', m.misses, 'each of the 50 concurrent callers counts one'],
  ['hit rate', `${m.hitRate.toFixed(1)} %`],
  ['sets / deletes / invalidations', `${m.sets} / ${m.deletes} / ${m.invalidations}`],
  ['loader calls / fenced fills', `${m.loaderCalls} / ${m.fencedFills}`],
  ['average value size', `${m.averageSize} bytes`],
  ['errors / degraded', `${m.errors} / ${m.degraded}`],
  ['L1 entries / bytes', `${l1.entries} / ${l1.totalSize}`],
  ['L1 evictions / tags', `${l1.evictions} / ${l1.tags}`],
]
for (const [label, value, note] of rows) line(label, value, note)

if (redisUrl) await cache.clear() // removes this run's prefix only
await cache.close()
console.log('\ndone.')

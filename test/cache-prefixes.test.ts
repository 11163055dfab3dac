import { afterAll, expect, it } from 'vitest'
import { CacheManager } from '../src/index.js'
import { deleteKeysUnder, keysUnder, REDIS_URL, rawRedis, uniquePrefix } from './support/redis.js'

const raw = rawRedis()
const base = uniquePrefix('prefixes')
afterAll(async () => {
  await deleteKeysUnder(raw, base)
  raw.disconnect()
})

/** Caches on `names` (each under the test's base), each holding a tagged entry and a counter. */
async function caches(...names: string[]): Promise<CacheManager[]> {
  const out = names.map((name) => new CacheManager({ redis: REDIS_URL, prefix: base + name }))
  for (const cache of out) {
    await cache.set('product:1', 'v', { tags: ['products'] })
    await cache.invalidateByTag('other') // leaves a version key
    await cache.increment('views', 1)
  }
  return out
}

it.each([
  ['t1', 't10', 'no separator'],
  ['app:', 'app:v2:', 'nested'],
])('clear() and pattern invalidation on %s leave %s alone (%s)', async (short, long) => {
  const [a, b] = await caches(short, long)
  const before = await keysUnder(raw, base + long, true)
  expect(before.length).toBeGreaterThanOrEqual(3)
  await a!.invalidateByPattern('*')
  await a!.clear()
  expect(await keysUnder(raw, base + long, true)).toEqual(before)
  const c = new CacheManager({ redis: REDIS_URL, prefix: base + long, local: false })
  expect(await c.get('product:1')).toBe('v')
  expect(await c.increment('views', 0)).toBe(1)
  // And the short one did clear its own.
  const own = (await keysUnder(raw, base + short)).filter((key) => !key.startsWith(base + long))
  expect(own).toEqual([])
  await Promise.all([a!.close(), b!.close(), c.close()])
})

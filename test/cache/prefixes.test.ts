import { afterAll, expect, it } from 'vitest'
import { CacheManager } from '../../src/index.js'
import { deleteKeysUnder, keysUnder, REDIS_URL, rawRedis, uniquePrefix } from '../support/redis.js'
import { waitFor } from '../support/wait.js'

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

it('one prefix in two Redis databases: their buses do not hear each other', async () => {
  const prefix = uniquePrefix('db-bus')
  const inDb = (db: number) => {
    const url = new URL(REDIS_URL)
    url.pathname = `/${db}`
    return new CacheManager({ redis: url.toString(), prefix })
  }
  const staging = inDb(11)
  const production = inDb(12)
  const production2 = inDb(12)
  await waitFor(() => staging.getMetrics().busTrusted && production.getMetrics().busTrusted)
  const heard: string[] = []
  production.on('delete', ({ keys, remote }) => {
    if (remote) heard.push(...keys)
  })
  await staging.delete('product:1')
  // Published after staging's: had it reached production, it would have come first.
  await production2.delete('other')
  await waitFor(() => heard.includes('other'), { what: "production2's notice" })
  expect(heard).toEqual(['other'])
  for (const cache of [staging, production, production2]) {
    await cache.clear()
    await cache.close()
  }
})

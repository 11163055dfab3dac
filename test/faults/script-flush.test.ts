/**
 * Redis forgets its scripts (`SCRIPT FLUSH`, by an operator or another application on the same
 * server) while the cache runs. A script sent with EVALSHA then fails with NOSCRIPT and is sent
 * again with its source, after the commands that followed it: an invalidation that a read sent
 * just after it must see would run after that read. The cache's invalidations keep their place.
 * On a server of its own: flushing the shared one would disturb every other test.
 */
import { Redis } from 'ioredis'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { CacheManager, cacheInternals } from '../../src/cache/cache-manager.js'
import { BEGIN_FILL } from '../../src/drivers/redis-fence.js'
import { RedisServer } from '../support/redis-server.js'
import { waitFor } from '../support/wait.js'

let server: RedisServer
let admin: Redis
beforeAll(async () => {
  server = await RedisServer.start()
  admin = new Redis(server.url)
})
afterAll(async () => {
  admin.disconnect()
  await server.kill()
})

it('a read sent right after an invalidation does not overtake it when the scripts were flushed', async () => {
  const prefix = 'flushed:'
  const cache = new CacheManager({ redis: server.url, prefix })
  try {
    const internals = cacheInternals(cache)
    for (let round = 0; round < 5; round++) {
      const key = `product:${round}`
      const tag = `product-${round}`
      await cache.getOrCompute(key, () => 'old', { tags: [tag] })
      await waitFor(async () => (await admin.exists(`${prefix}${key}`)) === 1, {
        what: 'the fill stored in Redis',
      })
      // The server forgets every script; the read's comes back first (another client used it),
      // the invalidation's does not.
      await admin.script('FLUSH')
      await admin.script('LOAD', BEGIN_FILL.lua)

      // A write's invalidation, which resolves before Redis replies (eventual mode, one server:
      // commands apply in the order they are sent), then at once a read of what it removed.
      await internals.invalidate([tag])
      expect(await cache.getOrCompute(key, () => 'new', { tags: [tag] })).toBe('new')
      // Nor is the old value kept anywhere. (The new one may not be stored yet: the fill's store is
      // not an ordered write, and a NOSCRIPT of its own may send it after this read.)
      expect(await cache.get(key)).not.toBe('old')
    }
  } finally {
    await cache.close()
  }
})

import { Redis } from 'ioredis'
import { afterAll, expect, it } from 'vitest'
import { CacheManager } from '../../src/index.js'
import { RedisServer } from '../support/redis-server.js'
import { waitFor } from '../support/wait.js'

let server: RedisServer | undefined
afterAll(async () => {
  await server?.kill()
})

it('warns once at connect when Redis may evict the keys the guarantees rest on', async () => {
  server = await RedisServer.start()
  const admin = new Redis(server.url)
  const warnings: { name: string; code?: string; message: string }[] = []
  const onWarning = (warning: Error & { code?: string }) => warnings.push(warning)
  process.on('warning', onWarning)
  try {
    const safe = new CacheManager({ redis: server.url, prefix: 'safe:' })
    await safe.set('k', 1)
    await admin.config('SET', 'maxmemory-policy', 'allkeys-lru')
    const evicting = new CacheManager({ redis: server.url, prefix: 'lru:' })
    await evicting.set('k', 1)
    await waitFor(() => warnings.some((w) => w.code === 'STRATACACHE_EVICTION_POLICY'), {
      what: 'the warning',
    })
    expect(warnings.filter((w) => w.code === 'STRATACACHE_EVICTION_POLICY')).toHaveLength(1)
    expect(warnings[0]!.message).toContain('allkeys-lru')
    await Promise.all([safe.close(), evicting.close()])
  } finally {
    process.off('warning', onWarning)
    admin.disconnect()
  }
})

it('drops its entries, and says so, once Redis reports evictions: an evicted tag set hid one from its invalidation', async () => {
  server ??= await RedisServer.start()
  const admin = new Redis(server.url)
  const a = new CacheManager({ redis: server.url, prefix: 'evicted:', bus: false })
  const degraded: string[] = []
  try {
    await a.set('product:1', 'old', { tags: ['product'] })
    // Fault injection: the tag set is deleted as an eviction would (eviction picks keys at
    // random, which a test cannot aim), then invalidateByTag has nothing to find.
    const tagSets = await admin.keys('evicted:*product')
    expect(tagSets.length).toBeGreaterThan(0)
    await admin.del(...tagSets)
    await a.invalidateByTag('product')
    const reader = new CacheManager({
      redis: server.url,
      prefix: 'evicted:',
      bus: false,
      local: false,
    })
    expect(await reader.get('product:1')).toBe('old') // the control: the entry outlived it
    for (const cache of [a, reader]) cache.on('degraded', ({ reason }) => degraded.push(reason))

    // A real eviction, so that Redis's count of evicted keys grows: of filler keys (the shortest
    // TTLs go first), not of the entry, which must be dropped by the cache.
    const used = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1])
    await admin.config('SET', 'maxmemory', String(used + 256 * 1024))
    await admin.config('SET', 'maxmemory-policy', 'volatile-ttl')
    const filler = Buffer.alloc(16 * 1024)
    for (let i = 0; i < 64; i++)
      await admin.set(`filler:${i}`, filler, 'PX', 60_000).catch(() => {})
    await admin.config('SET', 'maxmemory', '0')
    expect(await admin.exists('evicted:product:1')).toBe(1)
    expect(Number(/evicted_keys:(\d+)/.exec(await admin.info('stats'))![1])).toBeGreaterThan(0)

    await waitFor(async () => (await reader.get('product:1')) === undefined, {
      timeoutMs: 5_000,
      what: 'the entry to be dropped',
    })
    await waitFor(() => degraded.length > 0, { what: 'the degraded event' })
    expect(degraded[0]).toMatch(/evicted \d+ keys/)
    await reader.close()
  } finally {
    await a.close()
    admin.disconnect()
  }
})

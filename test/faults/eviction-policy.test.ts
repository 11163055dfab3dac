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

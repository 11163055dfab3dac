/**
 * A topology that cannot keep a guarantee says so at start: to the `logger` option, or once per
 * process as a warning. The caches here point at servers that need not answer: what is said
 * depends on the configuration only, and it is said before any connection.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { CacheManager, type CacheOptions } from '../../src/index.js'
import { REDIS_URL, uniquePrefix } from '../support/redis.js'
import { freePort } from '../support/redis-server.js'

const open: CacheManager[] = []
afterEach(async () => {
  for (const cache of open.splice(0)) await cache.close()
})

/** The warnings a cache with `options` logs as it starts. */
function warningsOf(options: CacheOptions): string[] {
  const said: string[] = []
  const logger = { warn: (_fields: object, message: string) => said.push(message) }
  open.push(new CacheManager({ prefix: uniquePrefix('limits'), ...options, logger }))
  return said.filter((message) => !message.includes('Redis bypassed'))
}

describe('topology limits said at start', () => {
  it('a standalone Redis and memory only have none to say', () => {
    expect(warningsOf({ redis: REDIS_URL, consistency: 'strict' })).toEqual([])
    expect(warningsOf({})).toEqual([])
  })

  it('Sentinel: a strict wait shorter than a failover is said, with the commandTimeout to use', async () => {
    const sentinels = [{ host: '127.0.0.1', port: await freePort() }]
    const redis = { sentinels, name: 'mymaster', lazyConnect: true }
    const short = warningsOf({ redis, consistency: 'strict' })
    expect(short).toHaveLength(1)
    expect(short[0]).toMatch(/Sentinel: strict writes wait at most 1000 ms.*1000 ms or more/)
    expect(warningsOf({ redis, consistency: 'strict', commandTimeout: '1s' })).toEqual([])
    expect(warningsOf({ redis })).toEqual([]) // eventual mode promises no zero-stale window
  })

  it('Upstash: no bus unless strict, and no server-change or eviction watch', async () => {
    const upstash = { url: `http://127.0.0.1:${await freePort()}`, token: 'token' }
    const eventual = warningsOf({ upstash })
    expect(eventual).toHaveLength(2)
    expect(eventual[0]).toMatch(/no invalidation bus.*untrustedLocalTtl, 1000 ms/)
    expect(eventual[1]).toMatch(/not detected; keep eviction off/)
    expect(warningsOf({ upstash, consistency: 'strict' })).toEqual([eventual[1]])
  })

  it('without a logger: a process warning, once however many caches say it', async () => {
    const upstash = { url: `http://127.0.0.1:${await freePort()}`, token: 'token' }
    const warnings: Error[] = []
    const listener = (warning: Error) => warnings.push(warning)
    process.on('warning', listener)
    try {
      for (let i = 0; i < 3; i++) {
        open.push(
          new CacheManager({ prefix: uniquePrefix('limits'), upstash, untrustedLocalTtl: '750ms' }),
        )
      }
      await waitForWarnings(warnings, 2)
      const ours = warnings.filter((w) => (w as { code?: string }).code === 'STRATACACHE_TOPOLOGY')
      expect(ours.map((w) => w.message)).toEqual([
        expect.stringMatching(/untrustedLocalTtl, 750 ms/),
        expect.stringMatching(/keep eviction off/),
      ])
    } finally {
      process.off('warning', listener)
    }
  })
})

/** Process warnings are emitted on the next tick. */
async function waitForWarnings(warnings: Error[], count: number): Promise<void> {
  for (let i = 0; i < 100 && warnings.length < count; i++) {
    await new Promise((resolve) => setImmediate(resolve))
  }
}

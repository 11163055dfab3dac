import { Redis } from 'ioredis'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { RedisDriver } from '../../src/drivers/redis-driver.js'
import { CacheManager } from '../../src/index.js'
import { keysUnder, REDIS_URL, rawRedis, uniquePrefix } from '../support/redis.js'
import { waitFor } from '../support/wait.js'

/**
 * A tag invalidation on a standalone Redis in one round trip: one script bumps the versions,
 * drains the tagged entries and publishes the bus notice, in that order. A subscriber that reads
 * the entries the moment the notice arrives finds them gone; a tag larger than one script call
 * gets its notice after the last drain; a cache's invalidateByTag sends one command.
 */

const base = uniquePrefix('tag-invalidation')
const raw = rawRedis()
const open: { close(): Promise<unknown> }[] = []

afterAll(async () => {
  for (const item of open.reverse()) await item.close()
  const left = await keysUnder(raw, base, true)
  if (left.length > 0) await raw.unlink(...left)
  raw.disconnect()
})

function driverFor(name: string, tagBatch?: number): RedisDriver {
  const driver = new RedisDriver({ url: REDIS_URL, prefix: `${base}${name}:`, tagBatch })
  open.push(driver)
  return driver
}

/** A subscriber that, for each message on `channel`, records what `probe` finds at that moment. */
async function watch(channel: string, probe: () => Promise<unknown>) {
  const subscriber = new Redis(REDIS_URL)
  const checker = new Redis(REDIS_URL)
  open.push(
    { close: async () => subscriber.disconnect() },
    { close: async () => checker.disconnect() },
  )
  const seen: { payload: string; found: unknown }[] = []
  subscriber.on('message', (_channel, payload: string) => {
    void probe().then((found) => seen.push({ payload, found }))
  })
  await subscriber.subscribe(channel)
  return seen
}

describe('RedisDriver.deleteByTags with a notice', () => {
  it('publishes the notice once, after the tagged entries are gone', async () => {
    const driver = driverFor('one')
    const prefix = `${base}one:`
    for (let i = 0; i < 20; i++) await driver.set(`k${i}`, Buffer.from(`v${i}`), 60_000, ['t'])
    const seen = await watch(`${prefix}chan`, async () =>
      raw.exists(...Array.from({ length: 20 }, (_, i) => `${prefix}k${i}`)),
    )
    const removed = await driver.deleteByTags(['t'], { channel: `${prefix}chan`, payload: 'hello' })
    expect(removed).toBe(20)
    await waitFor(() => seen.length === 1, { what: 'the notice' })
    expect(seen).toEqual([{ payload: 'hello', found: 0 }])
  })

  it('sends one command for the versions, the entries and the notice', async () => {
    const driver = driverFor('commands')
    await driver.set('k', Buffer.from('v'), 60_000, ['a', 'b'])
    const spy = vi.spyOn(driver.client, 'sendCommand')
    try {
      await driver.deleteByTags(['a', 'b'], { channel: `${base}commands:chan`, payload: 'x' })
      expect(spy.mock.calls.map(([command]) => (command as { name: string }).name)).toEqual([
        'eval', // with its source: a flushed script cache must not send it after later commands
      ])
    } finally {
      spy.mockRestore()
    }
    expect(await driver.get('k')).toBeUndefined()
  })

  it('a tag larger than one call is drained by more calls, and announced after the last', async () => {
    const driver = driverFor('large', 10)
    const prefix = `${base}large:`
    const keys = Array.from({ length: 35 }, (_, i) => `k${i}`)
    await driver.setMany(
      keys.map((key) => ({ key, value: Buffer.from(key), ttlMs: 60_000, tags: ['big'] })),
    )
    const seen = await watch(`${prefix}chan`, async () =>
      raw.exists(...keys.map((key) => prefix + key)),
    )
    expect(await driver.deleteByTags(['big'], { channel: `${prefix}chan`, payload: 'done' })).toBe(
      35,
    )
    await waitFor(() => seen.length === 1, { what: 'the notice' })
    expect(seen).toEqual([{ payload: 'done', found: 0 }])
  })
})

describe("a cache's invalidateByTag on one Redis", () => {
  it('one command carries the invalidation and its bus notice, which other instances apply', async () => {
    const prefix = `${base}cache:`
    const a = new CacheManager({ redis: REDIS_URL, prefix })
    const b = new CacheManager({ redis: REDIS_URL, prefix })
    open.push(a, b)
    await waitFor(() => a.getMetrics().busTrusted && b.getMetrics().busTrusted, { what: 'buses' })
    await a.set('x', 1, { tags: ['t'] })
    expect(await b.get('x')).toBe(1) // now in B's L1
    const received = b.getMetrics().busReceived
    await a.invalidateByTag('t')
    await waitFor(() => b.getMetrics().busReceived > received, { what: "A's notice at B" })
    expect(await b.get('x')).toBeUndefined()
    expect(b.getMetrics().busTrusted).toBe(true) // no gap: the notice was numbered and sent
  })
})

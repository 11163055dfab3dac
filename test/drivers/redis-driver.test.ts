import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { escapeGlob, RedisDriver } from '../../src/drivers/redis-driver.js'
import { ErrorCodes, ValidationError } from '../../src/errors.js'
import { keysUnder, REDIS_URL, rawRedis, uniquePrefix } from '../support/redis.js'
import { freePort, RedisServer } from '../support/redis-server.js'
import { waitFor } from '../support/wait.js'

const base = uniquePrefix('redis-driver')
const raw = rawRedis()
const drivers: RedisDriver[] = []

/** A driver on its own sub-prefix of this file's prefix, closed after the file. */
function driverFor(
  name: string,
  extra: Partial<ConstructorParameters<typeof RedisDriver>[0]> = {},
) {
  const driver = new RedisDriver({ url: REDIS_URL, prefix: `${base}${name}:`, ...extra })
  drivers.push(driver)
  return driver
}

/** Counts the commands a client sends while `fn` runs. */
async function commandsSent(client: RedisDriver['client'], fn: () => Promise<unknown>) {
  const spy = vi.spyOn(client, 'sendCommand')
  try {
    await fn()
    return spy.mock.calls.map(([command]) => (command as { name: string }).name)
  } finally {
    spy.mockRestore()
  }
}

const buf = (s: string) => Buffer.from(s)

/** A closed driver refuses commands and its client stops reconnecting. */
async function expectClosed(driver: RedisDriver) {
  await expect(driver.get('k')).rejects.toMatchObject({ code: ErrorCodes.CLOSED })
  await new Promise((resolve) => setTimeout(resolve, 300))
  expect(['end', 'reconnecting', 'close']).toContain(driver.client.status)
  expect((driver.client as unknown as { reconnectTimeout: unknown }).reconnectTimeout).toBeNull()
}

afterAll(async () => {
  for (const driver of drivers) await driver.close()
  const left = await keysUnder(raw, base)
  if (left.length > 0) await raw.unlink(...left)
  raw.disconnect()
})

describe('RedisDriver: construction', () => {
  it('needs exactly one of url, options, client, and a non-empty prefix', () => {
    expect(() => new RedisDriver({ prefix: 'p:' })).toThrow(ValidationError)
    expect(() => new RedisDriver({ prefix: 'p:', url: REDIS_URL, options: {} })).toThrow(
      /exactly one/,
    )
    expect(() => new RedisDriver({ prefix: '', url: REDIS_URL })).toThrow(/prefix/)
    expect(() => new RedisDriver({ prefix: 'p:', url: 'http://x' })).toThrow(/redis:\/\//)
    expect(() => new RedisDriver({ prefix: 'p:', options: { keyPrefix: 'a:' } })).toThrow(
      /keyPrefix/,
    )
    expect(() => new RedisDriver({ prefix: 'p:', url: REDIS_URL, scanCount: 0 })).toThrow(
      /scanCount/,
    )
    expect(() => new RedisDriver({ prefix: 'p:', client: {} as never })).toThrow(/client/)
    try {
      new RedisDriver({ prefix: '' as string, url: REDIS_URL })
    } catch (error) {
      expect((error as ValidationError).field).toBe('prefix')
      expect((error as ValidationError).code).toBe(ErrorCodes.INVALID_OPTION)
    }
  })

  it('refuses a client with an ioredis keyPrefix, and leaves a given client open', async () => {
    const prefixed = new Redis(REDIS_URL, { keyPrefix: 'x:', lazyConnect: true })
    expect(() => new RedisDriver({ prefix: 'p:', client: prefixed })).toThrow(/keyPrefix/)
    prefixed.disconnect()

    const client = rawRedis()
    const before = { ...client.options }
    const driver = new RedisDriver({ client, prefix: `${base}given:` })
    await driver.set('k', buf('v'), 10_000, ['t'])
    await driver.close()
    expect(client.status).toBe('ready')
    expect(await client.get(`${base}given:k`)).toBe('v')
    expect(client.options.enableOfflineQueue).toBe(before.enableOfflineQueue)
    expect(client.listenerCount('error')).toBe(0)
    client.disconnect()
  })

  it('refuses keys in the reserved namespace and bad TTLs', async () => {
    const driver = driverFor('reserved')
    await expect(driver.get('__sc:tag:x')).rejects.toMatchObject({
      code: ErrorCodes.INVALID_KEY,
      field: 'key',
    })
    await expect(driver.set('k', buf('v'), 0, [])).rejects.toMatchObject({
      code: ErrorCodes.INVALID_TTL,
    })
    await expect(driver.set('k', buf('v'), Number.NaN, [])).rejects.toBeInstanceOf(ValidationError)
    await expect(driver.increment('n', 1.5, 1000)).rejects.toMatchObject({ field: 'by' })
    // Deleting a key that cannot exist is a no-op, so a replayed batch never fails on one.
    await driver.set('plain', buf('v'), 10_000, [])
    expect(await driver.delete(['__sc:tag:x', 'plain'])).toBe(1)
  })
})

describe('RedisDriver: entries and tags', () => {
  const driver = driverFor('entries')
  const p = driver.prefix
  const tagKey = (tag: string) => `${p}__sc:tag:${tag}`

  it('get/set round-trip bytes under the prefix with a TTL', async () => {
    const bytes = Buffer.from([0, 1, 2, 255, 0x80])
    await driver.set('a', bytes, 30_000, [])
    expect(await driver.get('a')).toEqual(bytes)
    expect(await raw.getBuffer(`${p}a`)).toEqual(bytes)
    const ttl = await raw.pttl(`${p}a`)
    expect(ttl).toBeGreaterThan(25_000)
    expect(ttl).toBeLessThanOrEqual(30_000)
    expect(await driver.get('missing')).toBeUndefined()
  })

  it('set with tags records the full key in each tag set, in one round trip', async () => {
    const sent = await commandsSent(driver.client, () =>
      driver.set('p1', buf('one'), 20_000, ['products', 'featured']),
    )
    // The version bump that fences other instances' fills, then the write: one pipelined round
    // trip, each with its source (EVAL), so that a flushed script cache cannot reorder them.
    expect(sent).toEqual(['eval', 'eval'])
    expect(await raw.smembers(tagKey('products'))).toEqual([`${p}p1`])
    expect(await raw.smembers(tagKey('featured'))).toEqual([`${p}p1`])
    expect(await raw.pttl(tagKey('products'))).toBeGreaterThan(15_000)
  })

  it('a rewrite with other tags (or none) leaves the tags the entry no longer carries', async () => {
    await driver.set('re', buf('v1'), 20_000, ['old', 'kept'])
    await driver.set('re', buf('v2'), 20_000, ['kept', 'new'])
    expect(await raw.smembers(tagKey('old'))).toEqual([])
    expect(await raw.smembers(tagKey('kept'))).toEqual([`${p}re`])
    expect(await raw.smembers(tagKey('new'))).toEqual([`${p}re`])
    // Invalidating the tag the entry left does not touch its new value.
    await driver.deleteByTags(['old'])
    expect(await driver.get('re')).toEqual(buf('v2'))
    await driver.set('re', buf('v3'), 20_000, [])
    expect(await raw.smembers(tagKey('kept'))).toEqual([])
    await driver.deleteByTags(['kept', 'new'])
    expect(await driver.get('re')).toEqual(buf('v3'))
    // setMany and a fenced fill store keep the index exact the same way.
    await driver.setMany([{ key: 're', value: buf('v4'), ttlMs: 20_000, tags: ['batch-a'] }])
    await driver.setMany([{ key: 're', value: buf('v5'), ttlMs: 20_000, tags: ['batch-b'] }])
    expect(await raw.smembers(tagKey('batch-a'))).toEqual([])
    const fill = driver.coordination!
    const start = await fill.beginFill('re', 1_000, 'token', 'always')
    expect(await fill.storeFill('re', buf('v6'), 20_000, ['fill-tag'], start.since, 'token')).toBe(
      'stored',
    )
    expect(await raw.smembers(tagKey('batch-b'))).toEqual([])
    expect(await raw.smembers(tagKey('fill-tag'))).toEqual([`${p}re`])
    // Every bookkeeping key has a TTL too.
    for (const key of await keysUnder(raw, escapeGlob(p), true)) {
      expect(await raw.pttl(key), key).toBeGreaterThan(0)
    }
  })

  it('extends a tag set TTL to its longest-lived member and never shortens it', async () => {
    await driver.set('short', buf('s'), 5_000, ['ttl-tag'])
    expect(await raw.pttl(tagKey('ttl-tag'))).toBeLessThanOrEqual(5_000)
    await driver.set('long', buf('l'), 60_000, ['ttl-tag'])
    expect(await raw.pttl(tagKey('ttl-tag'))).toBeGreaterThan(55_000)
    await driver.set('shorter', buf('s'), 2_000, ['ttl-tag'])
    expect(await raw.pttl(tagKey('ttl-tag'))).toBeGreaterThan(55_000)
  })

  it('getMany is one MGET aligned with the keys', async () => {
    await driver.set('m1', buf('1'), 10_000, [])
    await driver.set('m3', buf('3'), 10_000, [])
    let result: (Buffer | undefined)[] = []
    const sent = await commandsSent(driver.client, async () => {
      result = await driver.getMany(['m1', 'm2', 'm3'])
    })
    expect(sent).toEqual(['mget'])
    expect(result.map((b) => b?.toString())).toEqual(['1', undefined, '3'])
    expect(await driver.getMany([])).toEqual([])
  })

  it('setMany writes entries and tags in one round trip', async () => {
    await driver.setMany([{ key: 'warm2', value: buf('w'), ttlMs: 1000, tags: ['w'] }])
    const sent = await commandsSent(driver.client, () =>
      driver.setMany([
        { key: 's1', value: buf('1'), ttlMs: 10_000, tags: ['batch', 'odd'] },
        { key: 's2', value: buf('2'), ttlMs: 40_000, tags: ['batch'] },
        { key: 's3', value: buf('3'), ttlMs: 10_000, tags: [] },
      ]),
    )
    // The version bump that fences other instances' fills, then the write: one pipelined round
    // trip, each with its source (EVAL), so that a flushed script cache cannot reorder them.
    expect(sent).toEqual(['eval', 'eval'])
    expect((await driver.getMany(['s1', 's2', 's3'])).map((b) => b?.toString())).toEqual([
      '1',
      '2',
      '3',
    ])
    expect((await raw.smembers(tagKey('batch'))).sort()).toEqual([`${p}s1`, `${p}s2`])
    expect(await raw.smembers(tagKey('odd'))).toEqual([`${p}s1`])
    expect(await raw.pttl(tagKey('batch'))).toBeGreaterThan(35_000)
    expect(await raw.pttl(`${p}s2`)).toBeGreaterThan(35_000)
    expect(await raw.pttl(`${p}s3`)).toBeLessThanOrEqual(10_000)
  })

  it('setMany handles batches larger than one script call', async () => {
    const items = Array.from({ length: 2_500 }, (_, i) => ({
      key: `big:${i}`,
      value: buf(String(i)),
      ttlMs: 10_000,
      tags: [`big-${i % 3}`],
    }))
    await driver.setMany(items)
    const back = await driver.getMany(items.map((item) => item.key))
    expect(back.every((b, i) => b?.toString() === String(i))).toBe(true)
    expect(await raw.scard(tagKey('big-0'))).toBe(834)
  })

  it('delete unlinks keys and counts those that existed', async () => {
    await driver.set('d1', buf('1'), 10_000, [])
    await driver.set('d2', buf('2'), 10_000, [])
    const sent = await commandsSent(driver.client, async () => {
      expect(await driver.delete(['d1', 'd2', 'nope'])).toBe(2)
    })
    expect(sent).toEqual(['eval', 'unlink']) // the version bump, then the delete
    expect(await raw.exists(`${p}d1`, `${p}d2`)).toBe(0)
    expect(await driver.delete([])).toBe(0)
  })

  it('deleteByTags removes every member and the tag sets, counting each entry once', async () => {
    await driver.set('t1', buf('1'), 10_000, ['red'])
    await driver.set('t2', buf('2'), 10_000, ['red', 'blue'])
    await driver.set('t3', buf('3'), 10_000, ['blue'])
    await driver.set('t4', buf('4'), 10_000, ['green'])
    expect(await driver.deleteByTags(['red', 'blue'])).toBe(3)
    expect(await raw.exists(`${p}t1`, `${p}t2`, `${p}t3`)).toBe(0)
    expect(await raw.exists(tagKey('red'), tagKey('blue'))).toBe(0)
    expect((await driver.get('t4'))?.toString()).toBe('4')
    expect(await driver.deleteByTags(['red'])).toBe(0)
    expect(await driver.deleteByTags([])).toBe(0)
  })

  it('deleteByTags drains a tag larger than one batch', async () => {
    const small = driverFor('bigtag', { tagBatch: 100 })
    const items = Array.from({ length: 350 }, (_, i) => ({
      key: `e${i}`,
      value: buf('x'),
      ttlMs: 10_000,
      tags: ['huge'],
    }))
    await small.setMany(items)
    expect(await raw.scard(`${small.prefix}__sc:tag:huge`)).toBe(350)
    expect(await small.deleteByTags(['huge'])).toBe(350)
    expect(await keysUnder(raw, small.prefix)).toEqual([])
  })
})

describe('RedisDriver: patterns, clear and the prefix boundary', () => {
  // Glob metacharacters in the prefix: unescaped, `x[ab]*?` would also match `xa...` keys.
  const driver = driverFor('glob:x[ab]*?\\')
  const p = driver.prefix
  const outside = [`${base}glob:xaZZZ:user:1`, `${base}glob:xb-user:2`, `${base}outside`]

  beforeAll(async () => {
    for (const key of outside) await raw.set(key, 'keep', 'PX', 60_000)
  })

  it('escapes glob metacharacters', () => {
    expect(escapeGlob('a*b?c[d]e\\f')).toBe('a\\*b\\?c\\[d\\]e\\\\f')
  })

  it('deleteByPattern with a glob removes matching entries only', async () => {
    await driver.set('user:1', buf('1'), 10_000, ['users'])
    await driver.set('user:2', buf('2'), 10_000, ['users'])
    await driver.set('order:1', buf('3'), 10_000, [])
    expect(await driver.deleteByPattern('user:*')).toBe(2)
    expect(await raw.exists(`${p}user:1`, `${p}user:2`)).toBe(0)
    expect(await raw.exists(`${p}order:1`)).toBe(1)
    // The tag index is not an entry: not counted, not removed by a pattern.
    expect(await raw.exists(`${p}__sc:tag:users`)).toBe(1)
  })

  it('deleteByPattern with a RegExp tests keys without the prefix', async () => {
    await driver.set('item:10', buf('a'), 10_000, [])
    await driver.set('item:11', buf('b'), 10_000, [])
    await driver.set('item:x', buf('c'), 10_000, [])
    const re = /^item:\d+$/g // /g keeps lastIndex between test() calls: the driver resets it
    expect(await driver.deleteByPattern(re)).toBe(2)
    expect(await raw.exists(`${p}item:x`)).toBe(1)
    expect(await driver.deleteByPattern(/^tag:/)).toBe(0)
  })

  it("deleteByPattern('*') and clear() stay inside the prefix", async () => {
    await driver.set('a', buf('1'), 10_000, ['t'])
    await driver.increment('n', 1, 10_000)
    const removed = await driver.deleteByPattern('*')
    expect(removed).toBeGreaterThanOrEqual(3) // a, n, order:1, item:x
    expect(await keysUnder(raw, escapeGlob(p))).toEqual([`${p}__sc:tag:t`, `${p}__sc:tag:users`])
    for (const key of outside) expect(await raw.get(key)).toBe('keep')

    await driver.set('b', buf('2'), 10_000, ['t2'])
    await driver.clear()
    expect(await keysUnder(raw, escapeGlob(p))).toEqual([])
    for (const key of outside) expect(await raw.get(key)).toBe('keep')
  })

  it('never sends KEYS or FLUSHDB', async () => {
    await driver.set('c', buf('3'), 10_000, [])
    const sent = await commandsSent(driver.client, async () => {
      await driver.deleteByPattern('c*')
      await driver.deleteByPattern(/c/)
      await driver.clear()
    })
    // SMEMBERS: the registry of prefixes, to leave the keys of a longer prefix alone.
    expect(new Set(sent)).toEqual(new Set(['eval', 'scan', 'smembers', 'unlink']))
  })
})

describe('RedisDriver: counters and sets', () => {
  const driver = driverFor('native')
  const p = driver.prefix

  it('increment creates a counter with a TTL and does not reset it', async () => {
    expect(await driver.increment('views', 1, 5_000)).toBe(1)
    expect(await driver.increment('views', 41, 100_000)).toBe(42)
    expect(await driver.increment('views', -2, 100_000)).toBe(40)
    const ttl = await raw.pttl(`${p}views`)
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(5_000)
    expect(await raw.get(`${p}views`)).toBe('40')
  })

  it('addToSet counts added members, sets the TTL once; getSet reads members', async () => {
    expect(await driver.addToSet('tags', ['a', 'b'], 5_000)).toBe(2)
    expect(await driver.addToSet('tags', ['b', 'c'], 100_000)).toBe(1)
    expect(await driver.addToSet('tags', [], 100_000)).toBe(0)
    expect((await driver.getSet('tags')).sort()).toEqual(['a', 'b', 'c'])
    expect(await raw.type(`${p}tags`)).toBe('set')
    expect(await raw.pttl(`${p}tags`)).toBeLessThanOrEqual(5_000)
    expect(await driver.getSet('none')).toEqual([])
    const many = Array.from({ length: 2_500 }, (_, i) => `m${i}`)
    expect(await driver.addToSet('many', many, 5_000)).toBe(2_500)
  })

  it('ping answers', async () => {
    await expect(driver.ping()).resolves.toBeUndefined()
  })

  it('puts a TTL on every key it writes', async () => {
    const all = await keysUnder(raw, base)
    const mine = all.filter((key) => !key.startsWith(`${base}glob:x`) && key !== `${base}outside`)
    expect(mine.length).toBeGreaterThan(10)
    const ttls = await Promise.all(mine.map((key) => raw.pttl(key)))
    // -1: a key without TTL (the failure); -2: a key that expired since the scan (fine).
    expect(mine.filter((_, i) => ttls[i] === -1)).toEqual([])
  })
})

describe('RedisDriver: connection behaviour', () => {
  it('waits for the first connection instead of failing commands issued at once', async () => {
    const driver = driverFor('first-connect')
    expect(driver.client.status).not.toBe('ready')
    await driver.set('k', buf('v'), 10_000, [])
    expect((await driver.get('k'))?.toString()).toBe('v')
    expect((driver.client as Redis).options.enableOfflineQueue).toBe(false)
  })

  it('fails fast when nothing listens, and keeps trying in the background', async () => {
    const port = await freePort()
    const driver = new RedisDriver({ url: `redis://127.0.0.1:${port}`, prefix: `${base}down:` })
    const started = Date.now()
    await expect(driver.get('k')).rejects.toThrow()
    await expect(driver.get('k')).rejects.toThrow()
    expect(Date.now() - started).toBeLessThan(1_000)
    expect(driver.client.status).not.toBe('end')
    await driver.close()
    await expectClosed(driver)
  })

  it('fails fast after the connection drops, then reconnects by itself', async () => {
    const server = await RedisServer.start()
    const driver = new RedisDriver({ url: server.url, prefix: `${base}drop:` })
    try {
      await driver.set('k', buf('v'), 10_000, ['t'])
      await server.kill()
      const started = Date.now()
      const results = await Promise.allSettled([driver.get('k'), driver.get('k'), driver.ping()])
      expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected'])
      expect(Date.now() - started).toBeLessThan(500)

      await server.restart()
      await waitFor(
        () =>
          driver.ping().then(
            () => true,
            () => false,
          ),
        {
          what: 'the driver to reconnect',
        },
      )
      await driver.set('k2', buf('again'), 10_000, ['t']) // scripts reload after the restart
      expect((await driver.get('k2'))?.toString()).toBe('again')
    } finally {
      await driver.close()
      await server.stop()
    }
  })

  it('close() is bounded when the server is gone', async () => {
    const server = await RedisServer.start()
    const driver = new RedisDriver({
      url: server.url,
      prefix: `${base}close:`,
      closeTimeoutMs: 200,
    })
    await driver.ping()
    await server.stop()
    const started = Date.now()
    await driver.close()
    expect(Date.now() - started).toBeLessThan(1_000)
    await expectClosed(driver)
  })
})

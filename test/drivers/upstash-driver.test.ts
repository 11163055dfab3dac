/**
 * The Upstash REST driver, over an Upstash-protocol REST server in front of Redis: no Upstash
 * server exists here, so `support/upstash-rest-server.ts` speaks Upstash's documented REST
 * protocol (JSON commands, `/pipeline`, `/multi-exec`, Bearer tokens, base64 responses) and runs
 * the commands on the test Redis. What these tests show is that the driver and `@upstash/redis`
 * work against that protocol; Upstash's own server was not available to run them against.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { assertUpstashInstalled, loadUpstash } from '../../src/drivers/upstash-client.js'
import { UpstashDriver } from '../../src/drivers/upstash-driver.js'
import { deleteKeysUnder, rawRedis, uniquePrefix } from '../support/redis.js'
import { RedisServer } from '../support/redis-server.js'
import { startUpstashRestServer, type UpstashRestServer } from '../support/upstash-rest-server.js'
import { measureStalls } from '../support/wait.js'

const raw = rawRedis()
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const prefixes: string[] = []
let server: UpstashRestServer

beforeAll(async () => {
  server = await startUpstashRestServer()
})

afterAll(async () => {
  await server.close()
  for (const prefix of prefixes) await deleteKeysUnder(raw, prefix)
  raw.disconnect()
})

function driver(
  options: { token?: string; commandTimeoutMs?: number; rest?: UpstashRestServer } = {},
): UpstashDriver {
  const prefix = uniquePrefix('upstash')
  prefixes.push(prefix)
  const rest = options.rest ?? server
  return new UpstashDriver({
    url: rest.url,
    token: options.token ?? rest.token,
    prefix,
    commandTimeoutMs: options.commandTimeoutMs ?? 2000,
    // The shared test Redis may have a sparse keyspace: fewer, larger SCAN steps.
    scanCount: 10_000,
  })
}

/** Every byte value, and more than one base64 group, so that nothing relies on text. */
const BINARY = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7) % 256))

describe('UpstashDriver over an Upstash-protocol REST server in front of Redis', () => {
  it('gets, sets and deletes binary values, stored as base64 text', async () => {
    const d = driver()
    await d.set('a', BINARY, 10_000, [])
    expect(await d.get('a')).toEqual(BINARY)
    expect(await d.getMany(['a', 'missing'])).toEqual([BINARY, undefined])
    expect(await raw.get(`${d.prefix}a`)).toBe(BINARY.toString('base64'))
    const ttl = await raw.pttl(`${d.prefix}a`)
    expect(ttl).toBeGreaterThan(9_000)
    expect(await d.delete(['a', 'missing'])).toBe(1)
    expect(await d.get('a')).toBeUndefined()
    await expect(d.get('__sc:tag:x')).rejects.toThrow(/reserved/)
  })

  it('reads the write stamp from the base64 text (bytes 2 to 9 of the entry)', async () => {
    const d = driver()
    await d.set('s', BINARY, 10_000, [])
    expect(await d.coordination.getStamp('s')).toBe(BINARY.subarray(2, 10).toString('hex'))
    expect(await d.coordination.getStamp('absent')).toBeUndefined()
    // Ten bytes: the stamp ends exactly at the end of the value.
    await d.set('short', BINARY.subarray(0, 10), 10_000, [])
    expect(await d.coordination.getStamp('short')).toBe(BINARY.subarray(2, 10).toString('hex'))
  })

  it('indexes tags, and a rewrite without a tag leaves that tag', async () => {
    const d = driver()
    await d.set('p1', BINARY, 10_000, ['products', 'p:1'])
    await d.setMany([
      { key: 'p2', value: BINARY, ttlMs: 10_000, tags: ['products'] },
      { key: 'o1', value: BINARY, ttlMs: 10_000, tags: ['orders'] },
    ])
    await d.set('p1', BINARY, 10_000, ['p:1'])
    expect(await d.deleteByTags(['products'])).toBe(1)
    expect(await d.getMany(['p1', 'p2', 'o1'])).toEqual([BINARY, undefined, BINARY])
    expect(await d.deleteByTags(['p:1', 'orders'])).toBe(2)
    expect(await d.getMany(['p1', 'o1'])).toEqual([undefined, undefined])
  })

  it('fences a fill that an invalidation raced, and lets an unraced one store', async () => {
    const d = driver()
    const begun = await d.coordination.beginFill('k', 5_000, 'token-1', 'if-absent')
    expect(begun).toMatchObject({ lease: true, value: undefined })
    // Another instance's fill finds the lease taken.
    expect((await d.coordination.beginFill('k', 5_000, 'token-2', 'if-absent')).lease).toBe(false)
    await d.delete(['k'])
    expect(await d.coordination.storeFill('k', BINARY, 10_000, [], begun.since, 'token-1')).toBe(
      'fenced',
    )
    expect(await d.get('k')).toBeUndefined()

    const tagged = await d.coordination.beginFill('t', 5_000, 'token-3', 'if-absent')
    await d.deleteByTags(['products'])
    const outcome = await d.coordination.storeFill(
      't',
      BINARY,
      10_000,
      ['products'],
      tagged.since,
      'token-3',
    )
    expect(outcome).toBe('fenced')

    const fresh = await d.coordination.beginFill('f', 5_000, 'token-4', 'if-absent')
    expect(await d.coordination.storeFill('f', BINARY, 10_000, ['x'], fresh.since, 'token-4')).toBe(
      'stored',
    )
    const again = await d.coordination.beginFill('f', 5_000, 'token-5', 'if-absent')
    expect(again).toMatchObject({ lease: false, value: BINARY })
  })

  it('a fill never overwrites a set made after it began', async () => {
    const d = driver()
    const begun = await d.coordination.beginFill('k', 5_000, 'token', 'always')
    const newer = Buffer.from('newer value')
    await d.set('k', newer, 10_000, [])
    expect(await d.coordination.storeFill('k', BINARY, 10_000, [], begun.since, 'token')).toBe(
      'fenced',
    )
    expect(await d.get('k')).toEqual(newer)
  })

  it('falls back from EVALSHA to EVAL when the server has no script cached', async () => {
    // A Redis of its own: a SCRIPT FLUSH of the shared one would hit every test running beside.
    const own = await RedisServer.start()
    const rest = await startUpstashRestServer({ redisUrl: own.url })
    const admin = new Redis(own.url)
    try {
      const d = driver({ rest })
      await d.ping()
      await admin.script('FLUSH')
      const before = rest.commands.length
      expect(await d.increment('n', 5, 10_000)).toBe(5)
      expect(rest.commands.slice(before).filter((c) => c.startsWith('EVAL'))).toEqual([
        'EVALSHA',
        'EVAL',
      ])
      expect(await d.increment('n', 1, 10_000)).toBe(6)
      expect(await d.addToSet('s', ['a', 'b', 'a'], 10_000)).toBe(2)
      expect((await d.getSet('s')).sort()).toEqual(['a', 'b'])
    } finally {
      admin.disconnect()
      await rest.close()
      await own.kill()
    }
  })

  it('deletes by pattern, lists keys and clears within its prefix only', async () => {
    const d = driver()
    const nested = new UpstashDriver({
      url: server.url,
      token: server.token,
      prefix: `${d.prefix}x`,
      scanCount: 10_000,
    })
    await d.setMany(
      ['user:1', 'user:2', 'order:1'].map((key) => ({
        key,
        value: BINARY,
        ttlMs: 10_000,
        tags: [],
      })),
    )
    await nested.set('user:9', BINARY, 10_000, [])
    const listed: string[] = []
    for await (const batch of d.scanKeys('user:*')) listed.push(...batch)
    expect(listed.sort()).toEqual(['user:1', 'user:2'])
    expect(await d.deleteByPattern(/^user:/)).toBe(2)
    expect(await d.get('order:1')).toEqual(BINARY)
    await d.clear()
    expect(await d.get('order:1')).toBeUndefined()
    expect(await nested.get('user:9')).toEqual(BINARY)
    await nested.clear()
  })

  it('says the token was refused, without showing it', async () => {
    const d = driver({ token: 'not-the-token' })
    const error = (await d.get('a').then(
      () => undefined,
      (e: unknown) => e,
    )) as Error
    expect(error).toBeInstanceOf(Error)
    expect(error.message).toMatch(/refused the token/)
    expect(error.message).toContain('UPSTASH_REDIS_REST_TOKEN')
    expect(error.message).not.toContain('not-the-token')
  })

  it('aborts a request after commandTimeoutMs, and says so', async () => {
    const d = driver({ commandTimeoutMs: 100 })
    // An answer held far longer than the bound below: ending before it proves the abort, with
    // room for a loaded machine (the abort's timer runs late by up to the longest stall).
    server.delayMs = 5_000
    try {
      const stalls = measureStalls()
      const started = performance.now()
      await expect(d.get('a')).rejects.toThrow(
        /no answer from the Upstash REST server within 100 ms/,
      )
      const elapsed = performance.now() - started
      await stalls.stop()
      expect(elapsed).toBeLessThan(100 + 1_500 + stalls.maxMs())
    } finally {
      server.delayMs = 0
    }
  })

  it('says the server is unreachable when nothing listens', async () => {
    const closed = await startUpstashRestServer()
    await closed.close()
    const d = new UpstashDriver({
      url: closed.url,
      token: 't',
      prefix: uniquePrefix('upstash-down'),
    })
    await expect(d.ping()).rejects.toThrow(/cannot reach the Upstash REST server: ECONNREFUSED/)
  })

  it('refuses calls once closed', async () => {
    const d = driver()
    await d.close()
    await expect(d.get('a')).rejects.toThrow(/closed/)
  })
})

describe('@upstash/redis, an optional peer dependency', () => {
  const notFound = () =>
    Object.assign(new Error("Cannot find package '@upstash/redis'"), {
      code: 'ERR_MODULE_NOT_FOUND',
    })

  it('missing: a clear error naming the package, at construction and on import', async () => {
    expect(() =>
      assertUpstashInstalled(() => {
        throw Object.assign(new Error('not found'), { code: 'MODULE_NOT_FOUND' })
      }),
    ).toThrow(/needs the optional peer dependency @upstash\/redis.*npm install @upstash\/redis/)
    // A runtime that cannot resolve at all (bundled): the import on first use decides.
    expect(() =>
      assertUpstashInstalled(() => {
        throw new Error('require.resolve is not supported')
      }),
    ).not.toThrow()
    await expect(loadUpstash(() => Promise.reject(notFound()))).rejects.toThrow(
      /npm install @upstash\/redis/,
    )
  })

  it('not installed: a cache without Upstash works; one with it reports the package', async () => {
    // A fresh process in which import('@upstash/redis') fails (support/without-upstash.mjs).
    const script = `
      const { CacheManager } = await import('./src/index.ts')
      const memory = new CacheManager()
      await memory.set('k', 1)
      const upstash = new CacheManager({ upstash: { url: 'https://db.example.invalid', token: 't' } })
      const errors = []
      upstash.on('error', ({ error }) => errors.push(error.message))
      await upstash.set('k', 1)
      console.log(JSON.stringify({ memory: await memory.get('k'), errors }))
      await Promise.all([memory.close(), upstash.close()])
    `
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        '--import',
        './test/support/without-upstash.mjs',
        '--input-type=module',
        '-e',
        script,
      ],
      { cwd: ROOT },
    )
    const result = JSON.parse(stdout.trim().split('\n').at(-1) ?? 'null')
    expect(result.memory).toBe(1)
    expect(result.errors.join('\n')).toMatch(/needs the optional peer dependency @upstash\/redis/)
  })

  it('is imported once, when a driver is made, and shared by its commands', async () => {
    let imported = 0
    const d = new UpstashDriver({
      url: server.url,
      token: server.token,
      prefix: uniquePrefix('upstash-lazy'),
      importer: () => {
        imported++
        return import('@upstash/redis')
      },
    })
    await d.ping()
    await d.ping()
    expect(imported).toBe(1)
  })
})

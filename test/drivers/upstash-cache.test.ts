/**
 * `CacheManager` on the Upstash REST driver, over an Upstash-protocol REST server in front of
 * Redis (`support/upstash-rest-server.ts`, the tests' stand-in for Upstash's server): the cache's
 * guarantees as they hold without an invalidation bus, fenced fills across instances, strict
 * mode's write stamps, and degraded mode when the REST server is down, slow or refuses the token.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  CacheManager,
  type CacheOptions,
  ErrorCodes,
  MemoryBus,
  MemoryBusHub,
  ValidationError,
} from '../../src/index.js'
import { deleteKeysUnder, rawRedis, uniquePrefix } from '../support/redis.js'
import { startUpstashRestServer, type UpstashRestServer } from '../support/upstash-rest-server.js'
import { deferred, measureStalls, waitFor } from '../support/wait.js'

const raw = rawRedis()
const prefixes: string[] = []
const open: CacheManager[] = []
let server: UpstashRestServer

beforeAll(async () => {
  server = await startUpstashRestServer()
})

afterEach(async () => {
  server.delayMs = 0
  await server.start()
  for (const cache of open.splice(0)) await cache.close()
})

afterAll(async () => {
  await server.close()
  for (const prefix of prefixes) await deleteKeysUnder(raw, prefix)
  raw.disconnect()
})

function newPrefix(): string {
  const prefix = uniquePrefix('upstash-cache')
  prefixes.push(prefix)
  return prefix
}

/** A cache on the stand-in; `prefix` shared by the instances of one test. */
function cache(prefix: string, options: CacheOptions = {}): CacheManager {
  const made = new CacheManager({
    upstash: { url: server.url, token: server.token },
    prefix,
    commandTimeout: '1s',
    ...options,
  })
  made.on('error', () => {})
  open.push(made)
  return made
}

/**
 * Waits for a first answer from L2 (the client loaded, a request answered): the tests with a short
 * commandTimeout are not about a cold start, which on a loaded machine can take longer.
 */
async function warm(cache: CacheManager): Promise<void> {
  await waitFor(
    async () => {
      await cache.get('warm-up')
      return cache.getMetrics().l2Misses > 0
    },
    { what: 'a first answer from L2' },
  )
}

describe('CacheManager over an Upstash-protocol REST server in front of Redis', () => {
  it('gets, sets, deletes and invalidates by tag through L2', async () => {
    const prefix = newPrefix()
    const a = cache(prefix)
    const b = cache(prefix)
    await a.set('user:1', { name: 'Ada', at: new Date(0) }, { tags: ['users'] })
    expect(await b.get('user:1')).toEqual({ name: 'Ada', at: new Date(0) })
    await a.set('user:2', 'Bob', { tags: ['users'] })
    await b.invalidateByTag('users')
    expect(await raw.exists(`${prefix}user:1`, `${prefix}user:2`)).toBe(0)
    await a.set('k', 1)
    await b.delete('k')
    expect(await raw.exists(`${prefix}k`)).toBe(0)
    expect(await a.increment('hits', 2)).toBe(2)
    expect(await b.increment('hits', 3)).toBe(5)
  })

  it('fences a fill that another instance’s invalidation raced', async () => {
    const prefix = newPrefix()
    const a = cache(prefix)
    const b = cache(prefix)
    const loaderStarted = deferred()
    const release = deferred<string>()
    const fill = a.getOrCompute(
      'product:1',
      async () => {
        loaderStarted.resolve()
        return release.promise
      },
      { tags: ['products'] },
    )
    await loaderStarted.promise
    await b.invalidateByTag('products')
    release.resolve('read before the invalidation')
    expect(await fill).toBe('read before the invalidation')
    // Neither L2 nor the other instance may hold what the fill read: the fill is counted as
    // fenced once its store was refused (the store may end after the callers got the value).
    await waitFor(() => a.getMetrics().fencedFills === 1, { what: 'the fill to be fenced' })
    expect(await raw.exists(`${prefix}product:1`)).toBe(0)
    expect(await b.get('product:1')).toBeUndefined()
  })

  it('without a bus, never serves another instance’s overwritten value past untrustedLocalTtl', async () => {
    const prefix = newPrefix()
    const a = cache(prefix, { commandTimeout: '250ms' })
    const b = cache(prefix, { commandTimeout: '250ms' })
    await a.set('price', 1)
    expect(await b.get('price')).toBe(1) // now in b's L1
    await a.set('price', 2)
    const written = performance.now()
    // b serves its L1 copy for a while: no bus tells it of a's write...
    expect(await b.get('price')).toBe(1)
    // ...but at most untrustedLocalTtl (1 s) after it read it; the bound is measured from the
    // write, plus one commandTimeout for a read that was in flight during it.
    const bound = 1000 + 250
    const seen: { at: number; value: unknown }[] = []
    while (performance.now() - written < bound + 300) {
      // When the read began: an L1 hit is decided there.
      const at = performance.now() - written
      seen.push({ at, value: await b.get('price') })
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    const stale = seen.filter((s) => s.value !== 2)
    expect(stale.length).toBeGreaterThan(0)
    expect(Math.max(...stale.map((s) => s.at))).toBeLessThan(bound)
    expect(seen.at(-1)!.value).toBe(2)
  })

  it('a per-call or configured L1 lifetime cannot lift the cap without a bus', async () => {
    const prefix = newPrefix()
    const a = cache(prefix)
    const b = cache(prefix, { local: { ttl: '1h' } })
    await b.set('k', 'old', { localTtl: '1h' })
    await a.set('k', 'new')
    await waitFor(async () => (await b.get('k')) === 'new', { timeoutMs: 2500, what: 'the cap' })
  })

  it('a bus object of one’s own lifts the cap: its notices invalidate the other L1', async () => {
    const prefix = newPrefix()
    const hub = new MemoryBusHub()
    const a = cache(prefix, { bus: new MemoryBus({ hub, channel: prefix }) })
    const b = cache(prefix, { bus: new MemoryBus({ hub, channel: prefix }) })
    await a.set('k', 'old')
    expect(await b.get('k')).toBe('old')
    // A witness without a bus, whose L1 copy is capped, read after b's: once its copy is gone,
    // b's is older than untrustedLocalTtl.
    const witness = cache(prefix)
    expect(await witness.get('k')).toBe('old')
    await waitFor(
      async () => {
        const l1Hits = witness.getMetrics().l1Hits
        await witness.get('k')
        return witness.getMetrics().l1Hits === l1Hits
      },
      { what: "the witness's capped copy to expire" },
    )
    const hits = b.getMetrics().l1Hits
    expect(await b.get('k')).toBe('old') // still in L1 past untrustedLocalTtl: no cap
    expect(b.getMetrics().l1Hits).toBe(hits + 1)
    await a.set('k', 'new')
    await waitFor(async () => (await b.get('k')) === 'new', { timeoutMs: 200, what: 'the notice' })
  })

  it('strict mode: an L1 hit is checked against the write stamp, so no stale read at all', async () => {
    const prefix = newPrefix()
    const a = cache(prefix, { consistency: 'strict' })
    const b = cache(prefix, { consistency: 'strict' })
    await a.set('price', 1)
    expect(await b.get('price')).toBe(1)
    const before = server.commands.filter((c) => c === 'GETRANGE').length
    expect(await b.get('price')).toBe(1) // an L1 hit, confirmed by its stamp
    expect(server.commands.filter((c) => c === 'GETRANGE').length).toBe(before + 1)
    await a.set('price', 2)
    expect(await b.get('price')).toBe(2)
    await a.delete('price')
    expect(await b.get('price')).toBeUndefined()
  })

  it('a REST server that is down: degraded, L1 serves, then recovery replays what it missed', async () => {
    const prefix = newPrefix()
    const a = cache(prefix, { commandTimeout: '200ms', circuitBreaker: { openDuration: '200ms' } })
    await warm(a)
    const events: string[] = []
    a.on('degraded', () => events.push('degraded'))
    a.on('recovered', () => events.push('recovered'))
    await a.set('k', 'v1')
    await server.stop()
    await a.set('k', 'v2') // fails over REST: kept, to be replayed as a delete of k
    await waitFor(() => events.includes('degraded'), { what: 'degraded' })
    expect(await a.get('k')).toBe('v2') // L1
    // The breaker is open: the read is not sent (no request to wait for), it is a miss.
    expect(a.getMetrics().degraded).toBe(true)
    expect(await a.get('missing')).toBeUndefined()
    expect(await raw.get(`${prefix}k`)).not.toBeNull() // v1, still in Redis
    await server.start()
    await waitFor(() => events.includes('recovered'), { timeoutMs: 5000, what: 'recovered' })
    expect(await raw.exists(`${prefix}k`)).toBe(0) // the missed write replayed as a delete
    await a.set('k', 'v3')
    expect(await cache(prefix).get('k')).toBe('v3')
  })

  it('a slow REST server: each call gives up after commandTimeout, then degraded, then recovery', async () => {
    const prefix = newPrefix()
    const a = cache(prefix, {
      commandTimeout: '100ms',
      circuitBreaker: { failureThreshold: 2, openDuration: '200ms' },
    })
    await warm(a)
    const errors: { code?: string; message: string }[] = []
    a.on('error', ({ error }) => errors.push(error as { code?: string; message: string }))
    const events: string[] = []
    a.on('degraded', () => events.push('degraded'))
    a.on('recovered', () => events.push('recovered'))
    // Answers held far longer than the bound below: ending before one proves the timeout, with
    // room for a loaded machine (the timeout's timer runs late by up to the longest stall).
    server.delayMs = 5_000
    const stalls = measureStalls()
    const started = performance.now()
    expect(await a.get('x')).toBeUndefined()
    const elapsed = performance.now() - started
    await stalls.stop()
    expect(elapsed).toBeLessThan(100 + 1_500 + stalls.maxMs())
    expect(await a.get('y')).toBeUndefined()
    await waitFor(() => events.includes('degraded'), { what: 'degraded' })
    // Each failure is a timeout: the cache's own (ERR_L2_TIMEOUT), or, when a loaded event loop
    // runs the request's abort first, the driver's, which says so.
    expect(errors.length).toBeGreaterThan(0)
    for (const error of errors) {
      if (error.code !== ErrorCodes.L2_TIMEOUT)
        expect(error.message).toMatch(/no answer within|no answer from/)
    }
    server.delayMs = 0
    await waitFor(() => events.includes('recovered'), { timeoutMs: 5000, what: 'recovered' })
  })

  it('a wrong token: an error naming the token setting, and degraded', async () => {
    const a = new CacheManager({
      upstash: { url: server.url, token: 'wrong-token' },
      prefix: newPrefix(),
    })
    open.push(a)
    const errors: Error[] = []
    a.on('error', ({ error }) => errors.push(error))
    const degraded = deferred()
    a.on('degraded', () => degraded.resolve())
    await a.set('k', 1)
    await degraded.promise
    const message = errors.map((e) => e.message).join('\n')
    expect(message).toMatch(
      /refused the token \(check upstash\.token or UPSTASH_REDIS_REST_TOKEN\)/,
    )
    expect(message).not.toContain('wrong-token')
    expect(await a.get('k')).toBe(1) // L1 still serves
  })

  it('is configured from UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN', async () => {
    const prefix = newPrefix()
    const a = CacheManager.fromEnv({
      UPSTASH_REDIS_REST_URL: server.url,
      UPSTASH_REDIS_REST_TOKEN: server.token,
      CACHE_PREFIX: prefix,
    })
    open.push(a)
    await a.set('k', 'from env')
    expect(await raw.get(`${prefix}k`)).not.toBeNull()
  })

  it('refuses upstash with redis or l2, and a bad url or token', () => {
    const upstash = { url: server.url, token: server.token }
    expect(() => new CacheManager({ upstash, redis: 'redis://127.0.0.1:6379' })).toThrow(
      /upstash: cannot be given with redis/,
    )
    expect(() => new CacheManager({ upstash: { url: 'redis://x', token: 't' } })).toThrow(
      ValidationError,
    )
    expect(() => new CacheManager({ upstash: { url: server.url, token: ' ' } })).toThrow(
      /upstash\.token/,
    )
  })
})

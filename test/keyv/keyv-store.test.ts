import keyvTestSuite, { keyvIteratorTests } from '@keyv/test-suite'
import { createCache } from 'cache-manager'
import Keyv from 'keyv'
import * as vitest from 'vitest'
import { describe, expect, it } from 'vitest'
import { type CacheManager, ValidationError } from '../../src/index.js'
import { KeyvStratacache } from '../../src/keyv/index.js'
import { keysUnder, REDIS_URL, useCaches } from '../support/redis.js'
import { waitFor } from '../support/wait.js'

const { raw, base, newCache } = useCaches('keyv')

const redisCache = (name: string) => newCache({ redis: REDIS_URL, prefix: `${base}${name}:` })
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

// Keyv's own suite: API, values, namespaces. Every Keyv it builds gets a store of its own over
// one cache, as an application with several Keyv instances on one CacheManager would.
describe('Keyv test suite, Redis-backed cache', () => {
  const cache = redisCache('suite')
  keyvTestSuite(vitest, Keyv, () => new KeyvStratacache(cache))
  keyvIteratorTests(vitest, Keyv, () => new KeyvStratacache(cache))
})

describe('Keyv test suite, memory-only cache', () => {
  const cache = newCache()
  keyvTestSuite(vitest, Keyv, () => new KeyvStratacache(cache))
  keyvIteratorTests(vitest, Keyv, () => new KeyvStratacache(cache))
})

describe.each([
  ['Redis-backed', (name: string) => redisCache(name)],
  ['memory-only', (_name: string) => newCache()],
])('KeyvStratacache, %s cache', (_kind, makeCache) => {
  const cache = makeCache('own')

  it('stores raw { value, expires } objects when Keyv does not serialize', async () => {
    const keyv = new Keyv({
      store: new KeyvStratacache(cache),
      namespace: 'raw',
      serialize: undefined,
      deserialize: undefined,
    })
    const value = { when: new Date('2024-01-02T03:04:05Z'), tags: new Set(['a']), n: 1n }
    expect(await keyv.set('k', value)).toBe(true)
    expect(await keyv.get('k')).toEqual(value)
    expect(await keyv.getMany(['k', 'missing'])).toEqual([value, undefined])
    await keyv.set('short', 'v', 1)
    await sleep(20)
    expect(await keyv.get('short')).toBeUndefined()
  })

  it("passes Keyv's TTL to the cache, which evicts the entry itself", async () => {
    const keyv = new Keyv({ store: new KeyvStratacache(cache), namespace: 'ttl' })
    await keyv.set('k', 'v', 60)
    expect(await cache.has('keyv:ttl:k')).toBe(true)
    await sleep(120)
    expect(await cache.has('keyv:ttl:k')).toBe(false)
    await keyv.setMany([
      { key: 'a', value: 1, ttl: 60 },
      { key: 'b', value: 2 },
    ])
    await sleep(120)
    expect(await cache.has('keyv:ttl:a')).toBe(false)
    expect(await keyv.get('b')).toBe(2)
  })

  it('clear() removes its namespace only, or every Keyv entry without one, never the rest', async () => {
    await cache.set('app:1', 'mine')
    // `*` in a namespace is escaped: clearing `n*` leaves `nx` alone.
    const star = new Keyv({ store: new KeyvStratacache(cache), namespace: 'n*' })
    const other = new Keyv({ store: new KeyvStratacache(cache), namespace: 'nx' })
    const bare = new Keyv({ store: new KeyvStratacache(cache), namespace: undefined })
    await star.set('k', 1)
    await other.set('k', 2)
    await bare.set('k', 3)
    await star.clear()
    expect([await star.get('k'), await other.get('k'), await bare.get('k')]).toEqual([
      undefined,
      2,
      3,
    ])
    await bare.clear()
    expect([await other.get('k'), await bare.get('k')]).toEqual([undefined, undefined])
    expect(await cache.get('app:1')).toBe('mine')
  })

  it('keyPrefix "" stores keys as Keyv gives them; a clear() without namespace clears the cache', async () => {
    const own = makeCache('unprefixed')
    const store = new KeyvStratacache(own, { keyPrefix: '' })
    const keyv = new Keyv({ store, namespace: 'ns' })
    await keyv.set('k', 'v')
    expect(await own.get('ns:k')).toBeTypeOf('string')
    await own.set('app:1', 'mine')
    store.namespace = undefined
    await store.clear()
    expect([await own.get('ns:k'), await own.get('app:1')]).toEqual([undefined, undefined])
  })

  it('prefixes keys Keyv left bare (useKeyPrefix: false) with the namespace itself', async () => {
    const keyv = new Keyv({
      store: new KeyvStratacache(cache),
      namespace: 'bare',
      useKeyPrefix: false,
    })
    await keyv.set('k', 'v')
    expect(await cache.has('keyv:bare:k')).toBe(true)
    await keyv.clear()
    expect(await keyv.get('k')).toBeUndefined()
  })

  it('iterator() yields its namespace only, keys as Keyv gave them, values read fresh', async () => {
    const keyv = new Keyv({ store: new KeyvStratacache(cache), namespace: 'it' })
    const star = new Keyv({ store: new KeyvStratacache(cache), namespace: 'i*' })
    const plain = new Keyv({
      store: new KeyvStratacache(cache),
      namespace: 'itraw',
      serialize: undefined,
      deserialize: undefined,
    })
    await keyv.setMany([
      { key: 'a', value: { n: 1 } },
      { key: 'b:c', value: [2] },
      { key: 'gone', value: 3 },
      { key: 'short', value: 4, ttl: 40 },
    ])
    await star.set('a', 'other namespace')
    await plain.set('when', new Date(0))
    await cache.set('app:1', 'not Keyv')
    await keyv.delete('gone')
    await sleep(100)
    const entries = async (k: Keyv) => {
      const out: [string, unknown][] = []
      for await (const [key, value] of k.iterator!(undefined)) out.push([key, value])
      return out.sort(([x], [y]) => (x < y ? -1 : 1))
    }
    expect(await entries(keyv)).toEqual([
      ['a', { n: 1 }],
      ['b:c', [2]],
    ])
    // `i*` is a namespace of its own, not a glob over `it`'s keys.
    expect(await entries(star)).toEqual([['a', 'other namespace']])
    expect(await entries(plain)).toEqual([['when', new Date(0)]])
    // The store hands Keyv its keys with the namespace, without keyPrefix; Keyv removes the rest.
    const store = new KeyvStratacache(cache)
    const listed: unknown[][] = []
    for await (const entry of store.iterator('it')) listed.push(entry)
    expect(listed.map(([key]) => key).sort()).toEqual(['it:a', 'it:b:c'])
    expect(() => store.iterator(1 as unknown as string)).toThrow(ValidationError)
  })

  it('delete and deleteMany say whether an entry was there; hasMany answers per key', async () => {
    const keyv = new Keyv({ store: new KeyvStratacache(cache), namespace: 'del' })
    await keyv.set('a', 1)
    expect(await keyv.hasMany(['a', 'b'])).toEqual([true, false])
    expect(await keyv.delete(['a', 'b'])).toBe(true)
    expect(await keyv.delete(['a', 'b'])).toBe(false)
    expect(await keyv.delete([])).toBe(false)
  })
})

it('shares entries across instances through Redis', async () => {
  const writer = new Keyv({ store: new KeyvStratacache(redisCache('shared')), namespace: 's' })
  const reader = new Keyv({ store: new KeyvStratacache(redisCache('shared')), namespace: 's' })
  await writer.set('k', { v: 1 })
  expect(await reader.get('k')).toEqual({ v: 1 })
  expect(await keysUnder(raw, `${base}shared:`)).toEqual([`${base}shared:keyv:s:k`])
  await reader.get('k') // now in the reader's L1: the writer's clear must reach it too
  await writer.clear()
  // Other instances hear of an invalidation through the bus, a pub/sub round trip later.
  await waitFor(async () => (await reader.get('k')) === undefined, {
    what: "the reader's L1 dropped",
  })
})

it('validates its arguments, naming the field', async () => {
  const cache = newCache()
  const store = new KeyvStratacache(cache)
  const field = (fn: () => unknown) => {
    try {
      fn()
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError)
      return (error as ValidationError).field
    }
    return 'no error'
  }
  const rejected = async (promise: Promise<unknown>) => {
    const error = await promise.then(
      () => undefined,
      (reason: unknown) => reason,
    )
    expect(error).toBeInstanceOf(ValidationError)
    return [(error as ValidationError).field, (error as ValidationError).code]
  }
  expect(field(() => new KeyvStratacache({} as CacheManager))).toBe('cache')
  expect(field(() => new KeyvStratacache(cache, { keyPrefix: 1 as unknown as string }))).toBe(
    'keyPrefix',
  )
  expect(field(() => new KeyvStratacache(cache, { closeOnDisconect: true } as never))).toBe(
    'closeOnDisconect',
  )
  expect(field(() => new KeyvStratacache(cache, null as never))).toBe('options')
  expect(
    field(() => {
      store.namespace = 5 as unknown as string
    }),
  ).toBe('namespace')
  expect(await rejected(store.get(1 as unknown as string))).toEqual(['key', 'ERR_INVALID_KEY'])
  expect(await rejected(store.set('k', 1, -1))).toEqual(['ttl', 'ERR_INVALID_TTL'])
  expect(await rejected(store.set('k', 1, Number.NaN))).toEqual(['ttl', 'ERR_INVALID_TTL'])
  expect(await rejected(store.getMany('k' as never))).toEqual(['keys', 'ERR_INVALID_KEY'])
  expect(await rejected(store.deleteMany(['k', 2 as never]))).toEqual([
    'keys[1]',
    'ERR_INVALID_KEY',
  ])
  expect(await rejected(store.setMany([{ key: 'k', value: 1, ttl: '1s' as never }]))).toEqual([
    'entries[0].ttl',
    'ERR_INVALID_TTL',
  ])
  expect(await rejected(store.setMany([null as never]))).toEqual([
    'entries[0]',
    'ERR_INVALID_OPTION',
  ])
})

it("reports a failed get on Keyv's 'error' event instead of a silent miss", async () => {
  const cache = newCache()
  const keyv = new Keyv({ store: new KeyvStratacache(cache) })
  const errors: unknown[] = []
  keyv.on('error', (error) => errors.push(error))
  await cache.close()
  expect(await keyv.get('k')).toBeUndefined()
  expect(errors).toHaveLength(1)
  expect((errors[0] as { code?: string }).code).toBe('ERR_CLOSED')
})

it('disconnect() closes the cache only with closeOnDisconnect', async () => {
  const kept = newCache()
  await new Keyv({ store: new KeyvStratacache(kept) }).disconnect()
  await expect(kept.set('k', 1)).resolves.toBeUndefined()
  const owned = newCache()
  await new Keyv({ store: new KeyvStratacache(owned, { closeOnDisconnect: true }) }).disconnect()
  await expect(owned.set('k', 1)).rejects.toMatchObject({ code: 'ERR_CLOSED' })
})

it("runs under cache-manager 7's createCache: get, set, del, ttl", async () => {
  const cache = redisCache('cache-manager')
  const manager = createCache({
    stores: [new Keyv({ store: new KeyvStratacache(cache), namespace: 'cm' })],
    ttl: 60_000,
  })
  const before = Date.now()
  expect(await manager.set('user:1', { name: 'Ada' })).toEqual({ name: 'Ada' })
  expect(await manager.get('user:1')).toEqual({ name: 'Ada' })
  const expires = await manager.ttl('user:1')
  expect(expires).toBeGreaterThanOrEqual(before + 60_000)
  expect(expires).toBeLessThanOrEqual(Date.now() + 60_000)
  await manager.set('short', 'v', 50)
  expect(await manager.mget(['user:1', 'short', 'none'])).toEqual([{ name: 'Ada' }, 'v', undefined])
  await sleep(100)
  expect(await manager.get('short')).toBeUndefined()
  expect(await manager.del('user:1')).toBe(true)
  expect(await manager.get('user:1')).toBeUndefined()
  expect(await cache.has('keyv:cm:user:1')).toBe(false)
  await manager.set('a', 1)
  await manager.clear()
  expect(await manager.get('a')).toBeUndefined()
})

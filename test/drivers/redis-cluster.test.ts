import { describe, expect, it } from 'vitest'
import { clusterLayout } from '../../src/drivers/redis-key-layout.js'
import type { CacheManager, CacheOptions } from '../../src/index.js'
import { uniquePrefix } from '../support/redis.js'
import { useCluster } from '../support/redis-cluster-server.js'
import { deferred, waitFor } from '../support/wait.js'

const fixture = useCluster()
const cache = (options: CacheOptions) => fixture.cache(options)

function pair(options: CacheOptions = {}): { a: CacheManager; b: CacheManager; prefix: string } {
  const prefix = uniquePrefix('cl')
  return { a: cache({ prefix, ...options }), b: cache({ prefix, ...options }), prefix }
}

/** How many masters hold entries under `prefix` (the driver's own keys left out), by SCAN. */
async function mastersHolding(prefix: string): Promise<number> {
  let holding = 0
  for (const node of fixture.raw.nodes('master')) {
    const [, names] = await node.scan('0', 'MATCH', `${prefix}*`, 'COUNT', 10_000)
    if (names.some((name) => !name.startsWith(`${prefix}__sc:`))) holding++
  }
  return holding
}

const keys = Array.from({ length: 60 }, (_, i) => `k:${i}`)

describe('on a Redis Cluster', () => {
  it('says at start what it cannot keep: the clock margin, and a strict wait shorter than a failover', () => {
    const warningsOf = (options: CacheOptions) => {
      const said: string[] = []
      cache({ prefix: uniquePrefix('cl'), ...options, logger: { warn: (_f, m) => said.push(m) } })
      return said
    }
    const clock = expect.stringMatching(/clocks are within clockSkew \(100 ms\)/)
    expect(warningsOf({ consistency: 'strict' })).toEqual([
      expect.stringMatching(/Redis Cluster: strict writes wait at most 1000 ms/),
      clock,
    ])
    expect(warningsOf({ consistency: 'strict', commandTimeout: '1s' })).toEqual([clock])
  })

  it('set, get, delete, batches and tags, with entries on every master', async () => {
    // B reads Redis only (no L1): what it reads is what Redis holds.
    const { a, b, prefix } = pair({ local: false })
    await a.setBatch(
      keys.map((key, i) => ({ key, value: i })),
      'all-k',
    )
    expect(await b.getBatch(keys)).toEqual(keys.map((_, i) => i))
    expect(await mastersHolding(prefix)).toBe(3)
    await a.set('one', { x: 1 }, { tags: ['t1', 't2'] })
    expect(await b.get('one')).toEqual({ x: 1 })
    await a.delete('one')
    expect(await b.get('one')).toBeUndefined()
    await a.set('two', 2, { tags: ['t1'] })
    await a.invalidateByTag(['all-k', 't1'])
    expect(await b.getBatch([...keys, 'two'])).toEqual([...keys, 'two'].map(() => undefined))
    expect(await mastersHolding(prefix)).toBe(0)
  })

  it('invalidateByPattern and clear reach every master', async () => {
    const { a, b, prefix } = pair()
    await a.setBatch([
      ...keys.map((key) => ({ key: `p:${key}`, value: 1 })),
      ...keys.map((key) => ({ key: `q:${key}`, value: 2 })),
    ])
    expect(await a.invalidateByPattern('p:*')).toBeGreaterThanOrEqual(keys.length)
    const fresh = cache({ prefix, bus: false, local: false })
    expect(await fresh.getBatch(keys.map((key) => `p:${key}`))).toEqual(keys.map(() => undefined))
    expect(await fresh.getBatch(keys.map((key) => `q:${key}`))).toEqual(keys.map(() => 2))
    expect(await mastersHolding(prefix)).toBe(3)
    await b.clear()
    expect(await mastersHolding(prefix)).toBe(0)
    expect(await fresh.get(`q:${keys[0]}`)).toBeUndefined()
  })

  const writes = {
    set: (c: CacheManager) => c.set('user:1', 'new'),
    delete: (c: CacheManager) => c.delete('user:1'),
    invalidateByTag: (c: CacheManager) => c.invalidateByTag('users'),
    invalidateByPattern: (c: CacheManager) => c.invalidateByPattern('user:*'),
    clear: (c: CacheManager) => c.clear(),
    'nothing (control)': async () => {},
  } as const

  it.each(Object.keys(writes) as (keyof typeof writes)[])(
    'a fill raced by %s on another instance stores nothing old',
    async (write) => {
      const prefix = uniquePrefix('cl-fence')
      // A has no bus: only the versions in Redis can fence its fill.
      const a = cache({ prefix, bus: false })
      const b = cache({ prefix, bus: false })
      const reader = cache({ prefix, bus: false, local: false })
      const loading = deferred()
      const gate = deferred()
      const fill = a.getOrCompute(
        'user:1',
        async () => {
          loading.resolve()
          await gate.promise
          return 'old'
        },
        { tags: ['users'] },
      )
      await loading.promise
      await writes[write](b)
      gate.resolve()
      expect(await fill).toBe('old')
      const control = write === 'nothing (control)'
      if (control) await waitFor(async () => (await reader.get('user:1')) === 'old')
      else await waitFor(() => a.getMetrics().fencedFills === 1, { what: 'the fill to be fenced' })
      expect(a.getMetrics().fencedFills).toBe(control ? 0 : 1)
      const expected = control ? 'old' : write === 'set' ? 'new' : undefined
      expect(await reader.get('user:1')).toBe(expected)
      expect(await a.get('user:1')).toBe(expected)
    },
  )

  it('one loader for a cold key across two instances (leases)', async () => {
    const { a, b, prefix } = pair()
    const gate = deferred()
    let calls = 0
    const loader = async () => {
      calls++
      await gate.promise
      return 'loaded'
    }
    const all = [a, b].flatMap((c) =>
      Array.from({ length: 20 }, () => c.getOrCompute('cold', loader)),
    )
    // Both instances are in: one holds the lease, the other waits for it (it said so in Redis).
    const waiters = clusterLayout(prefix).waiters('cold')
    await waitFor(async () => calls === 1 && (await fixture.raw.exists(waiters)) === 1, {
      what: 'the second instance to wait for the lease holder',
    })
    gate.resolve()
    expect(await Promise.all(all)).toEqual(all.map(() => 'loaded'))
    expect(calls).toBe(1)
    expect(a.getMetrics().loaderCalls + b.getMetrics().loaderCalls).toBe(1)
  })

  it('strict mode never serves a replaced or deleted value, without a bus; eventual does (control)', async () => {
    const prefix = uniquePrefix('cl-strict')
    const a = cache({ prefix, bus: false })
    const strict = cache({ prefix, bus: false, consistency: 'strict' })
    const eventual = cache({ prefix, bus: false })
    await a.set('k', 'v1')
    expect(await strict.get('k')).toBe('v1')
    expect(await eventual.get('k')).toBe('v1')
    for (let version = 2; version <= 10; version++) {
      await a.set('k', `v${version}`)
      expect(await strict.get('k')).toBe(`v${version}`)
      expect(await strict.getOrCompute('k', () => 'loaded')).toBe(`v${version}`)
    }
    expect(await eventual.get('k')).toBe('v1')
    await a.delete('k')
    expect(await strict.get('k')).toBeUndefined()
    // An unchanged entry is still served from L1, after its stamp check.
    await a.set('stable', 's')
    await strict.get('stable')
    const l1Hits = strict.getMetrics().l1Hits
    expect(await strict.get('stable')).toBe('s')
    expect(strict.getMetrics().l1Hits).toBe(l1Hits + 1)
  })

  it('the bus: another instance drops its L1 copy once a write is published', async () => {
    const { a, b } = pair()
    await waitFor(() => a.getMetrics().busTrusted && b.getMetrics().busTrusted, {
      what: 'both buses to be trusted',
    })
    await a.set('k', 'old')
    await a.set('tagged', 'x', { tags: ['t'] })
    expect(await b.get('k')).toBe('old')
    expect(await b.get('tagged')).toBe('x')
    await a.set('k', 'new')
    await waitFor(async () => (await b.get('k')) === 'new', { what: 'B to read the new value' })
    await a.invalidateByTag('t')
    await waitFor(async () => (await b.get('tagged')) === undefined, { what: 'B to drop tagged' })
    expect(b.getMetrics().busReceived).toBeGreaterThanOrEqual(2)
  })
})

it('clockSkew: a fill of a tag invalidated less than clockSkew before it began is refused; the default stores it (control)', async () => {
  const prefix = uniquePrefix('cl-skew')
  const writer = cache({ prefix, bus: false })
  const wide = cache({ prefix, bus: false, clockSkew: '30s' })
  const narrow = cache({ prefix, bus: false })
  const reader = cache({ prefix, bus: false, local: false })
  await writer.invalidateByTag('t')
  // Past the default margin (100 ms), well within 30 s: Redis's clock is this machine's.
  const invalidatedAt = Date.now()
  await waitFor(() => Date.now() >= invalidatedAt + 300, { what: 'the default margin to pass' })
  // (The store goes on after getOrCompute answers: its outcome is waited for.)
  expect(await wide.getOrCompute('a', () => 'A', { tags: ['t'] })).toBe('A')
  await waitFor(() => wide.getMetrics().fencedFills === 1, { what: 'the fill to be refused' })
  expect(await reader.get('a')).toBeUndefined()
  expect(await narrow.getOrCompute('b', () => 'B', { tags: ['t'] })).toBe('B')
  await waitFor(async () => (await reader.get('b')) === 'B', { what: 'the fill to be stored' })
  expect(narrow.getMetrics().fencedFills).toBe(0)
})

import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { CacheManager, type CacheOptions } from '../../src/index.js'
import {
  CacheInvalidation,
  type InvalidationErrorEvent,
} from '../../src/invalidation/cache-invalidation.js'
import type { CacheWarmingConfig } from '../../src/invalidation/warming-config.js'
import { REDIS_URL, uniquePrefix } from '../support/redis.js'
import { deferred, waitFor } from '../support/wait.js'

const open: { close(): Promise<void> }[] = []
afterEach(async () => {
  for (const item of open.splice(0).reverse()) await item.close()
})

function make(options: CacheOptions = {}): { cache: CacheManager; inv: CacheInvalidation } {
  const cache = new CacheManager(options)
  const inv = new CacheInvalidation(cache)
  // Cleanup runs in reverse order: stop warming, clear (leave nothing in Redis), close.
  open.push(cache, { close: () => cache.clear() }, inv)
  return { cache, inv }
}

/** Lets pending timers and I/O callbacks run once: used only to give a wrong behaviour a chance. */
const turn = () => new Promise((resolve) => setImmediate(resolve))

describe.each([
  ['memory only', (): CacheOptions => ({ prefix: uniquePrefix('warm-mem') })],
  ['L1 + Redis', (): CacheOptions => ({ redis: REDIS_URL, prefix: uniquePrefix('warm') })],
])('cache warming (%s)', (mode, makeOptions) => {
  it('runs the documented example: items warm at start, warmCacheEntry stores now', async () => {
    const options = makeOptions()
    const { cache, inv } = make(options)
    const view = mode === 'memory only' ? cache : new CacheManager({ ...options, local: false })
    if (view !== cache) open.push(view)
    const featured = [{ id: 1, featured: true }]
    const categories = [{ id: 7, isActive: true }]
    // Setup automatic cache warming
    inv.setupCacheWarming({
      enabled: true,
      interval: 300000, // 5 minutes
      items: [
        { key: 'featured-products', compute: async () => featured, ttl: 3600000 },
        { key: 'categories', compute: async () => categories, ttl: 7200000 },
      ],
    })
    await waitFor(() => inv.getWarmingStats().runs === 1, { what: 'the first round' })
    expect(await view.get('featured-products')).toEqual(featured)
    expect(await view.get('categories')).toEqual(categories)
    expect(inv.getWarmingStats()).toMatchObject({
      active: true,
      runs: 1,
      items: {
        'featured-products': { successes: 1, failures: 0 },
        categories: { successes: 1, failures: 0 },
      },
      lastRun: { successes: 2, failures: 0, skipped: 0 },
    })
    // Or manually warm specific caches: it refreshes a value that is already cached.
    await cache.set('featured-products', 'old')
    const fresh = [{ id: 2, featured: true }]
    expect(await inv.warmCacheEntry('featured-products', async () => fresh, 3600000)).toEqual(fresh)
    expect(await view.get('featured-products')).toEqual(fresh)
  })

  it('stores with the TTL and tags given', async () => {
    const { cache, inv } = make(makeOptions())
    await inv.warmCacheEntry('short', () => 1, 30)
    await inv.warmCacheEntry('tagged', () => 2, { ttl: '1h', tags: ['t'] })
    await waitFor(async () => (await cache.get('short')) === undefined, { what: 'expiry' })
    expect(await cache.get('tagged')).toBe(2)
    await cache.invalidateByTag('t')
    expect(await cache.get('tagged')).toBeUndefined()
  })
})

describe('cache warming schedule', () => {
  it('runs at start and then on every interval, refreshing the value', async () => {
    const { cache, inv } = make()
    let calls = 0
    inv.setupCacheWarming({
      enabled: true,
      interval: 50,
      items: [{ key: 'n', compute: () => ++calls }],
    })
    await waitFor(() => inv.getWarmingStats().runs >= 3, { what: 'three rounds' })
    expect(calls).toBeGreaterThanOrEqual(3)
    expect(await cache.get('n')).toBeGreaterThanOrEqual(3)
    expect(inv.getWarmingStats().items.n!.successes).toBeGreaterThanOrEqual(3)
  })

  it('with runOnStart: false waits one interval first', async () => {
    const { inv } = make()
    const started = Date.now()
    let firstAt = 0
    inv.setupCacheWarming({
      enabled: true,
      interval: 60,
      jitter: 0,
      runOnStart: false,
      items: [{ key: 'k', compute: () => (firstAt ||= Date.now()) }],
    })
    await waitFor(() => firstAt > 0, { what: 'the first computation' })
    expect(firstAt - started).toBeGreaterThanOrEqual(55)
  })

  it('spreads the delay by jitter', () => {
    const { inv } = make()
    const delays: number[] = []
    for (let i = 0; i < 20; i++) {
      const before = Date.now()
      inv.setupCacheWarming({
        enabled: true,
        interval: 1000,
        jitter: 0.5,
        runOnStart: false,
        items: [{ key: 'k', compute: () => 1 }],
      })
      delays.push(inv.getWarmingStats().nextRunAt! - before)
    }
    for (const delay of delays) {
      expect(delay).toBeGreaterThanOrEqual(500)
      expect(delay).toBeLessThanOrEqual(1501)
    }
    expect(new Set(delays.map((d) => Math.round(d / 50))).size).toBeGreaterThan(1)
    const before = Date.now()
    inv.setupCacheWarming({
      enabled: true,
      interval: 1000,
      jitter: 0,
      runOnStart: false,
      items: [],
    })
    const after = Date.now()
    // One interval from when setupCacheWarming ran, without jitter: between the clock read before
    // and after the call, however long the call took.
    const next = inv.getWarmingStats().nextRunAt!
    expect(next).toBeGreaterThanOrEqual(before + 1000)
    expect(next).toBeLessThanOrEqual(after + 1000)
  })

  it('runs at most `concurrency` computations at once', async () => {
    const { cache, inv } = make()
    const gate = deferred()
    let active = 0
    let maxActive = 0
    let started = 0
    const items = Array.from({ length: 10 }, (_, i) => ({
      key: `item:${i}`,
      compute: async () => {
        started++
        active++
        maxActive = Math.max(maxActive, active)
        await gate.promise
        active--
        return i
      },
    }))
    inv.setupCacheWarming({ enabled: true, interval: '1h', concurrency: 3, items })
    await waitFor(() => started === 3, { what: 'three computations' })
    for (let i = 0; i < 5; i++) await turn()
    expect(started).toBe(3)
    gate.resolve()
    await waitFor(() => inv.getWarmingStats().runs === 1, { what: 'the round' })
    expect(maxActive).toBe(3)
    expect(started).toBe(10)
    expect(await cache.getBatch(items.map((item) => item.key))).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
    ])
  })

  it('counts a failing item and reports it, while the others still warm', async () => {
    const { cache, inv } = make()
    const errors: InvalidationErrorEvent[] = []
    inv.on('error', (event) => errors.push(event))
    let good = 0
    inv.setupCacheWarming({
      enabled: true,
      interval: 30,
      items: [
        { key: 'a', compute: () => ++good },
        {
          key: 'b',
          compute: () => {
            throw new Error('database down')
          },
        },
        { key: 'c', compute: async () => Promise.reject(new Error('also down')) },
      ],
    })
    await waitFor(() => inv.getWarmingStats().runs >= 2, { what: 'two rounds' })
    const stats = inv.getWarmingStats()
    expect(stats.items.a!.successes).toBeGreaterThanOrEqual(2)
    expect(stats.items.b).toMatchObject({ successes: 0, lastError: { message: 'database down' } })
    expect(stats.items.b!.failures).toBeGreaterThanOrEqual(2)
    expect(stats.items.c!.failures).toBeGreaterThanOrEqual(2)
    expect(stats.lastRun).toMatchObject({ successes: 1, failures: 2 })
    expect(stats.lastError?.key).toMatch(/^[bc]$/)
    expect(await cache.get('a')).toBeGreaterThanOrEqual(2)
    expect(await cache.has('b')).toBe(false)
    expect(errors.filter((e) => e.key === 'b').length).toBeGreaterThanOrEqual(2)
    expect(errors[0]).toMatchObject({ operation: 'warming' })
  })

  it('with no error listener, failures are only counted (no crash)', async () => {
    const { inv } = make()
    inv.setupCacheWarming({
      enabled: true,
      interval: 20,
      items: [{ key: 'b', compute: () => Promise.reject(new Error('down')) }],
    })
    await waitFor(() => inv.getWarmingStats().runs >= 3, { what: 'three rounds' })
    expect(inv.getWarmingStats().items.b!.failures).toBeGreaterThanOrEqual(3)
  })

  it('times out a hung computation, drops its late value, and keeps the schedule going', async () => {
    const { cache, inv } = make()
    const late = deferred<string>()
    let calls = 0
    inv.setupCacheWarming({
      enabled: true,
      interval: 20,
      timeout: 20,
      items: [{ key: 'hung', compute: () => (++calls === 1 ? late.promise : 'on time') }],
    })
    await waitFor(() => inv.getWarmingStats().runs >= 2, { what: 'two rounds' })
    expect(inv.getWarmingStats().items.hung).toMatchObject({
      failures: 1,
      lastError: { code: 'ERR_LOADER_TIMEOUT' },
    })
    expect(await cache.get('hung')).toBe('on time')
    late.resolve('late')
    await turn()
    expect(await cache.get('hung')).toBe('on time')
  })

  it('stop really stops: no further rounds, and a round in progress stores nothing', async () => {
    const { cache, inv } = make()
    let calls = 0
    const hold = deferred()
    let holding = false
    inv.setupCacheWarming({
      enabled: true,
      interval: 20,
      items: [
        {
          key: 'k',
          compute: async () => {
            calls++
            if (calls === 3) {
              holding = true
              await hold.promise
            }
            return calls
          },
        },
      ],
    })
    await waitFor(() => holding, { what: 'the third round to hold' })
    inv.stopCacheWarming()
    hold.resolve()
    expect(inv.getWarmingStats()).toMatchObject({ active: false, runs: 2 })
    // A marker schedule on a second instance: once it has run four 20 ms rounds, the stopped one
    // would have run several more had it not stopped.
    const marker = make().inv
    marker.setupCacheWarming({
      enabled: true,
      interval: 20,
      items: [{ key: 'm', compute: () => 1 }],
    })
    await waitFor(() => marker.getWarmingStats().runs >= 4, { what: 'the marker rounds' })
    expect(calls).toBe(3)
    expect(await cache.get('k')).toBe(2)
    expect(inv.getWarmingStats().runs).toBe(2)
  })

  it('calling setupCacheWarming again replaces the schedule; an invalid call keeps it', async () => {
    const { cache, inv } = make()
    let oldCalls = 0
    let newCalls = 0
    inv.setupCacheWarming({
      enabled: true,
      interval: 20,
      items: [{ key: 'old', compute: () => ++oldCalls }],
    })
    await waitFor(() => oldCalls >= 1)
    expect(() =>
      inv.setupCacheWarming({ enabled: true, interval: -1, items: [] } as CacheWarmingConfig),
    ).toThrow(expect.objectContaining({ field: 'config.interval' }))
    const before = oldCalls
    await waitFor(() => oldCalls >= before + 2, { what: 'the old schedule to keep running' })
    inv.setupCacheWarming({
      enabled: true,
      interval: 20,
      items: [{ key: 'new', compute: () => ++newCalls }],
    })
    const frozen = oldCalls
    await waitFor(() => newCalls >= 4, { what: 'four new rounds' })
    expect(oldCalls).toBe(frozen)
    expect(Object.keys(inv.getWarmingStats().items)).toEqual(['new'])
    expect(await cache.get('new')).toBeGreaterThanOrEqual(4)
    // enabled: false stops without starting anything.
    inv.setupCacheWarming({
      enabled: false,
      interval: 20,
      items: [{ key: 'new', compute: () => ++newCalls }],
    })
    const stoppedAt = newCalls
    const marker = make().inv
    marker.setupCacheWarming({
      enabled: true,
      interval: 20,
      items: [{ key: 'm', compute: () => 1 }],
    })
    await waitFor(() => marker.getWarmingStats().runs >= 4, { what: 'the marker rounds' })
    expect(newCalls).toBe(stoppedAt)
    expect(inv.getWarmingStats().active).toBe(false)
  })

  it('does not store a value computed across an invalidation of its key: it recomputes', async () => {
    const { cache, inv } = make()
    const first = deferred<string>()
    let calls = 0
    const warming = inv.warmCacheEntry('k', () => (++calls === 1 ? first.promise : 'after write'))
    await waitFor(() => calls === 1)
    await cache.delete('k') // the write's invalidation, while the first computation still runs
    first.resolve('before write')
    expect(await warming).toBe('after write')
    expect(calls).toBe(2)
    expect(await cache.get('k')).toBe('after write')
  })

  it('notices tag, pattern and clear invalidations as well', async () => {
    const { cache, inv } = make()
    for (const invalidate of [
      () => cache.invalidateByTag('t'),
      () => cache.invalidateByPattern('k*'),
      () => cache.clear(),
    ]) {
      const first = deferred<string>()
      let calls = 0
      const warming = inv.warmCacheEntry('k', () => (++calls === 1 ? first.promise : 'new'), {
        tags: ['t'],
      })
      await waitFor(() => calls === 1)
      await invalidate()
      first.resolve('old')
      await warming
      expect(calls).toBe(2)
      expect(await cache.get('k')).toBe('new')
    }
  })

  it('does not overwrite a value stored while it computed', async () => {
    const { cache, inv } = make()
    const computing = deferred<string>()
    let calls = 0
    const warming = inv.warmCacheEntry('k', () => {
      calls++
      return computing.promise
    })
    await waitFor(() => calls === 1)
    await cache.set('k', 'written by the application')
    computing.resolve('computed earlier')
    expect(await warming).toBe('computed earlier')
    expect(await cache.get('k')).toBe('written by the application')
  })

  it('warmCacheEntry rejects when the computation fails, and validates its arguments', async () => {
    const { inv } = make()
    await expect(
      inv.warmCacheEntry('k', () => {
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    await expect(
      inv.warmCacheEntry('k', () => new Promise(() => {}), { timeout: 10 }),
    ).rejects.toMatchObject({ code: 'ERR_LOADER_TIMEOUT' })
    const bad: [() => Promise<unknown>, string, string][] = [
      [() => inv.warmCacheEntry('', () => 1), 'ERR_INVALID_KEY', 'key'],
      [() => inv.warmCacheEntry('k', 5 as never), 'ERR_INVALID_OPTION', 'compute'],
      [() => inv.warmCacheEntry('k', () => 1, -5), 'ERR_INVALID_TTL', 'ttl'],
      [() => inv.warmCacheEntry('k', () => 1, 0), 'ERR_INVALID_TTL', 'ttl'],
      [() => inv.warmCacheEntry('k', () => 1, { ttl: 'soon' }), 'ERR_INVALID_TTL', 'ttl'],
      [() => inv.warmCacheEntry('k', () => 1, { tags: [''] }), 'ERR_INVALID_OPTION', 'tags[0]'],
      [() => inv.warmCacheEntry('k', () => 1, { timeout: 'x' }), 'ERR_INVALID_TTL', 'timeout'],
    ]
    for (const [act, code, field] of bad) {
      await expect(act()).rejects.toMatchObject({ code, field })
    }
  })

  it('close() stops warming', async () => {
    const cache = new CacheManager()
    open.push(cache)
    const inv = new CacheInvalidation(cache)
    let calls = 0
    inv.setupCacheWarming({
      enabled: true,
      interval: 20,
      items: [{ key: 'k', compute: () => ++calls }],
    })
    await waitFor(() => calls >= 2)
    await inv.close()
    const frozen = calls
    const marker = make().inv
    marker.setupCacheWarming({
      enabled: true,
      interval: 20,
      items: [{ key: 'm', compute: () => 1 }],
    })
    await waitFor(() => marker.getWarmingStats().runs >= 4, { what: 'the marker rounds' })
    expect(calls).toBe(frozen)
    expect(() => inv.setupCacheWarming({ enabled: true, interval: 20, items: [] })).toThrow(
      expect.objectContaining({ code: 'ERR_CLOSED' }),
    )
  })
})

describe('cache warming bad input', () => {
  const cache = new CacheManager()
  const inv = new CacheInvalidation(cache)
  afterEach(() => inv.stopCacheWarming())
  afterAll(async () => {
    await inv.close()
    await cache.close()
  })
  const compute = () => 1
  const base = { enabled: true, interval: 1000, items: [{ key: 'k', compute }] }
  const cases: [string, unknown, string, string][] = [
    ['config null', null, 'ERR_INVALID_OPTION', 'config'],
    ['unknown option', { ...base, intervall: 5 }, 'ERR_INVALID_OPTION', 'config.intervall'],
    ['enabled not boolean', { ...base, enabled: 'yes' }, 'ERR_INVALID_OPTION', 'config.enabled'],
    ['interval missing', { enabled: true, items: [] }, 'ERR_INVALID_TTL', 'config.interval'],
    ['interval negative', { ...base, interval: -1 }, 'ERR_INVALID_TTL', 'config.interval'],
    ['interval zero', { ...base, interval: 0 }, 'ERR_INVALID_TTL', 'config.interval'],
    ['interval NaN', { ...base, interval: Number.NaN }, 'ERR_INVALID_TTL', 'config.interval'],
    [
      'interval unparseable',
      { ...base, interval: '5 minutes' },
      'ERR_INVALID_TTL',
      'config.interval',
    ],
    ['items not an array', { ...base, items: {} }, 'ERR_INVALID_OPTION', 'config.items'],
    [
      'item null',
      { ...base, items: [base.items[0], null] },
      'ERR_INVALID_OPTION',
      'config.items[1]',
    ],
    [
      'item key empty',
      { ...base, items: [{ key: '', compute }] },
      'ERR_INVALID_KEY',
      'config.items[0].key',
    ],
    [
      'item key duplicate',
      {
        ...base,
        items: [
          { key: 'k', compute },
          { key: 'k', compute },
        ],
      },
      'ERR_INVALID_OPTION',
      'config.items[1].key',
    ],
    [
      'item compute missing',
      { ...base, items: [{ key: 'k' }] },
      'ERR_INVALID_OPTION',
      'config.items[0].compute',
    ],
    [
      'item ttl negative',
      { ...base, items: [{ key: 'k', compute, ttl: -1 }] },
      'ERR_INVALID_TTL',
      'config.items[0].ttl',
    ],
    [
      'item tags bad',
      { ...base, items: [{ key: 'k', compute, tags: [5] }] },
      'ERR_INVALID_OPTION',
      'config.items[0].tags[0]',
    ],
    [
      'item unknown field',
      { ...base, items: [{ key: 'k', compute, tll: 5 }] },
      'ERR_INVALID_OPTION',
      'config.items[0].tll',
    ],
    ['jitter above 1', { ...base, jitter: 1.5 }, 'ERR_INVALID_OPTION', 'config.jitter'],
    ['jitter negative', { ...base, jitter: -0.1 }, 'ERR_INVALID_OPTION', 'config.jitter'],
    ['jitter NaN', { ...base, jitter: Number.NaN }, 'ERR_INVALID_OPTION', 'config.jitter'],
    ['concurrency 0', { ...base, concurrency: 0 }, 'ERR_INVALID_OPTION', 'config.concurrency'],
    ['concurrency 1.5', { ...base, concurrency: 1.5 }, 'ERR_INVALID_OPTION', 'config.concurrency'],
    [
      'runOnStart not boolean',
      { ...base, runOnStart: 1 },
      'ERR_INVALID_OPTION',
      'config.runOnStart',
    ],
    ['timeout zero', { ...base, timeout: 0 }, 'ERR_INVALID_TTL', 'config.timeout'],
  ]
  it.each(cases)('%s', (_name, config, code, field) => {
    expect(() => inv.setupCacheWarming(config as CacheWarmingConfig)).toThrow(
      expect.objectContaining({ code, field }),
    )
    expect(inv.getWarmingStats().active).toBe(false)
  })
})

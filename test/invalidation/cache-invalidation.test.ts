import { EventEmitter } from 'node:events'
import eventemitter2 from 'eventemitter2'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { CacheManager, type CacheOptions } from '../../src/index.js'
import {
  CacheInvalidation,
  type InvalidatedEvent,
  type InvalidationErrorEvent,
} from '../../src/invalidation/cache-invalidation.js'
import { REDIS_URL, uniquePrefix } from '../support/redis.js'
import { deferred, waitFor } from '../support/wait.js'

const open: { close(): Promise<void> }[] = []
afterEach(async () => {
  for (const item of open.splice(0).reverse()) await item.close()
})

function track<T extends { close(): Promise<void> }>(item: T): T {
  open.push(item)
  return item
}

async function present(cache: CacheManager, keys: string[]): Promise<string[]> {
  const found: string[] = []
  for (const key of keys) if ((await cache.get(key)) !== undefined) found.push(key)
  return found
}

/** A real CacheManager whose pattern invalidation can be held on a gate. */
class GatedCache extends CacheManager {
  gate: Promise<void> | undefined
  patternCalls = 0
  override async invalidateByPattern(pattern: string | RegExp): Promise<number> {
    this.patternCalls++
    if (this.gate !== undefined) await this.gate
    return super.invalidateByPattern(pattern)
  }
}

// eventemitter2 is CommonJS: its class is a property of the module object under NodeNext.
const { EventEmitter2 } = eventemitter2
type EventEmitter2 = InstanceType<typeof EventEmitter2>

const modes: [string, () => CacheOptions][] = [
  ['memory only', () => ({ prefix: uniquePrefix('inv-mem') })],
  ['L1 + Redis', () => ({ redis: REDIS_URL, prefix: uniquePrefix('inv') })],
]

describe.each(modes)('CacheInvalidation (%s)', (mode, makeOptions) => {
  function setup(events?: EventEmitter | EventEmitter2): {
    cache: CacheManager
    inv: CacheInvalidation
    view: CacheManager
  } {
    const options = makeOptions()
    const cache = track(new CacheManager(options))
    // Runs before the cache closes (cleanup is in reverse order): leave nothing in Redis.
    track({ close: () => cache.clear() })
    // What another instance would read: Redis only on the same prefix (or the cache itself).
    const view =
      mode === 'memory only' ? cache : track(new CacheManager({ ...options, local: false }))
    const inv = track(new CacheInvalidation(cache, events === undefined ? {} : { events }))
    return { cache, inv, view }
  }

  it('runs the documented tag and pattern examples', async () => {
    const { cache, inv, view } = setup()
    const events: InvalidatedEvent[] = []
    inv.on('invalidated', (event) => events.push(event))
    const keys = ['cache:product:1', 'cache:product:2', 'cache:product:3', 'cache:user:1']
    await cache.set('cache:product:1', 1, { tags: ['products'] })
    await cache.set('cache:product:2', 2)
    await cache.set('cache:product:3', 3)
    await cache.set('cache:user:1', 'u')

    // Clear all caches with a specific tag
    await inv.invalidateByTag('products')
    expect(await present(view, keys)).toEqual(keys.slice(1))
    // Or by pattern
    expect(await inv.invalidateByPattern(/^cache:product:2$/)).toBe(1)
    // Or glob pattern
    expect(await inv.invalidateByPattern('cache:product:*')).toBe(1)
    expect(await present(cache, keys)).toEqual(['cache:user:1'])
    expect(await present(view, keys)).toEqual(['cache:user:1'])
    expect(events).toEqual([
      { source: 'tag', tags: ['products'] },
      { source: 'pattern', pattern: /^cache:product:2$/, removed: 1 },
      { source: 'pattern', pattern: 'cache:product:*', removed: 1 },
    ])
  })

  it('runs the documented rule example on a node EventEmitter: pattern and dependencies', async () => {
    const emitter = new EventEmitter()
    const { cache, inv, view } = setup(emitter)
    // Register custom invalidation rule
    inv.registerRule({
      id: 'product_update_rule',
      pattern: /^cache:product:.*/,
      triggers: ['product.updated', 'product.deleted'],
      dependencies: ['catalog:list'],
      enabled: true,
    })
    inv.registerDependency('catalog:list', 'page:home')
    const keys = ['cache:product:1', 'cache:product:2', 'catalog:list', 'page:home', 'user:1']
    const fill = async () => {
      for (const key of keys) await cache.set(key, key)
    }
    await fill()
    emitter.emit('product.updated', { id: '1' })
    await inv.settled()
    expect(await present(cache, keys)).toEqual(['user:1'])
    expect(await present(view, keys)).toEqual(['user:1'])
    await fill()
    emitter.emit('product.deleted', { id: '2' })
    await inv.settled()
    expect(await present(cache, keys)).toEqual(['user:1'])
    expect(inv.getRuleStats().product_update_rule).toMatchObject({ runs: 2, failures: 0 })
    // Get registered rules
    expect(inv.getRules()).toEqual([
      {
        id: 'product_update_rule',
        pattern: /^cache:product:.*/,
        triggers: ['product.updated', 'product.deleted'],
        dependencies: ['catalog:list'],
        enabled: true,
      },
    ])
    // View dependency graph
    expect(inv.getDependencyGraph()).toEqual({ 'catalog:list': ['page:home'] })
  })

  it('fires on EventEmitter2 wildcards, and emitAsync waits for the invalidation', async () => {
    const emitter = new EventEmitter2({ wildcard: true })
    const { cache, inv } = setup(emitter)
    const events: InvalidatedEvent[] = []
    inv.on('invalidated', (event) => events.push(event))
    inv.registerRule({
      id: 'products',
      pattern: 'cache:product:*',
      triggers: ['product.*'],
      enabled: true,
    })
    await cache.set('cache:product:1', 1)
    await cache.set('cache:order:1', 1)
    await emitter.emitAsync('order.created', { id: 1 })
    expect(await cache.get('cache:product:1')).toBe(1)
    await emitter.emitAsync('product.updated', { id: 1 })
    // No settled(): emitAsync awaited the listener's promise.
    expect(await present(cache, ['cache:product:1', 'cache:order:1'])).toEqual(['cache:order:1'])
    expect(events).toEqual([
      {
        source: 'rule',
        ruleId: 'products',
        event: 'product.updated',
        pattern: 'cache:product:*',
        removed: 1,
        keys: [],
      },
    ])
  })

  it('a disabled rule does nothing until enabled again', async () => {
    const emitter = new EventEmitter()
    const { cache, inv } = setup(emitter)
    inv.registerRule({ id: 'r', pattern: 'p:*', triggers: ['changed'], enabled: false })
    await cache.set('p:1', 1)
    emitter.emit('changed')
    await inv.settled()
    expect(await cache.get('p:1')).toBe(1)
    expect(inv.getRuleStats().r!.runs).toBe(0)
    inv.enableRule('r')
    emitter.emit('changed')
    await inv.settled()
    expect(await cache.get('p:1')).toBeUndefined()
    inv.disableRule('r')
    await cache.set('p:1', 1)
    emitter.emit('changed')
    await inv.settled()
    expect(await cache.get('p:1')).toBe(1)
    inv.setRuleEnabled('r', true)
    expect(inv.getRules()[0]!.enabled).toBe(true)
  })

  it('a replaced rule does not fire twice, and unregistering detaches its listeners', async () => {
    const emitter = new EventEmitter()
    const { cache, inv } = setup(emitter)
    const runs: string[] = []
    inv.on('invalidated', (event) => {
      if (event.source === 'rule') runs.push(String(event.pattern))
    })
    inv.registerRule({ id: 'r', pattern: 'old:*', triggers: ['e1', 'e2'], enabled: true })
    inv.registerRule({ id: 'r', pattern: 'new:*', triggers: ['e1'], enabled: true })
    expect(emitter.listenerCount('e1')).toBe(1)
    expect(emitter.listenerCount('e2')).toBe(0)
    await cache.set('old:1', 1)
    await cache.set('new:1', 1)
    emitter.emit('e1')
    emitter.emit('e2')
    await inv.settled()
    expect(runs).toEqual(['new:*'])
    expect(await present(cache, ['old:1', 'new:1'])).toEqual(['old:1'])
    expect(inv.getRules().map((r) => r.pattern)).toEqual(['new:*'])
    expect(inv.unregisterRule('r')).toBe(true)
    expect(inv.unregisterRule('r')).toBe(false)
    expect(emitter.listenerCount('e1')).toBe(0)
    expect(inv.getRules()).toEqual([])
  })

  it('a failing rule reports an error event and never throws into emit', async () => {
    const emitter = new EventEmitter()
    const broken = new CacheManager(makeOptions())
    await broken.close()
    const inv = track(new CacheInvalidation(broken, { events: emitter }))
    const errors: InvalidationErrorEvent[] = []
    inv.on('error', (event) => errors.push(event))
    inv.registerRule({ id: 'r', pattern: 'x:*', triggers: ['go'], enabled: true })
    expect(() => emitter.emit('go')).not.toThrow()
    await inv.settled()
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ operation: 'rule', ruleId: 'r', event: 'go' })
    expect(errors[0]!.error).toMatchObject({ code: 'ERR_CLOSED' })
    expect(inv.getRuleStats().r).toMatchObject({
      runs: 1,
      failures: 1,
      lastError: { code: 'ERR_CLOSED' },
    })
  })
})

describe('CacheInvalidation rules, details', () => {
  it('with no error listener, a failing rule is only counted (no crash, no rejection)', async () => {
    const emitter = new EventEmitter()
    const broken = new CacheManager()
    await broken.close()
    const inv = track(new CacheInvalidation(broken, { events: emitter }))
    inv.registerRule({ id: 'r', pattern: 'x:*', triggers: ['go'], enabled: true })
    emitter.emit('go')
    emitter.emit('go')
    await inv.settled()
    // An unheard 'error' emitted from the handler would reject its promise: vitest fails the
    // run on unhandled rejections.
    expect(inv.getRuleStats().r!.failures).toBe(2)
  })

  it('a throwing error listener does not escape either', async () => {
    const emitter = new EventEmitter()
    const broken = new CacheManager()
    await broken.close()
    const inv = track(new CacheInvalidation(broken, { events: emitter }))
    let heard = 0
    inv.on('error', () => {
      heard++
      throw new Error('listener bug')
    })
    inv.registerRule({ id: 'r', pattern: 'x:*', triggers: ['go'], enabled: true })
    emitter.emit('go')
    await inv.settled()
    expect(heard).toBe(1)
    expect(inv.getRuleStats().r!.failures).toBe(1)
  })

  it('coalesces events that arrive during a run into one more run', async () => {
    const emitter = new EventEmitter()
    const cache = track(new GatedCache())
    const inv = track(new CacheInvalidation(cache, { events: emitter }))
    inv.registerRule({ id: 'r', pattern: 'k:*', triggers: ['go'], enabled: true })
    const gate = deferred()
    cache.gate = gate.promise
    emitter.emit('go')
    await waitFor(() => cache.patternCalls === 1)
    await cache.set('k:1', 'written after the first run began')
    for (let i = 0; i < 10; i++) emitter.emit('go')
    gate.resolve()
    await inv.settled()
    expect(cache.patternCalls).toBe(2)
    expect(inv.getRuleStats().r!.runs).toBe(2)
    // The extra run started after the last event, so it removed what the first one may have missed.
    expect(await cache.get('k:1')).toBeUndefined()
  })

  it('with an emitter that cannot remove listeners, replaced rules still fire once', async () => {
    const listeners = new Map<string, ((...args: unknown[]) => unknown)[]>()
    const minimal = {
      on(event: string, listener: (...args: unknown[]) => unknown) {
        listeners.set(event, [...(listeners.get(event) ?? []), listener])
      },
      emit(event: string) {
        for (const listener of listeners.get(event) ?? []) listener()
      },
    }
    const cache = track(new CacheManager())
    const inv = track(new CacheInvalidation(cache, { events: minimal }))
    inv.registerRule({ id: 'r', pattern: 'a:*', triggers: ['go'], enabled: true })
    inv.registerRule({ id: 'r', pattern: 'a:*', triggers: ['go'], enabled: true })
    expect(listeners.get('go')).toHaveLength(2)
    let runs = 0
    inv.on('invalidated', () => runs++)
    minimal.emit('go')
    await inv.settled()
    expect(runs).toBe(1)
    expect(inv.getRuleStats().r!.runs).toBe(1)
  })

  it('hands out copies of rules and keeps its own copy of what it was given', async () => {
    const emitter = new EventEmitter()
    const inv = track(new CacheInvalidation(track(new CacheManager()), { events: emitter }))
    const rule = {
      id: 'r',
      pattern: /^a:/,
      triggers: ['go'],
      dependencies: ['d'],
      enabled: true,
    }
    inv.registerRule(rule)
    rule.triggers.push('other')
    rule.dependencies.push('e')
    const [copy] = inv.getRules()
    copy!.triggers.push('x')
    copy!.dependencies!.push('y')
    copy!.enabled = false
    expect(copy!.pattern).not.toBe(rule.pattern)
    expect(inv.getRules()).toEqual([
      { id: 'r', pattern: /^a:/, triggers: ['go'], dependencies: ['d'], enabled: true },
    ])
    expect(emitter.listenerCount('other')).toBe(0)
  })

  it('close() detaches every listener it added and refuses further registrations', async () => {
    const emitter = new EventEmitter()
    const cache = track(new CacheManager())
    const baseline = ['set', 'delete', 'invalidate'].map((e) => cache.listenerCount(e as 'set'))
    const inv = new CacheInvalidation(cache, { events: emitter })
    inv.registerRule({ id: 'a', pattern: 'a:*', triggers: ['x', 'y'], enabled: true })
    inv.registerRule({ id: 'b', pattern: 'b:*', triggers: ['x'], enabled: true })
    await inv.warmCacheEntry('w', () => 1)
    expect(emitter.listenerCount('x')).toBe(2)
    await inv.close()
    await inv.close()
    expect(emitter.listenerCount('x') + emitter.listenerCount('y')).toBe(0)
    expect(['set', 'delete', 'invalidate'].map((e) => cache.listenerCount(e as 'set'))).toEqual(
      baseline,
    )
    expect(() => inv.registerDependency('a', 'b')).toThrow(
      expect.objectContaining({ code: 'ERR_CLOSED' }),
    )
    await expect(inv.invalidateByTag('t')).rejects.toMatchObject({ code: 'ERR_CLOSED' })
    // The cache itself is not closed.
    await cache.set('still', 'open')
    expect(await cache.get('still')).toBe('open')
  })
})

describe('CacheInvalidation bad input', () => {
  const cache = new CacheManager()
  const inv = new CacheInvalidation(cache, { events: new EventEmitter() })
  afterAll(async () => {
    await inv.close()
    await cache.close()
  })
  afterEach(() => {
    for (const rule of inv.getRules()) inv.unregisterRule(rule.id)
  })

  const good = { id: 'r', pattern: 'a:*', triggers: ['e'], enabled: true }
  const cases: [string, () => unknown, string, string][] = [
    [
      'cache missing',
      () => new CacheInvalidation(undefined as never),
      'ERR_INVALID_OPTION',
      'cache',
    ],
    ['cache not a cache', () => new CacheInvalidation({} as never), 'ERR_INVALID_OPTION', 'cache'],
    [
      'options not an object',
      () => new CacheInvalidation(cache, 5 as never),
      'ERR_INVALID_OPTION',
      'options',
    ],
    [
      'unknown option',
      () => new CacheInvalidation(cache, { event: new EventEmitter() } as never),
      'ERR_INVALID_OPTION',
      'event',
    ],
    [
      'events without on()',
      () => new CacheInvalidation(cache, { events: { emit() {} } as never }),
      'ERR_INVALID_OPTION',
      'events',
    ],
    [
      'maxDependencies 0',
      () => new CacheInvalidation(cache, { maxDependencies: 0 }),
      'ERR_INVALID_OPTION',
      'maxDependencies',
    ],
    [
      'rule without an emitter',
      () => new CacheInvalidation(cache).registerRule(good),
      'ERR_INVALID_OPTION',
      'events',
    ],
    ['rule null', () => inv.registerRule(null as never), 'ERR_INVALID_OPTION', 'rule'],
    ['rule.id empty', () => inv.registerRule({ ...good, id: '' }), 'ERR_INVALID_OPTION', 'rule.id'],
    [
      'rule.pattern a number',
      () => inv.registerRule({ ...good, pattern: 5 as never }),
      'ERR_INVALID_OPTION',
      'rule.pattern',
    ],
    [
      'rule.pattern empty',
      () => inv.registerRule({ ...good, pattern: '' }),
      'ERR_INVALID_OPTION',
      'rule.pattern',
    ],
    [
      'rule.triggers empty',
      () => inv.registerRule({ ...good, triggers: [] }),
      'ERR_INVALID_OPTION',
      'rule.triggers',
    ],
    [
      'rule.triggers a string',
      () => inv.registerRule({ ...good, triggers: 'e' as never }),
      'ERR_INVALID_OPTION',
      'rule.triggers',
    ],
    [
      'rule.triggers[1] empty',
      () => inv.registerRule({ ...good, triggers: ['e', ''] }),
      'ERR_INVALID_OPTION',
      'rule.triggers[1]',
    ],
    [
      'rule.triggers[1] duplicate',
      () => inv.registerRule({ ...good, triggers: ['e', 'e'] }),
      'ERR_INVALID_OPTION',
      'rule.triggers[1]',
    ],
    [
      'rule.dependencies not an array',
      () => inv.registerRule({ ...good, dependencies: 'd' as never }),
      'ERR_INVALID_OPTION',
      'rule.dependencies',
    ],
    [
      'rule.dependencies[1] empty',
      () => inv.registerRule({ ...good, dependencies: ['d', ''] }),
      'ERR_INVALID_KEY',
      'rule.dependencies[1]',
    ],
    [
      'rule.enabled not a boolean',
      () => inv.registerRule({ ...good, enabled: 'yes' as never }),
      'ERR_INVALID_OPTION',
      'rule.enabled',
    ],
    [
      'rule with an unknown field',
      () => inv.registerRule({ ...good, trigger: ['e'] } as never),
      'ERR_INVALID_OPTION',
      'rule.trigger',
    ],
    ['enable unknown rule', () => inv.enableRule('nope'), 'ERR_INVALID_OPTION', 'id'],
    [
      'setRuleEnabled not a boolean',
      () => inv.setRuleEnabled('r', 1 as never),
      'ERR_INVALID_OPTION',
      'enabled',
    ],
    ['parent empty', () => inv.registerDependency('', 'x'), 'ERR_INVALID_KEY', 'parent'],
    [
      'dependent a number',
      () => inv.registerDependency('p', 5 as never),
      'ERR_INVALID_KEY',
      'dependent',
    ],
    [
      'dependent[1] reserved',
      () => inv.registerDependency('p', ['x', '__sc:tag']),
      'ERR_INVALID_KEY',
      'dependent[1]',
    ],
    [
      'dependent equal to parent',
      () => inv.registerDependency('p', 'p'),
      'ERR_INVALID_OPTION',
      'dependent',
    ],
    [
      'unregister with a bad dependent',
      () => inv.unregisterDependency('p', ''),
      'ERR_INVALID_KEY',
      'dependent',
    ],
  ]

  it.each(cases)('%s', (_name, act, code, field) => {
    expect(act).toThrow(expect.objectContaining({ code, field }))
  })

  it('rejects bad arguments of the async methods', async () => {
    await expect(inv.invalidateByDependency('')).rejects.toMatchObject({
      code: 'ERR_INVALID_KEY',
      field: 'parent',
    })
    await expect(inv.invalidateByDependency(['a', 7 as never])).rejects.toMatchObject({
      field: 'parent[1]',
    })
    await expect(
      inv.invalidateByDependency('a', { includeParent: 'no' as never }),
    ).rejects.toMatchObject({ field: 'options.includeParent' })
    await expect(inv.invalidateByTag('')).rejects.toMatchObject({ field: 'tag[0]' })
    await expect(inv.invalidateByPattern('')).rejects.toMatchObject({ field: 'pattern' })
  })

  it('a rejected rule leaves the rule it would have replaced in place', () => {
    inv.registerRule(good)
    expect(() => inv.registerRule({ ...good, triggers: [''] })).toThrow()
    expect(inv.getRules()).toEqual([good])
  })
})

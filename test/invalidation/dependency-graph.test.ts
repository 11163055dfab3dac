import { afterEach, describe, expect, it } from 'vitest'
import { CacheManager, type CacheOptions, ValidationError } from '../../src/index.js'
import { CacheInvalidation } from '../../src/invalidation/cache-invalidation.js'
import { DependencyGraph } from '../../src/invalidation/dependency-graph.js'
import { REDIS_URL, uniquePrefix } from '../support/redis.js'

describe('DependencyGraph', () => {
  it('follows edges transitively, breadth first, roots first', () => {
    const graph = new DependencyGraph()
    graph.add('a', 'b')
    graph.add('b', 'c')
    graph.add('a', 'd')
    graph.add('x', 'y')
    expect(graph.closure(['a'])).toEqual(['a', 'b', 'd', 'c'])
    expect(graph.closure(['c'])).toEqual(['c'])
  })

  it('terminates on cycles and visits each key of a diamond once', () => {
    const graph = new DependencyGraph()
    graph.add('a', 'b')
    graph.add('b', 'a')
    expect(graph.closure(['a'])).toEqual(['a', 'b'])
    expect(graph.closure(['b'])).toEqual(['b', 'a'])
    const diamond = new DependencyGraph()
    diamond.add('top', 'left')
    diamond.add('top', 'right')
    diamond.add('left', 'bottom')
    diamond.add('right', 'bottom')
    diamond.add('bottom', 'top')
    expect(diamond.closure(['top'])).toEqual(['top', 'left', 'right', 'bottom'])
  })

  it('counts edges once, removes one edge or all of a parent, and clears', () => {
    const graph = new DependencyGraph()
    expect(graph.add('a', 'b')).toBe(true)
    expect(graph.add('a', 'b')).toBe(false)
    graph.add('a', 'c')
    graph.add('b', 'c')
    expect(graph.size).toBe(3)
    expect(graph.remove('a', 'b')).toBe(1)
    expect(graph.remove('a', 'b')).toBe(0)
    expect(graph.closure(['a'])).toEqual(['a', 'c'])
    expect(graph.remove('a')).toBe(1)
    expect(graph.remove('nope')).toBe(0)
    expect(graph.size).toBe(1)
    graph.clear()
    expect(graph.size).toBe(0)
    expect(graph.toJSON()).toEqual({})
  })

  it('serialises to a plain copy, with __proto__ as an ordinary key', () => {
    const graph = new DependencyGraph()
    graph.add('__proto__', 'x')
    graph.add('p', 'q')
    const json = graph.toJSON()
    expect(Object.getPrototypeOf(json)).toBe(Object.prototype)
    expect(Object.keys(json)).toEqual(['__proto__', 'p'])
    expect(JSON.parse(JSON.stringify(json))).toEqual(json)
    json.p!.push('mutated')
    expect(graph.toJSON().p).toEqual(['q'])
  })

  it('is bounded: past maxEdges it throws and adds nothing (all or none)', () => {
    const graph = new DependencyGraph(3)
    graph.addAll('a', ['b', 'c'])
    expect(() => graph.addAll('a', ['d', 'e'])).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTION', field: 'maxDependencies' }),
    )
    expect(graph.size).toBe(2)
    expect(graph.closure(['a'])).toEqual(['a', 'b', 'c'])
    expect(graph.addAll('a', ['b', 'd'])).toBe(1) // 'b' is already there
    expect(() => graph.add('z', 'y')).toThrow(ValidationError)
    expect(() => new DependencyGraph(0)).toThrow(
      expect.objectContaining({ field: 'maxDependencies' }),
    )
  })
})

const modes: [string, () => CacheOptions][] = [
  ['memory only', () => ({ prefix: uniquePrefix('dep-mem') })],
  ['L1 + Redis', () => ({ redis: REDIS_URL, prefix: uniquePrefix('dep-redis') })],
]

describe.each(modes)('CacheInvalidation dependencies (%s)', (mode, makeOptions) => {
  const open: { close(): Promise<void> }[] = []
  afterEach(async () => {
    for (const item of open.splice(0).reverse()) await item.close()
  })

  function setup(): { cache: CacheManager; inv: CacheInvalidation; view: CacheManager } {
    const options = makeOptions()
    const cache = new CacheManager(options)
    // What other instances would read: Redis only (no L1) on the same prefix, or the cache itself.
    const view = mode === 'memory only' ? cache : new CacheManager({ ...options, local: false })
    const inv = new CacheInvalidation(cache)
    // Cleanup runs in reverse order: clear (leave nothing in Redis) before closing.
    open.push(cache, { close: () => cache.clear() }, inv)
    if (view !== cache) open.push(view)
    return { cache, inv, view }
  }

  async function present(cache: CacheManager, keys: string[]): Promise<string[]> {
    const found: string[] = []
    for (const key of keys) if ((await cache.get(key)) !== undefined) found.push(key)
    return found
  }

  it('runs the documented example: the product and its dependent cart are removed', async () => {
    const { cache, inv, view } = setup()
    inv.registerDependency(
      'product:123', // Parent key
      'cart:user-456:items', // Dependent key
    )
    await cache.set('product:123', { id: 123 })
    await cache.set('cart:user-456:items', [123])
    await cache.set('cart:user-789:items', [5])
    const removed = await inv.invalidateByDependency('product:123')
    expect(removed).toEqual(['product:123', 'cart:user-456:items'])
    const keys = ['product:123', 'cart:user-456:items', 'cart:user-789:items']
    expect(await present(cache, keys)).toEqual(['cart:user-789:items'])
    expect(await present(view, keys)).toEqual(['cart:user-789:items'])
  })

  it('removes dependents transitively (a → b → c) and keeps the edges for next time', async () => {
    const { cache, inv, view } = setup()
    inv.registerDependency('a', 'b')
    inv.registerDependency('b', ['c', 'd'])
    const keys = ['a', 'b', 'c', 'd', 'e']
    for (const key of keys) await cache.set(key, key)
    expect(await inv.invalidateByDependency('a')).toEqual(['a', 'b', 'c', 'd'])
    expect(await present(cache, keys)).toEqual(['e'])
    expect(await present(view, keys)).toEqual(['e'])
    // Edges survive an invalidation: the next change of `a` reaches the same keys.
    for (const key of keys) await cache.set(key, key)
    await inv.invalidateByDependency('a')
    expect(await present(cache, keys)).toEqual(['e'])
  })

  it('terminates on a cycle (a → b → a) and removes both', async () => {
    const { cache, inv } = setup()
    inv.registerDependency('a', 'b')
    inv.registerDependency('b', 'a')
    await cache.set('a', 1)
    await cache.set('b', 2)
    expect(await inv.invalidateByDependency('b')).toEqual(['b', 'a'])
    expect(await present(cache, ['a', 'b'])).toEqual([])
  })

  it('can keep the parent, and take several parents at once', async () => {
    const { cache, inv } = setup()
    inv.registerDependency('p1', 'd1')
    inv.registerDependency('p2', ['d2', 'd1'])
    for (const key of ['p1', 'p2', 'd1', 'd2']) await cache.set(key, key)
    expect(await inv.invalidateByDependency('p1', { includeParent: false })).toEqual(['d1'])
    expect(await present(cache, ['p1', 'p2', 'd1', 'd2'])).toEqual(['p1', 'p2', 'd2'])
    expect(await inv.invalidateByDependency(['p1', 'p2'])).toEqual(['p1', 'p2', 'd1', 'd2'])
    expect(await present(cache, ['p1', 'p2', 'd1', 'd2'])).toEqual([])
  })

  it('a parent with no dependents removes itself only; an event reports the keys', async () => {
    const { cache, inv } = setup()
    await cache.set('lonely', 1)
    const events: unknown[] = []
    inv.on('invalidated', (event) => events.push(event))
    expect(await inv.invalidateByDependency('lonely')).toEqual(['lonely'])
    expect(await cache.get('lonely')).toBeUndefined()
    expect(events).toEqual([{ source: 'dependency', keys: ['lonely'] }])
  })

  it('unregisters one edge or all of a parent; clears; reports the graph as plain data', async () => {
    const { cache, inv } = setup()
    inv.registerDependency('p', ['x', 'y'])
    inv.registerDependency('p', 'x') // idempotent
    inv.registerDependency('q', 'p')
    expect(inv.getDependencyGraph()).toEqual({ p: ['x', 'y'], q: ['p'] })
    const graph = inv.getDependencyGraph()
    graph.p!.push('z')
    expect(inv.getDependencyGraph().p).toEqual(['x', 'y'])
    expect(JSON.parse(JSON.stringify(inv.getDependencyGraph()))).toEqual({
      p: ['x', 'y'],
      q: ['p'],
    })
    expect(inv.unregisterDependency('p', 'x')).toBe(1)
    await cache.set('x', 1)
    await inv.invalidateByDependency('q')
    expect(await cache.get('x')).toBe(1)
    expect(inv.unregisterDependency('p')).toBe(1)
    expect(inv.getDependencyGraph()).toEqual({ q: ['p'] })
    inv.clearDependencies()
    expect(inv.getDependencyGraph()).toEqual({})
  })

  it('bounds the graph with maxDependencies', async () => {
    const options = makeOptions()
    const cache = new CacheManager(options)
    const inv = new CacheInvalidation(cache, { maxDependencies: 2 })
    open.push(cache, { close: () => cache.clear() }, inv)
    inv.registerDependency('p', ['a', 'b'])
    expect(() => inv.registerDependency('q', 'c')).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTION', field: 'maxDependencies' }),
    )
    inv.unregisterDependency('p', 'a')
    inv.registerDependency('q', 'c')
    expect(inv.getDependencyGraph()).toEqual({ p: ['b'], q: ['c'] })
  })
})

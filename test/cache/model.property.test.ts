import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CacheManager, type CacheOptions } from '../../src/index.js'
import { REDIS_URL, uniquePrefix } from '../support/redis.js'

/**
 * Random sequences of operations run against the cache and against a plain model (a Map plus tag
 * sets); every read must agree. TTLs are long so that time does not enter the model.
 */
type Op =
  | { op: 'set'; key: string; value: unknown; tags: string[] }
  | { op: 'get'; key: string }
  | { op: 'has'; key: string }
  | { op: 'delete'; keys: string[] }
  | { op: 'tag'; tag: string }
  | { op: 'pattern'; prefix: string }
  | { op: 'batchGet'; keys: string[] }
  | { op: 'batchSet'; entries: [string, unknown][]; tags: string[] }
  | { op: 'getOrCompute'; key: string; value: unknown; tags: string[] }
  | { op: 'clear' }

const key = fc.constantFrom('a:1', 'a:2', 'a:3', 'b:1', 'b:2', 'c')
const tag = fc.constantFrom('t1', 't2', 't3')
const value = fc.oneof(
  fc.integer(),
  fc.string(),
  fc.constant(null),
  fc.boolean(),
  fc.date({ noInvalidDate: true }),
  fc.bigInt(),
  fc.array(fc.integer(), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.oneof(fc.integer(), fc.string()), { maxKeys: 3 }),
)
const tags = fc.uniqueArray(tag, { maxLength: 2 })
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), key, value, tags }),
  fc.record({ op: fc.constant('get' as const), key }),
  fc.record({ op: fc.constant('has' as const), key }),
  fc.record({
    op: fc.constant('delete' as const),
    keys: fc.uniqueArray(key, { minLength: 1, maxLength: 3 }),
  }),
  fc.record({ op: fc.constant('tag' as const), tag }),
  fc.record({ op: fc.constant('pattern' as const), prefix: fc.constantFrom('a:', 'b:', 'c') }),
  fc.record({
    op: fc.constant('batchGet' as const),
    keys: fc.array(key, { minLength: 1, maxLength: 4 }),
  }),
  fc.record({
    op: fc.constant('batchSet' as const),
    entries: fc.uniqueArray(fc.tuple(key, value), {
      selector: ([k]) => k,
      minLength: 1,
      maxLength: 3,
    }),
    tags,
  }),
  fc.record({ op: fc.constant('getOrCompute' as const), key, value, tags }),
  fc.constant({ op: 'clear' as const }),
)

class Model {
  readonly entries = new Map<string, { value: unknown; tags: string[] }>()
  set(k: string, v: unknown, t: string[]) {
    this.entries.set(k, { value: v, tags: t })
  }
  invalidateTag(tag: string) {
    return this.removeWhere((_k, t) => t.includes(tag))
  }
  clear() {
    this.entries.clear()
  }
  get(k: string) {
    return this.entries.get(k)?.value
  }
  removeWhere(test: (k: string, tags: string[]) => boolean) {
    let removed = 0
    for (const [k, entry] of [...this.entries]) {
      if (test(k, entry.tags)) {
        this.entries.delete(k)
        removed++
      }
    }
    return removed
  }
}

/** What the checker calls: a CacheManager, or one with a fault injected for a control. */
type Subject = Pick<
  CacheManager,
  | 'set'
  | 'get'
  | 'has'
  | 'delete'
  | 'invalidateByTag'
  | 'invalidateByPattern'
  | 'getBatch'
  | 'setBatch'
  | 'getOrCompute'
  | 'clear'
>

/** `cache` with some of its methods replaced (by a fault). */
function withFault(cache: CacheManager, fault: Partial<Subject>): Subject {
  const subject: Subject = {
    set: (...args) => cache.set(...args),
    get: (key) => cache.get(key),
    has: (key) => cache.has(key),
    delete: (keys) => cache.delete(keys),
    invalidateByTag: (tag) => cache.invalidateByTag(tag),
    invalidateByPattern: (pattern) => cache.invalidateByPattern(pattern),
    getBatch: (keys) => cache.getBatch(keys),
    setBatch: (...args) => cache.setBatch(...args),
    getOrCompute: (...args) => cache.getOrCompute(...args),
    clear: () => cache.clear(),
  }
  return { ...subject, ...fault }
}

/** Faults a cache could have; each must make the checker fail. */
const FAULTS: [string, (cache: CacheManager) => Partial<Subject>][] = [
  ['tag invalidation removes nothing', () => ({ invalidateByTag: async () => {} })],
  [
    'a delete of several keys removes only the first',
    (cache) => ({ delete: (keys) => cache.delete(Array.isArray(keys) ? keys.slice(0, 1) : keys) }),
  ],
  [
    'getOrCompute loads even when the value is cached',
    (cache) => ({
      getOrCompute: async (key, loader, options) => {
        const value = await loader()
        await cache.set(key, value, options)
        return value
      },
    }),
  ],
  ['a batch set stores no tags', (cache) => ({ setBatch: (entries) => cache.setBatch(entries) })],
]

async function check(cache: Subject, ops: Op[]): Promise<void> {
  const model = new Model()
  for (const step of ops) {
    switch (step.op) {
      case 'set':
        await cache.set(step.key, step.value, { tags: step.tags })
        model.set(step.key, step.value, step.tags)
        break
      case 'get':
        expect(await cache.get(step.key)).toEqual(model.get(step.key))
        break
      case 'has':
        expect(await cache.has(step.key)).toBe(model.entries.has(step.key))
        break
      case 'delete':
        await cache.delete(step.keys)
        model.removeWhere((k) => step.keys.includes(k))
        break
      case 'tag':
        await cache.invalidateByTag(step.tag)
        model.invalidateTag(step.tag)
        break
      case 'pattern': {
        const removed = model.removeWhere((k) => k.startsWith(step.prefix))
        expect(await cache.invalidateByPattern(`${step.prefix}*`)).toBe(removed)
        break
      }
      case 'batchGet':
        expect(await cache.getBatch(step.keys)).toEqual(step.keys.map((k) => model.get(k)))
        break
      case 'batchSet':
        await cache.setBatch(
          step.entries.map(([k, v]) => ({ key: k, value: v })),
          step.tags,
        )
        for (const [k, v] of step.entries) model.set(k, v, step.tags)
        break
      case 'getOrCompute': {
        const expected = model.entries.has(step.key) ? model.get(step.key) : step.value
        if (!model.entries.has(step.key)) model.set(step.key, step.value, step.tags)
        expect(await cache.getOrCompute(step.key, () => step.value, { tags: step.tags })).toEqual(
          expected,
        )
        break
      }
      case 'clear':
        await cache.clear()
        model.clear()
        break
    }
  }
}

const modes: [string, CacheOptions, number][] = [
  ['memory only', {}, 200],
  ['L1 + Redis', { redis: REDIS_URL }, 40],
  ['Redis only', { redis: REDIS_URL, local: false }, 40],
]

describe.each(modes)('cache agrees with a plain model (%s)', (_name, options, numRuns) => {
  it('for random operation sequences', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 30 }), async (ops) => {
        const cache = new CacheManager({ ...options, prefix: uniquePrefix('model') })
        try {
          await check(cache, ops)
        } finally {
          await cache.clear()
          await cache.close()
        }
      }),
      { numRuns: numRuns * Number(process.env.FC_SCALE ?? 1) },
    )
  }, 60_000)
})

describe.each(FAULTS)('control: the model catches a broken cache (%s)', (_name, fault) => {
  it('for random operation sequences', async () => {
    const result = await fc.check(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 30 }), async (ops) => {
        const cache = new CacheManager({ prefix: uniquePrefix('model-fault') })
        try {
          await check(withFault(cache, fault(cache)), ops)
        } finally {
          await cache.close()
        }
      }),
      // Stops at the first failure; the rarest fault (a batch set, a tag invalidation, then a
      // read) is found within a few hundred runs.
      { numRuns: 2_000 },
    )
    expect(result.failed).toBe(true)
  })
})

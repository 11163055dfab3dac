/** L1 hits: `get` and `getOrCompute` on 1000 warm keys, memory only (no Redis). */
import { keys, ROW, TTL_MS } from '../fixtures.js'
import {
  bentocache,
  cacheManager,
  closeBento,
  closeCacheManager,
  closeStratacache,
  lruCache,
  stratacache,
} from '../peers.js'
import { type CandidateSpec, countingLoader, cycle, type Scenario } from '../scenario.js'

const KEYS = keys(1000)

export const L1_LRU = 'lru-cache (async get)'
export const L1_LRU_COMPUTE = 'lru-cache (async get ?? load)'
export const L1_DEFAULT = 'stratacache (default: copies)'
export const L1_SHARED = 'stratacache (shareReferences)'
export const L1_BENTO = 'bentocache (memory)'
export const L1_CM = 'cache-manager (memory keyv)'

function strataGet(name: string, shareReferences: boolean): CandidateSpec {
  return {
    name,
    kind: 'subject',
    async init() {
      const cache = await stratacache({ local: shareReferences ? { shareReferences: true } : {} })
      for (const key of KEYS) await cache.set(key, ROW)
      const next = cycle(KEYS)
      return {
        run: () => cache.get(next()),
        read: () => cache.get(KEYS[0]!),
        close: () => closeStratacache(cache),
      }
    },
  }
}

function strataCompute(name: string, shareReferences: boolean): CandidateSpec {
  return {
    name,
    kind: 'subject',
    async init() {
      const cache = await stratacache({ local: shareReferences ? { shareReferences: true } : {} })
      for (const key of KEYS) await cache.set(key, ROW)
      const loader = countingLoader(ROW)
      const next = cycle(KEYS)
      return {
        run: () => cache.getOrCompute(next(), loader.load),
        read: () => cache.getOrCompute(KEYS[0]!, loader.load),
        facts: () => ({ loaderCalls: loader.calls() }),
        close: () => closeStratacache(cache),
      }
    },
  }
}

export const l1Get: Scenario = {
  id: 'l1-get',
  group: 'l1-hit',
  title: 'L1 hit: get (memory only, 1000 warm keys)',
  unit: 'per get',
  ratioTo: [L1_LRU, L1_DEFAULT],
  expect: 'row',
  needsRedis: false,
  notes: [
    'lru-cache is the floor: `async (key) => lru.get(key)` on a plain `new LRUCache({ max: 10000 })` (shared references, no TTL check).',
    'bentocache memory driver keeps its default `serialize: true` (JSON copy per get); cache-manager uses its default in-memory Keyv.',
  ],
  candidates: [
    {
      name: L1_LRU,
      kind: 'baseline',
      async init() {
        const lru = await lruCache<typeof ROW>()
        for (const key of KEYS) lru.set(key, ROW)
        const get = async (key: string) => lru.get(key)
        const next = cycle(KEYS)
        return { run: () => get(next()), read: () => get(KEYS[0]!) }
      },
    },
    strataGet(L1_DEFAULT, false),
    strataGet(L1_SHARED, true),
    {
      name: L1_BENTO,
      kind: 'peer',
      async init() {
        const bento = await bentocache({ memory: true })
        for (const key of KEYS) await bento.set({ key, value: ROW })
        const next = cycle(KEYS)
        return {
          run: () => bento.get({ key: next() }),
          read: () => bento.get({ key: KEYS[0]! }),
          close: () => closeBento(bento),
        }
      },
    },
    {
      name: L1_CM,
      kind: 'peer',
      async init() {
        const cache = await cacheManager({ memory: true })
        for (const key of KEYS) await cache.set(key, ROW, TTL_MS)
        const next = cycle(KEYS)
        return {
          run: () => cache.get(next()),
          read: () => cache.get(KEYS[0]!),
          close: () => closeCacheManager(cache),
        }
      },
    },
  ],
}

export const l1GetOrCompute: Scenario = {
  id: 'l1-getorcompute',
  group: 'l1-hit',
  title: 'L1 hit: getOrCompute / getOrSet / wrap (memory only, 1000 warm keys)',
  unit: 'per call',
  ratioTo: [L1_LRU_COMPUTE, L1_DEFAULT],
  expect: 'row',
  needsRedis: false,
  notes: [
    'Every key is warm: the loader must never run (loaderCalls = 0).',
    'lru-cache floor: `async (key, load) => lru.get(key) ?? (await load())` (plus set on a miss).',
  ],
  candidates: [
    {
      name: L1_LRU_COMPUTE,
      kind: 'baseline',
      async init() {
        const lru = await lruCache<typeof ROW>()
        for (const key of KEYS) lru.set(key, ROW)
        const loader = countingLoader(ROW)
        const getOrCompute = async (key: string) => {
          const hit = lru.get(key)
          if (hit !== undefined) return hit
          const value = await loader.load()
          lru.set(key, value)
          return value
        }
        const next = cycle(KEYS)
        return {
          run: () => getOrCompute(next()),
          read: () => getOrCompute(KEYS[0]!),
          facts: () => ({ loaderCalls: loader.calls() }),
        }
      },
    },
    strataCompute(L1_DEFAULT, false),
    strataCompute(L1_SHARED, true),
    {
      name: `${L1_BENTO} getOrSet`,
      kind: 'peer',
      async init() {
        const bento = await bentocache({ memory: true })
        for (const key of KEYS) await bento.set({ key, value: ROW })
        const loader = countingLoader(ROW)
        const next = cycle(KEYS)
        return {
          run: () => bento.getOrSet({ key: next(), factory: loader.load }),
          read: () => bento.getOrSet({ key: KEYS[0]!, factory: loader.load }),
          facts: () => ({ loaderCalls: loader.calls() }),
          close: () => closeBento(bento),
        }
      },
    },
    {
      name: `${L1_CM} wrap`,
      kind: 'peer',
      async init() {
        const cache = await cacheManager({ memory: true })
        for (const key of KEYS) await cache.set(key, ROW, TTL_MS)
        const loader = countingLoader(ROW)
        const next = cycle(KEYS)
        return {
          run: () => cache.wrap(next(), loader.load, TTL_MS),
          read: () => cache.wrap(KEYS[0]!, loader.load, TTL_MS),
          facts: () => ({ loaderCalls: loader.calls() }),
          close: () => closeCacheManager(cache),
        }
      },
    },
  ],
}

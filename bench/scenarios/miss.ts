/**
 * A miss with a loader: `getOrCompute` on a fresh key every call, with a loader that resolves the
 * row at once (no I/O), so the time is the cache's own miss path: lookups, copy/encode, writes.
 */
import { REDIS_URL, ROW, TTL_MS } from '../fixtures.js'
import {
  bentocache,
  cacheManager,
  closeBento,
  closeCacheManager,
  closeStratacache,
  ioredis,
  lruCache,
  stratacache,
} from '../peers.js'
import { countingLoader, type Scenario } from '../scenario.js'

export const MISS_STRATA_MEM = 'stratacache (memory)'
export const MISS_STRATA_L2 = 'stratacache (L1 + Redis)'

/** `miss:<n>`, a new key every call. */
function freshKeys(): () => string {
  let n = 0
  return () => `miss:${n++}`
}

const NOTES = [
  'Fresh key every call: the caches fill up (L1 bounded at 10 000 entries, so evictions are part of the cost).',
  'The loader is `async () => row`: the loader itself costs ~nothing.',
]

export const missMemory: Scenario = {
  id: 'miss-memory',
  group: 'miss',
  title: 'Miss with a loader, memory only',
  unit: 'per call',
  ratioTo: [MISS_STRATA_MEM],
  expect: 'row',
  needsRedis: false,
  notes: NOTES,
  candidates: [
    {
      name: 'lru-cache get + set (floor)',
      kind: 'baseline',
      async init() {
        const lru = await lruCache<typeof ROW>()
        const loader = countingLoader(ROW)
        const next = freshKeys()
        return {
          run: async () => {
            const key = next()
            const hit = lru.get(key)
            if (hit !== undefined) return hit
            const value = await loader.load()
            lru.set(key, value)
            return value
          },
          facts: () => ({ loaderCalls: loader.calls() }),
        }
      },
    },
    {
      name: MISS_STRATA_MEM,
      kind: 'subject',
      async init() {
        const cache = await stratacache({})
        const loader = countingLoader(ROW)
        const next = freshKeys()
        return {
          run: () => cache.getOrCompute(next(), loader.load),
          facts: () => ({ loaderCalls: loader.calls() }),
          close: () => closeStratacache(cache),
        }
      },
    },
    {
      name: 'bentocache (memory) getOrSet',
      kind: 'peer',
      async init() {
        const bento = await bentocache({ memory: true })
        const loader = countingLoader(ROW)
        const next = freshKeys()
        return {
          run: () => bento.getOrSet({ key: next(), factory: loader.load }),
          facts: () => ({ loaderCalls: loader.calls() }),
          close: () => closeBento(bento),
        }
      },
    },
    {
      name: 'cache-manager (memory keyv) wrap',
      kind: 'peer',
      async init() {
        const cache = await cacheManager({ memory: true })
        const loader = countingLoader(ROW)
        const next = freshKeys()
        return {
          run: () => cache.wrap(next(), loader.load, TTL_MS),
          facts: () => ({ loaderCalls: loader.calls() }),
          close: () => closeCacheManager(cache),
        }
      },
    },
  ],
}

export const missTiered: Scenario = {
  id: 'miss-l1-redis',
  group: 'miss',
  title: 'Miss with a loader, L1 + Redis',
  unit: 'per call',
  ratioTo: [MISS_STRATA_L2],
  expect: 'row',
  needsRedis: true,
  notes: [
    ...NOTES,
    'Floor: a hand-written two-tier read-through (lru-cache, then ioredis GET; on a miss the loader, lru.set and SET PX of the JSON).',
  ],
  candidates: [
    {
      name: 'lru + ioredis read-through (floor)',
      kind: 'baseline',
      async init(ctx) {
        const lru = await lruCache<typeof ROW>()
        const redis = await ioredis()
        const prefix = ctx.prefix('raw')
        const loader = countingLoader(ROW)
        const next = freshKeys()
        return {
          run: async () => {
            const key = next()
            const hit = lru.get(key)
            if (hit !== undefined) return hit
            const remote = await redis.get(prefix + key)
            if (remote !== null) return JSON.parse(remote)
            const value = await loader.load()
            lru.set(key, value)
            await redis.set(prefix + key, JSON.stringify(value), 'PX', TTL_MS)
            return value
          },
          facts: () => ({ loaderCalls: loader.calls() }),
          close: async () => {
            await redis.quit()
          },
        }
      },
    },
    {
      name: MISS_STRATA_L2,
      kind: 'subject',
      async init(ctx) {
        const cache = await stratacache({ redis: REDIS_URL, prefix: ctx.prefix('strata') })
        const loader = countingLoader(ROW)
        const next = freshKeys()
        return {
          run: () => cache.getOrCompute(next(), loader.load),
          facts: () => ({ loaderCalls: loader.calls() }),
          close: () => closeStratacache(cache),
        }
      },
    },
    {
      name: 'bentocache (memory + redis) getOrSet',
      kind: 'peer',
      async init(ctx) {
        const bento = await bentocache({ memory: true, redisPrefix: ctx.prefix('bento') })
        const loader = countingLoader(ROW)
        const next = freshKeys()
        return {
          run: () => bento.getOrSet({ key: next(), factory: loader.load }),
          facts: () => ({ loaderCalls: loader.calls() }),
          close: () => closeBento(bento),
        }
      },
    },
    {
      name: 'cache-manager (memory + @keyv/redis) wrap',
      kind: 'peer',
      async init(ctx) {
        const cache = await cacheManager({
          memory: true,
          redisNamespace: ctx.prefix('cm').slice(0, -1),
        })
        const loader = countingLoader(ROW)
        const next = freshKeys()
        return {
          run: () => cache.wrap(next(), loader.load, TTL_MS),
          facts: () => ({ loaderCalls: loader.calls() }),
          close: () => closeCacheManager(cache),
        }
      },
    },
  ],
}

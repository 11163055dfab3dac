/** 100 keys from L2 (L1 off): one `getBatch` against 100 single gets, and against raw MGET. */
import { keys, REDIS_URL, ROW, TTL_MS } from '../fixtures.js'
import {
  cacheManager,
  closeCacheManager,
  closeStratacache,
  ioredis,
  stratacache,
} from '../peers.js'
import type { CandidateSpec, Scenario } from '../scenario.js'

const KEYS = keys(100)

export const BATCH_STRATA = 'stratacache getBatch(100)'
export const BATCH_SEQUENTIAL = 'stratacache 100 x get (sequential)'
export const BATCH_PARALLEL = 'stratacache 100 x get (Promise.all)'
export const BATCH_MGET = 'ioredis MGET + JSON.parse'
export const BATCH_RAW_SEQUENTIAL = 'ioredis 100 x GET (sequential)'
export const BATCH_CM = 'cache-manager mget (@keyv/redis)'

async function strataWithRows(prefix: string) {
  const cache = await stratacache({ redis: REDIS_URL, local: false, prefix })
  await cache.setBatch(KEYS.map((key) => ({ key, value: ROW })))
  return cache
}

function strata(name: string, mode: 'batch' | 'sequential' | 'parallel'): CandidateSpec {
  return {
    name,
    kind: 'subject',
    async init(ctx) {
      const cache = await strataWithRows(ctx.prefix(`strata-${mode}`))
      const run =
        mode === 'batch'
          ? () => cache.getBatch(KEYS)
          : mode === 'parallel'
            ? () => Promise.all(KEYS.map((key) => cache.get(key)))
            : async () => {
                const values: unknown[] = new Array(KEYS.length)
                for (let i = 0; i < KEYS.length; i++) values[i] = await cache.get(KEYS[i]!)
                return values
              }
      return { run, close: () => closeStratacache(cache) }
    },
  }
}

function raw(name: string, mode: 'mget' | 'sequential'): CandidateSpec {
  return {
    name,
    kind: 'baseline',
    async init(ctx) {
      const redis = await ioredis()
      const prefix = ctx.prefix(`raw-${mode}`)
      const json = JSON.stringify(ROW)
      await redis.mset(...KEYS.flatMap((key) => [prefix + key, json]))
      const full = KEYS.map((key) => prefix + key)
      const run =
        mode === 'mget'
          ? async () =>
              (await redis.mget(full)).map((s) => (s === null ? undefined : JSON.parse(s)))
          : async () => {
              const values: unknown[] = new Array(full.length)
              for (let i = 0; i < full.length; i++)
                values[i] = JSON.parse((await redis.get(full[i]!))!)
              return values
            }
      return {
        run,
        close: async () => {
          await redis.quit()
        },
      }
    },
  }
}

export const batch: Scenario = {
  id: 'batch-100',
  group: 'batch',
  title: 'Batch: 100 keys from L2 (L1 off)',
  unit: 'per 100 keys',
  ratioTo: [BATCH_STRATA, BATCH_MGET],
  expect: 'rows',
  needsRedis: true,
  notes: ['bentocache 1.6 has no multi-get API: not in this table.'],
  candidates: [
    strata(BATCH_STRATA, 'batch'),
    strata(BATCH_SEQUENTIAL, 'sequential'),
    strata(BATCH_PARALLEL, 'parallel'),
    raw(BATCH_MGET, 'mget'),
    raw(BATCH_RAW_SEQUENTIAL, 'sequential'),
    {
      name: BATCH_CM,
      kind: 'peer',
      async init(ctx) {
        const cache = await cacheManager({
          memory: false,
          redisNamespace: ctx.prefix('cm').slice(0, -1),
        })
        await cache.mset(KEYS.map((key) => ({ key, value: ROW, ttl: TTL_MS })))
        return { run: () => cache.mget(KEYS), close: () => closeCacheManager(cache) }
      },
    },
  ],
}

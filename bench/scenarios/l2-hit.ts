/**
 * L2 hits with L1 off: every get is a Redis round trip plus decoding. Sequential (one caller
 * awaiting each get) and 100 concurrent (`Promise.all` of 100 gets, reported per get).
 */
import type { RedisOptions } from 'ioredis'
import { keys, REDIS_URL, ROW, TTL_MS } from '../fixtures.js'
import {
  bentocache,
  cacheManager,
  closeBento,
  closeCacheManager,
  closeStratacache,
  ioredis,
  stratacache,
} from '../peers.js'
import { type CandidateInstance, type CandidateSpec, cycle, type Scenario } from '../scenario.js'

const KEYS = keys(100)
const CONCURRENCY = 100

export const L2_RAW = 'ioredis GET + JSON.parse'
export const L2_STRATA = 'stratacache (local: false)'
export const L2_STRATA_PIPELINED = 'stratacache (local: false, auto-pipelining on)'
export const L2_BENTO = 'bentocache (L2 only)'
export const L2_CM = 'cache-manager + @keyv/redis'

type Getter = (key: string) => Promise<unknown>

/** Sequential: one get per call. Concurrent: 100 gets in one `Promise.all` per call. */
function runner(get: Getter, concurrent: boolean): CandidateInstance['run'] {
  if (!concurrent) {
    const next = cycle(KEYS)
    return () => get(next())
  }
  return async () => {
    const values = await Promise.all(KEYS.map(get))
    return values[0]
  }
}

function candidates(concurrent: boolean): CandidateSpec[] {
  const opsPerCall = concurrent ? CONCURRENCY : 1
  return [
    {
      name: L2_RAW,
      kind: 'baseline',
      opsPerCall,
      async init(ctx) {
        const redis = await ioredis()
        const prefix = ctx.prefix('raw')
        const json = JSON.stringify(ROW)
        await redis.mset(...KEYS.flatMap((key) => [prefix + key, json]))
        const get: Getter = async (key) => JSON.parse((await redis.get(prefix + key))!)
        return {
          run: runner(get, concurrent),
          read: () => get(KEYS[0]!),
          close: async () => {
            await redis.quit()
          },
        }
      },
    },
    strataCandidate(L2_STRATA, 'subject', concurrent, REDIS_URL),
    // Auto-pipelining trades a deferral of every command (about 50 µs here) for fewer socket
    // writes under concurrency; off by default (src/drivers/redis-client.ts), shown both ways.
    strataCandidate(L2_STRATA_PIPELINED, 'subject', concurrent, {
      ...redisOptionsOf(REDIS_URL),
      enableAutoPipelining: true,
    }),
    {
      name: L2_BENTO,
      kind: 'peer',
      opsPerCall,
      note: 'bentostore().useL2Layer(redisDriver) with no L1 layer',
      async init(ctx) {
        const bento = await bentocache({ memory: false, redisPrefix: ctx.prefix('bento') })
        for (const key of KEYS) await bento.set({ key, value: ROW })
        const get: Getter = (key) => bento.get({ key })
        return {
          run: runner(get, concurrent),
          read: () => get(KEYS[0]!),
          close: () => closeBento(bento),
        }
      },
    },
    {
      name: L2_CM,
      kind: 'peer',
      opsPerCall,
      async init(ctx) {
        const cache = await cacheManager({
          memory: false,
          redisNamespace: ctx.prefix('cm').slice(0, -1),
        })
        await cache.mset(KEYS.map((key) => ({ key, value: ROW, ttl: TTL_MS })))
        const get: Getter = (key) => cache.get(key)
        return {
          run: runner(get, concurrent),
          read: () => get(KEYS[0]!),
          close: () => closeCacheManager(cache),
        }
      },
    },
  ]
}

function strataCandidate(
  name: string,
  kind: CandidateSpec['kind'],
  concurrent: boolean,
  redis: string | RedisOptions,
): CandidateSpec {
  return {
    name,
    kind,
    opsPerCall: concurrent ? CONCURRENCY : 1,
    async init(ctx) {
      const cache = await stratacache({ redis, local: false, prefix: ctx.prefix(name) })
      await cache.setBatch(KEYS.map((key) => ({ key, value: ROW })))
      const get: Getter = (key) => cache.get(key)
      return {
        run: runner(get, concurrent),
        read: () => get(KEYS[0]!),
        close: () => closeStratacache(cache),
      }
    },
  }
}

/** ioredis options of a redis:// URL (host, port, db), to add options to. */
function redisOptionsOf(url: string): RedisOptions {
  const parsed = new URL(url)
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 6379),
    db: Number(parsed.pathname.slice(1) || 0),
  }
}

const NOTES = [
  'The raw baseline reads a JSON copy of the row: createdAt comes back as a string, while stratacache restores Dates.',
]

export const l2Get: Scenario = {
  id: 'l2-get',
  group: 'l2-hit',
  title: 'L2 hit: get with L1 off, sequential (one awaited get at a time, 100 keys)',
  unit: 'per get',
  ratioTo: [L2_RAW, L2_STRATA],
  expect: 'row',
  needsRedis: true,
  notes: NOTES,
  candidates: candidates(false),
}

export const l2GetConcurrent: Scenario = {
  id: 'l2-get-concurrent',
  group: 'l2-hit',
  title: 'L2 hit: get with L1 off, 100 concurrent (Promise.all of 100 gets, time per get)',
  unit: 'per get',
  ratioTo: [L2_RAW, L2_STRATA],
  expect: 'row',
  needsRedis: true,
  notes: NOTES,
  candidates: candidates(true),
}

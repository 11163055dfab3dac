/**
 * The cost of strict mode on an L1 hit: the same warm value read with `get`
 * from L1 in the default (eventual) mode, from L1 in strict mode (each hit checked against Redis
 * with one small GETRANGE of the entry's stamp), and from L2 with L1 off. One process, Redis on
 * loopback, bus on (the default with Redis).
 */
import { keys, REDIS_URL, ROW } from '../fixtures.js'
import { closeStratacache, ioredis, stratacache } from '../peers.js'
import { type CandidateSpec, cycle, type Scenario } from '../scenario.js'

const KEYS = keys(100)

export const STRICT_EVENTUAL = 'stratacache L1 hit (eventual, default)'
export const STRICT_STRICT = "stratacache L1 hit (consistency: 'strict')"
export const STRICT_L2 = 'stratacache L2 hit (local: false)'
export const STRICT_RTT = 'ioredis GETRANGE (one round trip)'

function strata(name: string, options: { strict: boolean; local: boolean }): CandidateSpec {
  return {
    name,
    kind: 'subject',
    async init(ctx) {
      const cache = await stratacache({
        redis: REDIS_URL,
        prefix: ctx.prefix(options.strict ? 'strict' : options.local ? 'eventual' : 'l2'),
        consistency: options.strict ? 'strict' : 'eventual',
        local: options.local,
      })
      for (const key of KEYS) await cache.set(key, ROW)
      const next = cycle(KEYS)
      return {
        run: () => cache.get(next()),
        read: () => cache.get(KEYS[0]!),
        facts: () => {
          const m = cache.getMetrics()
          return { l1Hits: m.l1Hits, l2Hits: m.l2Hits, misses: m.misses }
        },
        close: () => closeStratacache(cache),
      }
    },
  }
}

export const strictHit: Scenario = {
  id: 'strict-hit',
  group: 'strict-hit',
  title: 'Strict mode cost: get of a warm value from L1 (eventual, strict) and from L2 (L1 off)',
  unit: 'per get',
  ratioTo: [STRICT_EVENTUAL, STRICT_L2],
  expect: 'row',
  needsRedis: true,
  notes: [
    'Strict mode serves the L1 copy only after Redis confirms its write stamp (GETRANGE of a few bytes), so a hit costs one round trip but no transfer or decoding of the value.',
    'The GETRANGE baseline is that round trip alone (no value, no copy): the floor of a strict hit.',
  ],
  candidates: [
    strata(STRICT_EVENTUAL, { strict: false, local: true }),
    strata(STRICT_STRICT, { strict: true, local: true }),
    strata(STRICT_L2, { strict: false, local: false }),
    {
      name: STRICT_RTT,
      kind: 'baseline',
      note: 'returns the row from memory after the round trip, so that the runner can check it',
      async init(ctx) {
        const redis = await ioredis()
        const prefix = ctx.prefix('rtt')
        const json = JSON.stringify(ROW)
        await redis.mset(...KEYS.flatMap((key) => [prefix + key, json]))
        const next = cycle(KEYS)
        const get = async (key: string) => {
          await redis.getrange(prefix + key, 0, 15)
          return ROW
        }
        return {
          run: () => get(next()),
          close: async () => {
            await redis.quit()
          },
        }
      },
    },
  ],
}

/**
 * A worker process for cross-instance tests (started by `workers.ts` with `node --import tsx`):
 * it holds CacheManagers by name, runs the operations the parent asks for over IPC, reports what
 * happens inside (loader calls, "armed", "loading"...) as events, and waits on gates (barriers)
 * that only the parent opens. It exits when its IPC channel closes, i.e. when the parent dies.
 */
import { isDeepStrictEqual } from 'node:util'
import type { Redis } from 'ioredis'
import { CacheManager, type CacheOptions } from '../../src/index.js'
import { REDIS_URL, rawRedis } from './redis.js'
import { waitFor } from './wait.js'
import { emit, gate, label, now, startWorker } from './worker-runtime.js'

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

// Fault injection: a host whose wall clock is off by SC_TEST_CLOCK_SKEW_MS (timers are not).
const skewMs = Number(process.env.SC_TEST_CLOCK_SKEW_MS ?? 0)
if (skewMs !== 0) {
  const realNow = Date.now
  Date.now = () => realNow() + skewMs
}

// ---- caches ----

const caches = new Map<string, CacheManager>()
let raw: Redis | undefined

function cache(name: string): CacheManager {
  const found = caches.get(name)
  if (found === undefined) throw new Error(`no cache named ${name} in ${label}`)
  return found
}

type Tier = 'l1' | 'l2' | 'miss'

/** One `get`, and which tier answered it (from the metrics, which nothing else moves meanwhile). */
async function read(c: CacheManager, key: string): Promise<{ value: unknown; tier: Tier }> {
  const before = c.getMetrics()
  const value = await c.get(key)
  const after = c.getMetrics()
  const tier: Tier =
    after.l1Hits > before.l1Hits ? 'l1' : after.l2Hits > before.l2Hits ? 'l2' : 'miss'
  return { value, tier }
}

interface Args {
  name: string
  key: string
  [field: string]: unknown
}

const ops: Record<string, (args: Args) => Promise<unknown>> = {
  async open({ name, options }) {
    const c = new CacheManager({ redis: REDIS_URL, ...(options as CacheOptions) })
    caches.set(name, c)
    c.on('untrusted', ({ reason }) => emit('trust', { cache: name, trusted: false, reason }))
    c.on('trusted', ({ reason }) => emit('trust', { cache: name, trusted: true, reason }))
    // Until its bus is subscribed, a cache may miss other instances' invalidations: start after.
    await waitFor(() => c.getMetrics().busTrusted, { what: `${label}/${name} bus trusted` })
    return process.pid
  },

  async close({ name }) {
    await caches.get(name)?.close()
    caches.delete(name)
  },

  /**
   * Reports `armed`, waits for the gate, then fires `count` concurrent `getOrCompute` on `key` and
   * reports `fired` (with `loadGate`). The loader reports `loader`, waits for `loadGate` if one is
   * given (so that the parent can hold the load until every process has fired), sleeps `loaderMs`
   * and returns who loaded it.
   */
  async stampede({ name, key, count, loaderMs, gate: gateName, loadGate }) {
    const c = cache(name)
    const loader = async () => {
      emit('loader', { key, pid: process.pid })
      if (loadGate !== undefined) await gate(loadGate as string)
      await sleep(loaderMs as number)
      return { by: label, pid: process.pid }
    }
    emit('armed', { gate: gateName })
    await gate(gateName as string)
    const startedAt = now()
    const calls = Array.from({ length: count as number }, () => c.getOrCompute(key, loader))
    emit('fired', { gate: loadGate })
    const settled = await Promise.allSettled(calls)
    return {
      startedAt,
      finishedAt: now(),
      values: settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : [])),
      errors: settled.flatMap((s) => (s.status === 'rejected' ? [String(s.reason)] : [])),
      loaderCalls: c.getMetrics().loaderCalls,
    }
  },

  /**
   * `getOrCompute(key)` whose loader reads `sourceKey` (the "database", a raw Redis key), reports
   * `loader-read` with what it read, and returns it only once the parent opens `gate`.
   */
  async heldFill({ name, key, tags, sourceKey, gate: gateName }) {
    const c = cache(name)
    raw ??= rawRedis()
    const value = await c.getOrCompute(
      key,
      async () => {
        const read = await raw!.get(sourceKey as string)
        emit('loader-read', { gate: gateName, value: read })
        await gate(gateName as string)
        return read
      },
      { tags: tags as string[] },
    )
    return { value, metrics: c.getMetrics() }
  },

  async read({ name, key }) {
    return read(cache(name), key)
  },

  /** `n` reads in a row; the values and the tier that answered each. */
  async reads({ name, key, n }) {
    const c = cache(name)
    const out: { value: unknown; tier: Tier }[] = []
    for (let i = 0; i < (n as number); i++) out.push(await read(c, key))
    return out
  },

  /**
   * Reports `watching`, then reads `key` back to back (yielding to I/O between reads) until it is
   * no longer `stale` or `timeoutMs` passed. Resolves to when it changed and how many reads were
   * stale before.
   */
  async watch({ name, key, stale, timeoutMs, gate: id }) {
    const c = cache(name)
    const startedAt = now()
    const deadline = startedAt + (timeoutMs as number)
    let reads = 0
    let staleReads = 0
    const tiers: Record<Tier, number> = { l1: 0, l2: 0, miss: 0 }
    emit('watching', { gate: id })
    for (;;) {
      const { value, tier } = await read(c, key)
      const at = now()
      reads++
      tiers[tier]++
      if (!isDeepStrictEqual(value, stale)) {
        return { changed: true, changedAt: at, value, reads, staleReads, tiers }
      }
      staleReads++
      if (at > deadline) return { changed: false, reads, staleReads, tiers }
      await new Promise((resolve) => setImmediate(resolve))
    }
  },

  async set({ name, key, value, options }) {
    const startedAt = now()
    await cache(name).set(key, value, options as never)
    return { startedAt, doneAt: now() }
  },

  async delete({ name, key }) {
    const startedAt = now()
    await cache(name).delete(key)
    return { startedAt, doneAt: now() }
  },

  async invalidateByTag({ name, tag }) {
    const startedAt = now()
    await cache(name).invalidateByTag(tag as string)
    return { startedAt, doneAt: now() }
  },

  async invalidateByPattern({ name, pattern }) {
    const startedAt = now()
    await cache(name).invalidateByPattern(pattern as string)
    return { startedAt, doneAt: now() }
  },

  async clear({ name }) {
    const startedAt = now()
    await cache(name).clear()
    return { startedAt, doneAt: now() }
  },

  async metrics({ name }) {
    return cache(name).getMetrics()
  },

  async localStats({ name }) {
    return cache(name).getLocalCacheStats()
  },
}

startWorker(ops)

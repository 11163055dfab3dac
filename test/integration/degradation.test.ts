import { performance } from 'node:perf_hooks'
import { setImmediate as nextMacrotask } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { CacheManager, type CacheOptions } from '../../src/index.js'
import { uniquePrefix } from '../support/redis.js'
import { RedisServer } from '../support/redis-server.js'
import { measureStalls, waitFor } from '../support/wait.js'

// Redis down or slow never fails or stalls a call, at the CacheManager level, against a real redis-server of our own: killed with
// SIGKILL under load, and paused (alive but not answering) under load.

const COMMAND_TIMEOUT_MS = 100
const OPEN_MS = 200
/** How many L2 commands one call may wait on in turn (getOrCompute reads, loads, then writes). */
const COMMANDS_PER_CALL = 2
/** Ticks of the coarse timeout clock: a command times out 100-110 ms after it started. */
const TIMEOUT_TICKS = 10

/**
 * The longest a call may take if it never waits on Redis past its timeouts: each command it sends
 * in turn ends at its timeout (on a coarse clock), and each timeout fires late by as much as the
 * event loop was held up, which depends on the machine, not on the code: 100 loops hammer it, and
 * Vitest runs another test file beside this one. So the slack is measured, not guessed: the worst
 * event-loop delay seen during the run, once per command.
 */
function callBound(loopDelayMs: number): number {
  return COMMANDS_PER_CALL * (COMMAND_TIMEOUT_MS * (1 + 1 / TIMEOUT_TICKS) + loopDelayMs)
}

let server: RedisServer
const open: { close(): Promise<unknown> }[] = []

beforeAll(async () => {
  server = await RedisServer.start()
})
beforeEach(async () => {
  if (!server.running) await server.restart()
})
afterEach(async () => {
  for (const item of open.splice(0).reverse()) await item.close()
})
afterAll(async () => {
  await server.stop()
})

function cacheOn(prefix: string, extra: CacheOptions = {}): CacheManager {
  const cache = new CacheManager({
    redis: server.url,
    prefix,
    commandTimeout: COMMAND_TIMEOUT_MS,
    circuitBreaker: { failureThreshold: 2, openDuration: OPEN_MS },
    ...extra,
  })
  open.push(cache)
  return cache
}

function rawClient(): Redis {
  const raw = new Redis(server.url, { maxRetriesPerRequest: 0 })
  raw.on('error', () => {})
  open.push({ close: async () => raw.disconnect() })
  return raw
}

/** Counts the degradation events a cache emits, with the time of the last of each. */
function recordEvents(cache: CacheManager) {
  const events = { degraded: 0, recovered: 0, errors: 0, degradedAt: 0, recoveredAt: 0 }
  cache.on('degraded', () => {
    events.degraded++
    events.degradedAt = performance.now()
  })
  cache.on('recovered', () => {
    events.recovered++
    events.recoveredAt = performance.now()
  })
  cache.on('error', () => {
    events.errors++
  })
  return events
}

type Phase = 'before' | 'outage' | 'after'

/** What every key holds, whoever wrote or loaded it: any read can be checked against it. */
const expectedValue = (key: string) => ({ key, at: new Date(1_700_000_000_000), n: key.length })
const isExpectedValue = (key: string, value: unknown) =>
  (value as { key?: unknown } | undefined)?.key === key &&
  (value as { at?: unknown }).at instanceof Date

/**
 * 100 concurrent loops, each running one kind of call (get, set, getOrCompute with a loader,
 * getBatch, delete, invalidateByTag, increment) on a small key space, timing every call and
 * checking every value read. Calls are counted in the phase they started in.
 */
class Load {
  phase: Phase = 'before'
  readonly calls: Record<Phase, number> = { before: 0, outage: 0, after: 0 }
  readonly maxMs: Record<Phase, number> = { before: 0, outage: 0, after: 0 }
  readonly rejections: unknown[] = []
  readonly wrong: string[] = []
  #stopped = false
  readonly #loops: Promise<void>[]

  constructor(
    readonly cache: CacheManager,
    loops = 100,
  ) {
    this.#loops = Array.from({ length: loops }, (_, i) => this.#loop(i))
  }

  get maxOverall(): number {
    return Math.max(this.maxMs.before, this.maxMs.outage, this.maxMs.after)
  }

  async stop(): Promise<void> {
    this.#stopped = true
    await Promise.all(this.#loops)
  }

  async #loop(i: number): Promise<void> {
    while (!this.#stopped) {
      const phase = this.phase
      const started = performance.now()
      try {
        await this.#call(i, Math.floor(Math.random() * 20))
      } catch (error) {
        this.rejections.push(error)
      }
      this.maxMs[phase] = Math.max(this.maxMs[phase], performance.now() - started)
      this.calls[phase]++
      // While degraded every call resolves at once: let timers and I/O run between calls.
      await nextMacrotask()
    }
  }

  async #call(i: number, r: number): Promise<void> {
    const cache = this.cache
    const tag = `load-tag:${r % 4}`
    switch (i % 7) {
      case 0: {
        const key = r % 2 === 0 ? `set:${r}` : `goc:${r}`
        this.#check(key, await cache.get(key), false)
        break
      }
      case 1:
        await cache.set(`set:${r}`, expectedValue(`set:${r}`), { tags: [tag] })
        break
      case 2: {
        const key = `goc:${r}`
        this.#check(
          key,
          await cache.getOrCompute(key, async () => expectedValue(key), { tags: [tag] }),
          true,
        )
        break
      }
      case 3: {
        const keys = [`set:${r}`, `goc:${r}`, `set:${(r + 1) % 20}`]
        const values = await cache.getBatch(keys)
        for (let k = 0; k < keys.length; k++) this.#check(keys[k]!, values[k], false)
        break
      }
      case 4:
        await cache.delete(r % 2 === 0 ? `set:${r}` : `goc:${r}`)
        break
      case 5:
        await cache.invalidateByTag(tag)
        break
      default: {
        const count = await cache.increment(`count:${i}`)
        if (typeof count !== 'number') this.wrong.push(`count:${i} -> ${String(count)}`)
      }
    }
  }

  #check(key: string, value: unknown, required: boolean): void {
    if (value === undefined ? required : !isExpectedValue(key, value)) {
      this.wrong.push(`${key} -> ${JSON.stringify(value)}`)
    }
  }
}

/**
 * `cache` uses Redis again: a value it sets is in Redis and visible to a second instance, and it
 * reads a value the second instance set from Redis (an L2 hit: it was never in its L1).
 */
async function expectRedisInUse(cache: CacheManager, prefix: string): Promise<void> {
  const other = cacheOn(prefix)
  await cache.set('after:a', expectedValue('after:a'))
  expect(await other.get('after:a')).toEqual(expectedValue('after:a'))
  expect(other.getMetrics().l2Hits).toBe(1)
  await other.set('after:b', expectedValue('after:b'))
  const l2Hits = cache.getMetrics().l2Hits
  expect(await cache.get('after:b')).toEqual(expectedValue('after:b'))
  // Greater, not equal: the load may be running, and its reads count too.
  expect(cache.getMetrics().l2Hits).toBeGreaterThan(l2Hits)
  expect(await rawClient().exists(`${prefix}after:a`, `${prefix}after:b`)).toBe(2)
}

const ms = (n: number) => `${Math.round(n)} ms`

describe('degradation: Redis down or slow never fails or stalls a call', () => {
  it('kill -9 under load: calls stay bounded, reads fall back to L1 and the loader, deletes apply locally, Redis is used again after restart', async () => {
    const prefix = uniquePrefix('degradation-kill')
    const cache = cacheOn(prefix)
    const events = recordEvents(cache)
    await cache.set('ryw:deleted', expectedValue('ryw:deleted'))
    await cache.set('ryw:tagged', expectedValue('ryw:tagged'), { tags: ['ryw'] })
    await cache.set('kept', expectedValue('kept'))

    const loopDelay = measureStalls({ resolutionMs: 5 })
    const load = new Load(cache)
    await waitFor(() => load.calls.before > 2_000, { what: 'load' })

    load.phase = 'outage'
    const killedAt = performance.now()
    await server.kill()
    await waitFor(() => events.degraded > 0, { what: 'degraded' })
    expect(cache.getMetrics().degraded).toBe(true)

    // Writes still invalidate locally, at once (read-your-writes in this process).
    await cache.delete('ryw:deleted')
    await cache.invalidateByTag('ryw')
    expect(await cache.get('ryw:deleted')).toBeUndefined()
    expect(await cache.get('ryw:tagged')).toBeUndefined()
    // The invalidation bus died with Redis: L1 may now miss other instances' invalidations, so
    // what it held was dropped (guarantee 4); reads fall back to the loader...
    await waitFor(() => !cache.getMetrics().busTrusted, { what: 'the bus to lose trust' })
    expect(await cache.get('kept')).toBeUndefined()
    expect(await cache.getOrCompute('kept', async () => expectedValue('kept'))).toEqual(
      expectedValue('kept'),
    )
    expect(await cache.getOrCompute('fresh', async () => expectedValue('fresh'))).toEqual(
      expectedValue('fresh'),
    )
    // ...and to L1 for what it took since, for a short while (untrustedLocalTtl, 1 s).
    expect(await cache.get('kept')).toEqual(expectedValue('kept'))

    // An outage several open periods long, so that probes meet the dead server and fail.
    const atDegraded = cache.getMetrics()
    await waitFor(
      () => performance.now() - events.degradedAt > 3 * OPEN_MS && load.calls.outage > 1_000,
      { what: 'a long outage under load' },
    )
    const duringOutage = cache.getMetrics()
    expect(duringOutage.l1Hits).toBeGreaterThan(atDegraded.l1Hits)
    expect(duringOutage.loaderCalls).toBeGreaterThan(atDegraded.loaderCalls)
    expect(duringOutage.l2Hits).toBe(atDegraded.l2Hits)
    expect(events.recovered).toBe(0)

    await server.restart()
    const restartedAt = performance.now()
    // ioredis reconnects with a backoff capped at 2 s; the next probe follows within OPEN_MS. The
    // load keeps writing and invalidating meanwhile: the replay must still end (it once chased a
    // queue refilled as fast as it drained, and never recovered).
    await waitFor(() => events.recovered > 0, { what: 'recovered', timeoutMs: 8_000 })
    load.phase = 'after'
    const atRecovery = cache.getMetrics()
    expect(atRecovery.degraded).toBe(false)
    await expectRedisInUse(cache, prefix)
    await waitFor(() => load.calls.after > 2_000, { what: 'load after recovery' })
    await load.stop()

    expect(load.rejections).toEqual([])
    expect(load.wrong).toEqual([])
    await loopDelay.stop()
    // A call that waited on the dead server (ioredis' offline queue, its reconnect backoff) would
    // take seconds.
    const bound = callBound(loopDelay.maxMs())
    expect(load.maxOverall).toBeLessThan(bound)
    expect(events.degraded).toBe(1)
    expect(events.recovered).toBe(1)
    expect(events.errors).toBeGreaterThan(0)

    console.info(
      `kill -9: degraded ${ms(events.degradedAt - killedAt)} after the kill; ` +
        `${load.calls.outage} calls during the outage (max ${ms(load.maxMs.outage)}), ` +
        `max call ${ms(load.maxOverall)} over ${load.calls.before + load.calls.outage + load.calls.after} calls ` +
        `(before ${ms(load.maxMs.before)}, after ${ms(load.maxMs.after)}; bound ${ms(bound)}); ` +
        `recovered ${ms(events.recoveredAt - restartedAt)} after the restart`,
    )
  })

  it('Redis paused (slow, not dead) under load: calls end at the timeout, invalidations made meanwhile apply locally at once and are replayed into Redis', async () => {
    const prefix = uniquePrefix('degradation-pause')
    // A heartbeat longer than the pause: the bus stays trusted, so L1 keeps serving what it has.
    const cache = cacheOn(prefix, { bus: { heartbeat: '5s' } })
    const events = recordEvents(cache)
    const raw = rawClient()
    await cache.set('victim', expectedValue('victim'))
    await cache.set('tagged', expectedValue('tagged'), { tags: ['victims'] })
    await cache.set('kept', expectedValue('kept'))
    expect(await raw.exists(`${prefix}victim`, `${prefix}tagged`, `${prefix}kept`)).toBe(3)

    const loopDelay = measureStalls({ resolutionMs: 5 })
    const load = new Load(cache)
    await waitFor(() => load.calls.before > 2_000, { what: 'load' })

    // CLIENT PAUSE ALL: the server accepts and reads commands but answers none until the pause
    // ends (it cannot be lifted early: CLIENT UNPAUSE is paused too). Long enough for several
    // failed probes, short of ioredis' 5 s socket timeout, so the connection stays up throughout.
    const pauseMs = 1_500
    const pausedBy = performance.now()
    await raw.call('CLIENT', 'PAUSE', String(pauseMs), 'ALL')
    load.phase = 'outage'
    await waitFor(() => events.degraded > 0, { what: 'degraded' })
    expect(cache.getMetrics().degraded).toBe(true)

    await cache.delete('victim')
    await cache.invalidateByTag('victims')
    expect(await cache.get('victim')).toBeUndefined()
    expect(await cache.get('tagged')).toBeUndefined()
    expect(await cache.get('kept')).toEqual(expectedValue('kept'))
    // All of that happened while Redis was still paused, so none of it reached Redis yet.
    expect(performance.now()).toBeLessThan(pausedBy + pauseMs)
    expect(events.recovered).toBe(0)

    await waitFor(() => events.recovered > 0, { what: 'recovered', timeoutMs: 8_000 })
    load.phase = 'after'
    const atRecovery = cache.getMetrics()
    // The invalidations were replayed before L2 was used again: the stale copies are gone.
    expect(await raw.exists(`${prefix}victim`, `${prefix}tagged`)).toBe(0)
    expect(await raw.exists(`${prefix}kept`)).toBe(1)
    await expectRedisInUse(cache, prefix)
    await waitFor(() => load.calls.after > 2_000, { what: 'load after recovery' })
    await load.stop()

    expect(load.rejections).toEqual([])
    expect(load.wrong).toEqual([])
    await loopDelay.stop()
    const bound = callBound(loopDelay.maxMs())
    // A call that waited for Redis to answer would take up to the whole pause: the bound can only
    // tell the two apart while it is shorter.
    expect(bound, 'the event loop was held up too long to tell').toBeLessThan(pauseMs)
    expect(load.maxOverall).toBeLessThan(bound)
    // Slow, not refused: the calls in flight ended by timing out.
    expect(atRecovery.l2Timeouts).toBeGreaterThan(0)
    expect(events.degraded).toBe(1)
    expect(events.recovered).toBe(1)
    // Another instance does not see the invalidated entries either.
    const other = cacheOn(prefix)
    expect(await other.get('victim')).toBeUndefined()
    expect(await other.get('tagged')).toBeUndefined()
    expect(await other.get('kept')).toEqual(expectedValue('kept'))

    console.info(
      `pause: degraded ${ms(events.degradedAt - pausedBy)} into the pause; ` +
        `${load.calls.outage} calls while degraded (max ${ms(load.maxMs.outage)}), ` +
        `${atRecovery.l2Timeouts} timeouts; max call ${ms(load.maxOverall)} ` +
        `(before ${ms(load.maxMs.before)}, after ${ms(load.maxMs.after)}; bound ${ms(bound)}); ` +
        `recovered ${ms(events.recoveredAt - (pausedBy + pauseMs))} after the pause ended`,
    )
  })
})

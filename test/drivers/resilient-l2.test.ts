import { performance } from 'node:perf_hooks'
import { setImmediate as nextMacrotask } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import type { L2Driver, L2WriteItem } from '../../src/drivers/l2-driver.js'
import { RedisDriver } from '../../src/drivers/redis-driver.js'
import { ResilientL2, type ResilientL2Options } from '../../src/drivers/resilient-l2.js'
import { ErrorCodes, invalid, type L2Error } from '../../src/errors.js'
import { REDIS_URL, uniquePrefix } from '../support/redis.js'
import { RedisServer } from '../support/redis-server.js'
import { settlesWithoutWaiting } from '../support/settles.js'
import { measureStalls, waitFor } from '../support/wait.js'

type Mode = 'ok' | 'hang' | 'fail' | 'throw'
type Method = Exclude<keyof L2Driver, 'name'>

/** An in-memory driver whose every method can be told to answer, hang, reject or throw. */
class FakeDriver implements L2Driver {
  readonly name = 'fake'
  mode: Mode = 'ok'
  readonly modes: Partial<Record<Method, Mode>> = {}
  readonly log: string[] = []
  readonly data = new Map<string, Buffer>()
  readonly sets = new Map<string, Set<string>>()
  readonly counters = new Map<string, number>()
  /** Resolvers of hung calls, to answer them late. */
  readonly hung: ((value: unknown) => void)[] = []

  #run<T>(method: Method, entry: string, answer: () => T): Promise<T> {
    this.log.push(entry)
    // close() answers unless told otherwise, so that tests do not wait for its bound.
    const mode = this.modes[method] ?? (method === 'close' ? 'ok' : this.mode)
    if (mode === 'hang') return new Promise<T>((resolve) => this.hung.push(resolve as never))
    if (mode === 'fail') return Promise.reject(new Error(`${method} failed`))
    if (mode === 'throw') throw new Error(`${method} threw`)
    return Promise.resolve(answer())
  }

  get(key: string) {
    return this.#run('get', `get:${key}`, () => this.data.get(key))
  }
  getMany(keys: readonly string[]) {
    return this.#run('getMany', `getMany:${keys}`, () => keys.map((k) => this.data.get(k)))
  }
  set(key: string, value: Buffer, _ttlMs: number, _tags: readonly string[]) {
    return this.#run('set', `set:${key}`, () => {
      this.data.set(key, value)
    })
  }
  setMany(items: readonly L2WriteItem[]) {
    return this.#run('setMany', `setMany:${items.map((i) => i.key)}`, () => {
      for (const item of items) this.data.set(item.key, item.value)
    })
  }
  delete(keys: readonly string[]) {
    return this.#run('delete', `delete:${[...keys].sort()}`, () => {
      let n = 0
      for (const key of keys) if (this.data.delete(key)) n++
      return n
    })
  }
  deleteByTags(tags: readonly string[]) {
    return this.#run('deleteByTags', `deleteByTags:${[...tags].sort()}`, () => 0)
  }
  deleteByPattern(pattern: string | RegExp) {
    return this.#run('deleteByPattern', `deleteByPattern:${String(pattern)}`, () => 0)
  }
  increment(key: string, by: number, _ttlMs: number) {
    return this.#run('increment', `increment:${key}`, () => {
      const value = (this.counters.get(key) ?? 0) + by
      this.counters.set(key, value)
      return value
    })
  }
  addToSet(key: string, members: readonly string[], _ttlMs: number) {
    return this.#run('addToSet', `addToSet:${key}`, () => {
      const set = this.sets.get(key) ?? new Set<string>()
      this.sets.set(key, set)
      const before = set.size
      for (const m of members) set.add(m)
      return set.size - before
    })
  }
  getSet(key: string) {
    return this.#run('getSet', `getSet:${key}`, () => [...(this.sets.get(key) ?? [])])
  }
  clear() {
    return this.#run('clear', 'clear', () => {
      this.data.clear()
    })
  }
  ping() {
    return this.#run('ping', 'ping', () => undefined)
  }
  close() {
    return this.#run('close', 'close', () => undefined)
  }
}

const opened: ResilientL2[] = []
afterEach(async () => {
  for (const l2 of opened.splice(0)) await l2.close()
})

/** A ResilientL2 over `driver` that records its hooks' calls. */
function wrap(driver: L2Driver, options: ResilientL2Options = {}) {
  const events: string[] = []
  const errors: L2Error[] = []
  const l2 = new ResilientL2(
    driver,
    {
      commandTimeoutMs: 50,
      breaker: { failureThreshold: 3, openMs: 40, maxOpenMs: 40 },
      maxPendingInvalidations: 100,
      ...options,
    },
    {
      onError: (error) => errors.push(error),
      onDegraded: (reason) => events.push(`degraded: ${reason}`),
      onRecovered: () => events.push('recovered'),
    },
  )
  opened.push(l2)
  return { l2, events, errors }
}

/** Runs `fn`, returning its result and how long it took in ms. */
async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now()
  const result = await fn()
  return [result, performance.now() - started]
}

const buf = (s: string) => Buffer.from(s)
const item = (key: string): L2WriteItem => ({ key, value: buf(key), ttlMs: 1000, tags: [] })

/** Every public call with the value it must resolve to when L2 cannot answer. */
const FALLBACKS: [string, (l2: ResilientL2) => Promise<unknown>, unknown][] = [
  ['get', (l2) => l2.get('a'), undefined],
  ['getMany', (l2) => l2.getMany(['a', 'b']), [undefined, undefined]],
  ['getSet', (l2) => l2.getSet('s'), undefined],
  ['increment', (l2) => l2.increment('n', 1, 1000), undefined],
  ['addToSet', (l2) => l2.addToSet('s', ['x'], 1000), undefined],
  ['ping', (l2) => l2.ping(), false],
  ['set', (l2) => l2.set('a', buf('1'), 1000, []), false],
  ['setMany', (l2) => l2.setMany([item('a')]), false],
  ['delete', (l2) => l2.delete(['a']), 0],
  ['deleteByTags', (l2) => l2.deleteByTags(['t']), 0],
  ['deleteByPattern', (l2) => l2.deleteByPattern('a*'), 0],
  ['clear', (l2) => l2.clear(), false],
]

describe('ResilientL2 with a fake driver', () => {
  it('passes answers through while healthy', async () => {
    const driver = new FakeDriver()
    const { l2, events, errors } = wrap(driver)
    expect(await l2.set('a', buf('1'), 1000, ['t'])).toBe(true)
    expect((await l2.get('a'))?.toString()).toBe('1')
    expect((await l2.getMany(['a', 'b'])).map((b) => b?.toString())).toEqual(['1', undefined])
    expect(await l2.setMany([item('b')])).toBe(true)
    expect(await l2.increment('n', 2, 1000)).toBe(2)
    expect(await l2.addToSet('s', ['x', 'y'], 1000)).toBe(2)
    expect(await l2.getSet('s')).toEqual(['x', 'y'])
    expect(await l2.ping()).toBe(true)
    expect(await l2.delete(['a', 'b', 'c'])).toBe(2)
    expect(await l2.deleteByTags(['t'])).toBe(0)
    expect(await l2.deleteByPattern(/x/)).toBe(0)
    expect(await l2.clear()).toBe(true)
    expect(await l2.delete([])).toBe(0)
    expect(await l2.setMany([])).toBe(true)
    expect(l2.available).toBe(true)
    expect(events).toEqual([])
    expect(errors).toEqual([])
  })

  it('fault injected: every call to a driver that never answers resolves within the timeout', async () => {
    const driver = new FakeDriver()
    driver.mode = 'hang'
    const { l2, errors } = wrap(driver, {
      commandTimeoutMs: 60,
      scanTimeoutMs: 90,
      breaker: { failureThreshold: 1000, openMs: 1000 },
    })
    const stalls = measureStalls()
    const results = await Promise.all(
      FALLBACKS.map(async ([name, call, fallback]) => {
        const [value, ms] = await timed(() => call(l2))
        return { name, value, fallback, ms }
      }),
    )
    await stalls.stop()
    for (const r of results) {
      // SCAN-based invalidations have their own, longer bound.
      const bound = r.name === 'deleteByPattern' || r.name === 'clear' ? 90 : 60
      expect(r.value, r.name).toEqual(r.fallback)
      expect(r.ms, r.name).toBeGreaterThanOrEqual(bound - 5)
      // A loaded machine runs the timeout late by up to the longest stall of this event loop.
      expect(r.ms, r.name).toBeLessThan(bound + 100 + stalls.maxMs())
    }
    expect(errors).toHaveLength(FALLBACKS.length)
    expect(errors.every((e) => e.code === ErrorCodes.L2_TIMEOUT)).toBe(true)
    expect(errors.map((e) => e.operation).sort()).toEqual(FALLBACKS.map(([n]) => n).sort())
    expect(l2.counters.timeouts).toBe(FALLBACKS.length)

    // A late answer after the timeout changes nothing (the caller already has its fallback).
    for (const resolve of driver.hung) resolve(buf('late'))
    await nextMacrotask()
    expect(l2.counters.errors).toBe(FALLBACKS.length)
  })

  it('fault injected: a rejecting or throwing driver resolves to fallbacks with ERR_L2_UNAVAILABLE', async () => {
    for (const mode of ['fail', 'throw'] as const) {
      for (const [name, call, fallback] of FALLBACKS) {
        const driver = new FakeDriver()
        driver.mode = mode
        const { l2, errors } = wrap(driver, { breaker: { failureThreshold: 1000, openMs: 1000 } })
        expect(await call(l2), `${mode} ${name}`).toEqual(fallback)
        expect(errors.map((e) => [e.code, e.operation])).toEqual([
          [ErrorCodes.L2_UNAVAILABLE, name],
        ])
        expect(errors[0]!.cause).toBeInstanceOf(Error)
      }
    }
  })

  it('opens after failureThreshold failed reads, then sends nothing', async () => {
    const driver = new FakeDriver()
    driver.mode = 'fail'
    const { l2, events } = wrap(driver, { breaker: { failureThreshold: 3, openMs: 10_000 } })
    await l2.get('a')
    await l2.get('a')
    expect(l2.available).toBe(true)
    await l2.get('a')
    expect(l2.available).toBe(false)
    expect(l2.state).toBe('open')
    expect(events).toEqual(['degraded: L2 unavailable: redis get: get failed'])
    const sent = driver.log.length
    // Answered at once: before any timer or I/O callback could run (however loaded the machine).
    const answer = l2.get('a')
    expect(await settlesWithoutWaiting(answer)).toBe(true)
    expect(await answer).toBeUndefined()
    expect(await l2.increment('n', 1, 1000)).toBeUndefined()
    expect(driver.log.length).toBe(sent)
    expect(l2.counters.skipped).toBe(2)
  })

  it('a failed invalidation opens the circuit at once and is replayed before recovery', async () => {
    const driver = new FakeDriver()
    driver.modes.delete = 'fail'
    driver.modes.ping = 'fail'
    const { l2, events } = wrap(driver)
    expect(await l2.delete(['a'])).toBe(0)
    expect(l2.available).toBe(false)
    expect(l2.pendingInvalidations).toBe(1)
    expect(events).toHaveLength(1)

    // While open: invalidations and writes are not sent but remembered.
    expect(await l2.deleteByTags(['t1', 't2'])).toBe(0)
    expect(await l2.deleteByPattern('user:*')).toBe(0)
    expect(await l2.set('b', buf('1'), 1000, [])).toBe(false)
    expect(await l2.setMany([item('c'), item('a')])).toBe(false)
    expect(l2.pendingInvalidations).toBe(3 + 2 + 1)

    // Probes run in the background (no traffic needed) and fail while ping fails.
    await waitFor(() => driver.log.filter((e) => e === 'ping').length >= 2, { what: 'probes' })
    expect(l2.available).toBe(false)

    let logAtRecovery: string[] = []
    const recovered = new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (events.includes('recovered')) {
          clearInterval(check)
          resolve()
        }
      }, 2)
    })
    driver.modes.delete = 'ok'
    driver.modes.ping = 'ok'
    const before = driver.log.length
    await recovered
    logAtRecovery = driver.log.slice(before)
    expect(logAtRecovery).toEqual([
      'ping',
      'delete:a,b,c',
      'deleteByTags:t1,t2',
      'deleteByPattern:user:*',
    ])
    expect(l2.pendingInvalidations).toBe(0)
    expect(l2.available).toBe(true)
    expect(events).toHaveLength(2)
    expect(l2.counters.replayed).toBe(3)
    expect(await l2.set('d', buf('1'), 1000, [])).toBe(true)
  })

  it('does not recover while a replayed invalidation fails, and keeps it queued', async () => {
    const driver = new FakeDriver()
    driver.modes.deleteByTags = 'fail'
    const { l2, events, errors } = wrap(driver)
    await l2.deleteByTags(['t'])
    await waitFor(() => driver.log.filter((e) => e === 'deleteByTags:t').length >= 3, {
      what: 'replays',
    })
    expect(l2.available).toBe(false)
    expect(l2.pendingInvalidations).toBe(1)
    expect(events).toHaveLength(1)
    expect(errors.length).toBeGreaterThanOrEqual(3)
    driver.modes.deleteByTags = 'ok'
    await waitFor(() => l2.available, { what: 'recovery' })
    expect(events.at(-1)).toBe('recovered')
    expect(l2.pendingInvalidations).toBe(0)
  })

  it('collapses into a single clear() when pending invalidations overflow', async () => {
    const driver = new FakeDriver()
    driver.mode = 'fail'
    const { l2, events } = wrap(driver, { maxPendingInvalidations: 5 })
    await l2.delete(['k0'])
    for (let i = 1; i < 5; i++) await l2.delete([`k${i}`])
    expect(l2.pendingInvalidations).toBe(5)
    await l2.deleteByTags(['overflow'])
    expect(l2.pendingInvalidations).toBe(1) // the clear
    expect(l2.counters.collapsed).toBe(1)
    await l2.delete(['absorbed'])
    expect(l2.pendingInvalidations).toBe(1)

    const before = driver.log.length
    driver.mode = 'ok'
    await waitFor(() => l2.available, { what: 'recovery' })
    expect(driver.log.slice(before)).toEqual(['ping', 'clear'])
    expect(events.at(-1)).toBe('recovered')
  })

  it('gives SCAN-based invalidations scanTimeoutMs rather than commandTimeoutMs', async () => {
    const driver = new FakeDriver()
    driver.deleteByPattern = () => new Promise((resolve) => setTimeout(resolve, 120, 7))
    driver.get = () => new Promise(() => {}) // never answers: only the timeout can
    const { l2, errors } = wrap(driver, {
      commandTimeoutMs: 50,
      scanTimeoutMs: 1_000,
      breaker: { failureThreshold: 10, openMs: 1000 },
    })
    const [[removed], [value, getMs]] = await Promise.all([
      timed(() => l2.deleteByPattern('big:*')),
      timed(() => l2.get('k')),
    ])
    expect(removed).toBe(7) // answered after 120 ms: past commandTimeoutMs, within scanTimeoutMs
    expect(value).toBeUndefined()
    expect(getMs).toBeLessThan(1_000) // bounded by commandTimeoutMs, not scanTimeoutMs
    expect(errors.map((e) => e.operation)).toEqual(['get'])
    expect(l2.available).toBe(true)
  })

  it('a timed-out write is treated as not applied', async () => {
    const driver = new FakeDriver()
    driver.modes.set = 'hang'
    const { l2, errors } = wrap(driver)
    expect(await l2.set('k', buf('v'), 1000, [])).toBe(false)
    expect(errors[0]!.code).toBe(ErrorCodes.L2_TIMEOUT)
    expect(l2.available).toBe(false)
    expect(l2.pendingInvalidations).toBe(1)
    await waitFor(() => l2.available, { what: 'recovery' })
    expect(driver.log).toContain('delete:k')
  })

  it('a bad argument (driver ValidationError) is reported but does not open the circuit', async () => {
    const driver = new FakeDriver()
    driver.get = () => Promise.reject(invalid('key', 'reserved'))
    driver.set = () => Promise.reject(invalid('key', 'reserved'))
    const { l2, errors } = wrap(driver, { breaker: { failureThreshold: 1, openMs: 1000 } })
    expect(await l2.get('__sc:x')).toBeUndefined()
    expect(await l2.set('__sc:x', buf('v'), 1000, [])).toBe(false)
    expect(l2.available).toBe(true)
    expect(l2.pendingInvalidations).toBe(0)
    expect(errors).toHaveLength(2)
  })

  it('close() stops probing, is bounded when the driver hangs, and later calls fall back', async () => {
    const driver = new FakeDriver()
    driver.mode = 'fail'
    const { l2 } = wrap(driver, { commandTimeoutMs: 50 })
    await l2.delete(['x'])
    expect(l2.available).toBe(false)
    driver.mode = 'hang'
    driver.modes.close = 'hang'
    const stalls = measureStalls()
    const [, ms] = await timed(() => l2.close())
    await stalls.stop()
    // One bound to try the pending invalidation, one to close the driver (1 s here); each of the
    // two timers may run late by up to the longest stall of this event loop.
    expect(ms).toBeLessThan(l2.closeTimeoutMs + 1_000 + 200 + 2 * stalls.maxMs())
    const sent = driver.log.length
    // No probe after close. A witness opened now, with the same probe interval, shows when l2
    // would have probed again: by its third probe, l2 would have sent at least one.
    const witness = new FakeDriver()
    witness.mode = 'fail'
    await wrap(witness, { commandTimeoutMs: 50 }).l2.delete(['x'])
    await waitFor(() => witness.log.filter((e) => e === 'ping').length >= 3, {
      what: 'three probes of the witness',
    })
    expect(driver.log.length).toBe(sent)
    expect(await l2.get('a')).toBeUndefined()
    expect(await l2.set('a', buf('1'), 1000, [])).toBe(false)
    expect(l2.available).toBe(false)
  })

  it('validates its options', () => {
    const driver = new FakeDriver()
    expect(() => new ResilientL2(driver, { commandTimeoutMs: 0 })).toThrow(/commandTimeoutMs/)
    expect(() => new ResilientL2(driver, { maxPendingInvalidations: 1.5 })).toThrow(
      /maxPendingInvalidations/,
    )
    expect(() => new ResilientL2(driver, { breaker: { failureThreshold: -1 } })).toThrow(
      /failureThreshold/,
    )
    expect(() => new ResilientL2({} as never)).toThrow(/driver/)
  })
})

/** A fake driver whose server watch the test fires, declaring `needsRecentChanges` or not. */
class WatchedDriver extends FakeDriver {
  change: ((reason: string, lost: 'recent' | 'any') => void) | undefined
  constructor(readonly needsRecentChanges: boolean) {
    super()
  }
  watchServer(onChange: (reason: string, lost: 'recent' | 'any') => void) {
    this.change = onChange
    return () => {
      this.change = undefined
    }
  }
}

describe('ResilientL2 after a server change', () => {
  it('redoes recent changes only for a driver that declares it needs them; clears otherwise', async () => {
    for (const needs of [true, false]) {
      const driver = new WatchedDriver(needs)
      const { l2, events } = wrap(driver)
      expect(l2.recordsRecentChanges).toBe(needs)
      await l2.set('a', buf('1'), 1000, [])
      await l2.setMany([item('b')])
      await l2.deleteByTags(['t'])
      driver.change!('the server is another one', 'recent')
      expect(l2.available).toBe(false)
      expect(events[0]).toContain('the server is another one')
      // Recorded: keys a, b and tag t are redone. Not recorded: the only repair is a clear.
      expect(l2.pendingInvalidations).toBe(needs ? 3 : 1)
      driver.log.length = 0
      await waitFor(() => l2.available, { what: 'the redo replayed' })
      expect(driver.log).toEqual(
        needs ? ['ping', 'delete:a,b', 'deleteByTags:t'] : ['ping', 'clear'],
      )
    }
  })

  it('a standalone RedisDriver records nothing (its server change clears the prefix)', async () => {
    const driver = new RedisDriver({ url: REDIS_URL, prefix: uniquePrefix('recent') })
    expect(driver.needsRecentChanges).toBe(false)
    // Connected first, and a generous timeout: this test is about what is recorded, not timing,
    // and a cold connection on a loaded machine can take longer than the 50 ms the fakes use.
    await driver.ping()
    const { l2 } = wrap(driver, { commandTimeoutMs: 5000 })
    expect(l2.recordsRecentChanges).toBe(false)
    expect(await l2.set('a', buf('1'), 1000, [])).toBe(true)
  })
})

describe('ResilientL2 over a real redis-server', () => {
  it('survives kill -9 under load, replays invalidations on restart and uses Redis again', async () => {
    const server = await RedisServer.start()
    const prefix = uniquePrefix('resilient')
    const driver = new RedisDriver({ url: server.url, prefix })
    // Connected before timing starts: a cold first connection can exceed the 150 ms budget.
    await driver.ping()
    // Pass-through driver that logs invalidations and can hold recovery back (ping fails while
    // `holdRecovery`), so the test can plant stale data on the restarted server first.
    const log: string[] = []
    let holdRecovery = false
    const observed: L2Driver = {
      name: 'observed',
      get: (key) => driver.get(key),
      getMany: (keys) => driver.getMany(keys),
      set: (key, value, ttlMs, tags) => driver.set(key, value, ttlMs, tags),
      setMany: (items) => driver.setMany(items),
      delete: (keys) => {
        log.push(`delete:${[...keys].sort()}`)
        return driver.delete(keys)
      },
      deleteByTags: (tags) => {
        log.push(`deleteByTags:${tags}`)
        return driver.deleteByTags(tags)
      },
      deleteByPattern: (pattern) => driver.deleteByPattern(pattern),
      increment: (key, by, ttlMs) => driver.increment(key, by, ttlMs),
      addToSet: (key, members, ttlMs) => driver.addToSet(key, members, ttlMs),
      getSet: (key) => driver.getSet(key),
      clear: () => driver.clear(),
      ping: () => (holdRecovery ? Promise.reject(new Error('held')) : driver.ping()),
      close: () => driver.close(),
    }
    const timeoutMs = 150
    const events: string[] = []
    let logAtRecovery: string[] = []
    let calls = 0
    let callsAtRecovery = 0
    let skippedAtRecovery = 0
    const l2: ResilientL2 = new ResilientL2(
      observed,
      {
        commandTimeoutMs: timeoutMs,
        breaker: { failureThreshold: 3, openMs: 100, maxOpenMs: 200 },
        maxPendingInvalidations: 10_000,
      },
      {
        onDegraded: () => events.push('degraded'),
        onRecovered: () => {
          events.push('recovered')
          logAtRecovery = [...log]
          callsAtRecovery = calls
          skippedAtRecovery = l2.counters.skipped
        },
      },
    )
    opened.push(l2)
    const raw = new Redis(server.url, { maxRetriesPerRequest: 0, lazyConnect: true })
    raw.on('error', () => {})

    try {
      expect(await l2.set('seed', buf('s'), 10_000, [])).toBe(true)

      // 200 concurrent loops of gets and sets, timing every call.
      let stop = false
      let rejections = 0
      let slowest = 0
      const loop = async (i: number) => {
        const key = `load:${i % 50}`
        while (!stop) {
          const started = performance.now()
          try {
            if (i % 2 === 0) await l2.get(key)
            else await l2.set(key, buf(String(i)), 10_000, ['load'])
          } catch {
            rejections++
          }
          slowest = Math.max(slowest, performance.now() - started)
          calls++
          await nextMacrotask() // while degraded every call resolves at once: let timers run
        }
      }
      const loops = Array.from({ length: 200 }, (_, i) => loop(i))
      // A call can take no longer than its timeout plus the longest stall of this process's event
      // loop (a loaded machine delays the timer that ends it): measured, not guessed.
      const stalls = measureStalls()
      await waitFor(() => calls > 2_000, { what: 'load' })

      await server.kill()
      await waitFor(() => events.includes('degraded'), { what: 'degraded' })
      holdRecovery = true
      expect(l2.available).toBe(false)

      // While down: invalidations and a write are remembered.
      expect(await l2.delete(['victim'])).toBe(0)
      expect(await l2.deleteByTags(['vt'])).toBe(0)
      expect(await l2.set('written-while-down', buf('new'), 10_000, [])).toBe(false)
      expect(l2.pendingInvalidations).toBeGreaterThanOrEqual(3)

      await server.restart()
      // The restarted server is empty (no persistence): plant the stale data the replay must remove.
      await raw.connect()
      await raw.set(`${prefix}victim`, 'stale', 'PX', 60_000)
      await raw.set(`${prefix}written-while-down`, 'old', 'PX', 60_000)
      const planter = new RedisDriver({ client: raw, prefix })
      await planter.set('tagged', buf('stale'), 60_000, ['vt'])
      expect(events).toEqual(['degraded'])

      holdRecovery = false
      await waitFor(() => events.includes('recovered'), { what: 'recovered', timeoutMs: 5_000 })
      await waitFor(() => calls > callsAtRecovery + 2_000, { what: 'load after recovery' })
      stop = true
      await Promise.all(loops)

      expect(rejections).toBe(0)
      await stalls.stop()
      expect(slowest).toBeLessThan(timeoutMs + 150 + stalls.maxMs())
      expect(events).toEqual(['degraded', 'recovered'])
      expect(l2.counters.skipped).toBe(skippedAtRecovery) // every call since went to Redis
      // Replayed before onRecovered, and applied.
      expect(logAtRecovery).toEqual(expect.arrayContaining(['deleteByTags:vt']))
      expect(logAtRecovery.some((e) => e.startsWith('delete:') && e.includes('victim'))).toBe(true)
      expect(
        await raw.exists(`${prefix}victim`, `${prefix}tagged`, `${prefix}written-while-down`),
      ).toBe(0)

      // And Redis is in use again.
      expect(l2.available).toBe(true)
      expect(await l2.set('after', buf('ok'), 10_000, ['t'])).toBe(true)
      expect(await raw.get(`${prefix}after`)).toBe('ok')
      expect((await l2.get('after'))?.toString()).toBe('ok')
    } finally {
      await l2.close()
      raw.disconnect()
      await server.stop()
    }
  })

  it('bounds calls while Redis is busy (a long script), then recovers', async () => {
    const server = await RedisServer.start()
    const prefix = uniquePrefix('resilient-busy')
    const events: string[] = []
    const driver = new RedisDriver({ url: server.url, prefix })
    await driver.ping() // connected before timing starts
    const l2 = new ResilientL2(
      driver,
      { commandTimeoutMs: 100, breaker: { failureThreshold: 3, openMs: 100, maxOpenMs: 100 } },
      { onDegraded: () => events.push('degraded'), onRecovered: () => events.push('recovered') },
    )
    opened.push(l2)
    const raw = new Redis(server.url)
    try {
      expect(await l2.set('k', buf('v'), 10_000, [])).toBe(true)
      // Keeps the server busy for ~600 ms: every command sent meanwhile waits.
      const busy = raw.eval(
        "local t = redis.call('TIME'); local stop = t[1] * 1e6 + t[2] + 600000; " +
          "repeat t = redis.call('TIME') until t[1] * 1e6 + t[2] >= stop; return 1",
        0,
      )
      await new Promise((resolve) => setTimeout(resolve, 20))
      const stalls = measureStalls()
      const results = await Promise.all(Array.from({ length: 20 }, () => timed(() => l2.get('k'))))
      await stalls.stop()
      for (const [value, ms] of results) {
        expect(value).toBeUndefined()
        // Well short of the ~600 ms the server is busy, unless this event loop stalled that long.
        expect(ms).toBeLessThan(100 + 100 + stalls.maxMs())
      }
      expect(l2.counters.timeouts).toBe(20)
      expect(events).toEqual(['degraded'])
      await busy
      await waitFor(() => l2.available, { what: 'recovery' })
      expect((await l2.get('k'))?.toString()).toBe('v')
      expect(events).toEqual(['degraded', 'recovered'])
    } finally {
      await l2.close()
      raw.disconnect()
      await server.stop()
    }
  })
})

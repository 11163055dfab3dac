/**
 * Cross-instance guarantees with real processes on one real Redis (guarantees 2, 3, 4 and 8 of
 * docs/GUARANTEES.md):
 *
 * - one loader per key across four processes released together by a barrier, and again with the
 *   lease holder SIGKILLed mid-load (guarantee 8);
 * - the fill race across two processes, ordered by IPC barriers: a loader that read "old" stores
 *   nothing once another process wrote or invalidated (guarantee 2);
 * - the bus: another process stops serving an invalidated L1 entry within a measured time; without
 *   the bus it does not; in strict mode without the bus it never serves it (guarantee 3);
 * - trust: a subscription killed behind an instance's back flushes its L1 (guarantee 4).
 *
 * Each worker process (`support/cache-worker.ts`) has its own CacheManagers and L1. Times are
 * measured and printed in one summary line.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { CacheManager, type CacheMetricsSnapshot, type CacheOptions } from '../../src/index.js'
import { deleteKeysUnder, REDIS_URL, rawRedis, uniquePrefix } from '../support/redis.js'
import { RedisServer } from '../support/redis-server.js'
import { waitFor } from '../support/wait.js'
import { barrier, killAll, now, spawnWorkers, type Worker } from '../support/workers.js'

const raw = rawRedis()
const measured: Record<string, string> = {}
/** Caches opened in this process, closed after each test. */
const local: CacheManager[] = []
/** Prefixes used, removed from Redis at the end. */
const prefixes: string[] = []

function prefixFor(name: string): string {
  const prefix = uniquePrefix(`xi-${name}`)
  prefixes.push(prefix)
  return prefix
}

function localCache(options: CacheOptions): CacheManager {
  const cache = new CacheManager({ redis: REDIS_URL, ...options })
  local.push(cache)
  return cache
}

afterEach(async () => {
  for (const cache of local.splice(0)) await cache.close()
})

afterAll(async () => {
  await killAll()
  for (const prefix of prefixes) await deleteKeysUnder(raw, prefix)
  raw.disconnect()
  const line = Object.entries(measured)
    .map(([what, value]) => `${what}: ${value}`)
    .join('; ')
  if (line) console.info(`[cross-instance] measured: ${line}`)
})

const ms = (value: number) => `${value.toFixed(1)} ms`

interface StampedeResult {
  startedAt: number
  finishedAt: number
  values: unknown[]
  errors: string[]
  loaderCalls: number
}

interface Read {
  value: unknown
  tier: 'l1' | 'l2' | 'miss'
}

interface Timed {
  startedAt: number
  doneAt: number
}

// ---------------------------------------------------------------------------------------------

describe('one loader per key across processes (guarantee 8)', () => {
  let workers: Worker[]
  beforeEach(async () => {
    workers = await spawnWorkers(4, 'stampede')
  })
  afterEach(async () => {
    await killAll()
  })

  async function openAll(options: CacheOptions): Promise<void> {
    await Promise.all(workers.map((w) => w.call('open', { name: 'c', options })))
  }

  /**
   * 4 processes x 200 concurrent getOrCompute on one cold key. The load is held until all four
   * processes have fired their 200 calls: all 800 callers overlap with it, so none can be served
   * by a value already in place.
   */
  async function stampedeOnColdKey(options: CacheOptions) {
    await openAll(options)
    const runs = workers.map((w) =>
      w.call<StampedeResult>('stampede', {
        name: 'c',
        key: 'cold',
        count: 200,
        loaderMs: 100,
        gate: 'go',
        loadGate: 'load',
      }),
    )
    const releasedAt = await barrier(workers, 'armed', 'go')
    const loadReleasedAt = await barrier(workers, 'fired', 'load')
    const results = await Promise.all(runs)
    // Every process fired before the load could end (it ends after loadReleasedAt + loaderMs).
    for (const result of results) expect(result.startedAt).toBeLessThan(loadReleasedAt)
    const loaderEvents = workers.flatMap((w) => w.events.filter((e) => e.name === 'loader'))
    return { results, loaderEvents, releasedAt }
  }

  it('4 processes x 200 concurrent getOrCompute on one cold key: one loader call in all 800', async () => {
    const { results, loaderEvents, releasedAt } = await stampedeOnColdKey({
      prefix: prefixFor('stampede'),
    })
    expect(loaderEvents).toHaveLength(1)
    expect(results.reduce((sum, r) => sum + r.loaderCalls, 0)).toBe(1)
    const holder = loaderEvents[0]!.worker
    for (const result of results) {
      expect(result.errors).toEqual([])
      expect(result.values).toHaveLength(200)
      for (const value of result.values)
        expect(value).toEqual({ by: holder.label, pid: holder.pid })
    }
    const spread = Math.max(...results.map((r) => r.startedAt)) - releasedAt
    const total = Math.max(...results.map((r) => r.finishedAt)) - releasedAt
    measured['stampede 4x200'] =
      `loader calls 1/800, all started within ${ms(spread)} of the release, all done in ${ms(total)}`
  })

  it('control: with lease: false the same stampede loads more than once', async () => {
    // Only the lease stops the other processes from loading: without it, each loads for itself.
    const { results, loaderEvents } = await stampedeOnColdKey({
      prefix: prefixFor('stampede-no-lease'),
      lease: false,
    })
    expect(loaderEvents.length).toBeGreaterThan(1)
    expect(results.reduce((sum, r) => sum + r.loaderCalls, 0)).toBe(loaderEvents.length)
    for (const result of results) expect(result.errors).toEqual([])
    measured['stampede 4x200, lease: false'] = `loader calls ${loaderEvents.length}/800`
  })

  it('the lease holder SIGKILLed mid-load: the 3 others all get a value, one more loader call, within lease + margin', async () => {
    const prefix = prefixFor('stampede-kill')
    const leaseMs = 1000
    await openAll({ prefix, lease: '1s' })
    const runs = workers.map((w) =>
      w
        .call<StampedeResult>('stampede', {
          name: 'c',
          key: 'cold',
          count: 200,
          loaderMs: 100,
          gate: 'go',
        })
        .then(
          (result) => ({ worker: w, result, error: undefined }),
          (error: unknown) => ({ worker: w, result: undefined, error }),
        ),
    )
    // The first loader call comes from the lease holder: kill it while it is loading.
    let holder: Worker | undefined
    let killedAt = 0
    const killed = new Promise<void>((resolve) => {
      for (const w of workers) {
        w.onEvent((event) => {
          if (event.name !== 'loader' || holder !== undefined) return
          holder = w
          w.child.kill('SIGKILL')
          killedAt = now()
          resolve()
        })
      }
    })
    const releasedAt = await barrier(workers, 'armed', 'go')
    await killed
    const outcomes = await Promise.all(runs)
    await holder!.exited

    const dead = outcomes.find((o) => o.worker === holder)!
    expect(dead.error).toBeInstanceOf(Error)
    expect(String(dead.error)).toMatch(/exited \(SIGKILL\)/)
    const survivors = outcomes.filter((o) => o.worker !== holder)
    expect(survivors).toHaveLength(3)
    // Exactly one more loader call, among the survivors, seen both by IPC and by their metrics.
    const survivorLoads = survivors.flatMap((o) =>
      o.worker.events.filter((e) => e.name === 'loader'),
    )
    expect(survivorLoads).toHaveLength(1)
    expect(holder!.count('loader')).toBe(1)
    expect(survivors.reduce((sum, o) => sum + o.result!.loaderCalls, 0)).toBe(1)
    const second = survivorLoads[0]!.worker
    for (const { result } of survivors) {
      expect(result!.errors).toEqual([])
      expect(result!.values).toHaveLength(200)
      for (const value of result!.values)
        expect(value).toEqual({ by: second.label, pid: second.pid })
    }
    const total = Math.max(...survivors.map((o) => o.result!.finishedAt)) - releasedAt
    const secondLoadAt = survivorLoads[0]!.at - releasedAt
    // The others wait out the dead holder's lease (1 s), then one loads (100 ms).
    expect(total).toBeGreaterThan(leaseMs)
    expect(total).toBeLessThan(3000)
    measured['stampede, holder killed'] =
      `killed ${ms(killedAt - releasedAt)} after release, second loader call at ${ms(secondLoadAt)}, ` +
      `600/600 survivors' callers served at ${ms(total)} (lease 1 s), loader calls 1 + 1`
  })
})

// ---------------------------------------------------------------------------------------------

describe('fill race across processes (guarantee 2)', () => {
  let a: Worker
  let b: Worker
  beforeAll(async () => {
    ;[a, b] = (await spawnWorkers(2, 'fill')) as [Worker, Worker]
  })
  afterAll(async () => {
    await killAll()
  })

  const OLD = 'old-value-7f3a'
  const NEW = 'new-value-9c1d'
  const writes = ['set', 'delete', 'invalidateByTag'] as const
  // With A's bus on, B's invalidation reaches A before its loader returns (A's own fence refuses);
  // with it off, only the Redis versions fence the store.
  const cases = writes.flatMap((write) =>
    (['bus on', 'bus off'] as const).map((busOnA) => [write, busOnA] as const),
  )

  it.each(cases)(
    'B %s while A loads "old" (A: %s): nobody ever reads "old" afterwards',
    async (write, busOnA) => {
      const prefix = prefixFor(`fill-${write}`)
      const sourceKey = `${uniquePrefix('xi-source')}row`
      prefixes.push(sourceKey)
      const name = `fill-${randomBytes(4).toString('hex')}`
      const key = 'user:1'
      const tag = 'users'
      await raw.set(sourceKey, OLD)
      await a.call('open', { name, options: { prefix, bus: busOnA === 'bus on' } })
      await b.call('open', { name, options: { prefix } })

      // A misses and its loader reads "old" from the source, then waits on the parent's gate.
      const gate = `${name}-loader`
      const fill = a.call<{ value: unknown; metrics: CacheMetricsSnapshot }>('heldFill', {
        name,
        key,
        tags: [tag],
        sourceKey,
        gate,
      })
      const loaderRead = await a.nextEvent(
        'loader-read',
        (e) => (e.data as { gate: string }).gate === gate,
      )
      expect((loaderRead.data as { value: string }).value).toBe(OLD)

      // B writes the source, then the cache.
      const receivedBefore = (await a.call<CacheMetricsSnapshot>('metrics', { name })).busReceived
      await raw.set(sourceKey, NEW)
      if (write === 'set') await b.call('set', { name, key, value: NEW })
      else if (write === 'delete') await b.call('delete', { name, key })
      else await b.call('invalidateByTag', { name, tag })
      if (busOnA === 'bus on') {
        await waitFor(
          async () =>
            (await a.call<CacheMetricsSnapshot>('metrics', { name })).busReceived > receivedBefore,
          { what: "B's invalidation to reach A", timeoutMs: 2000 },
        )
      }

      // Now A's loader returns "old": its caller gets what it read, the cache keeps none of it.
      a.release(gate)
      const filled = await fill
      expect(filled.value).toBe(OLD)
      expect(filled.metrics.loaderCalls).toBe(1)
      // Its store goes on after its caller got the value: Redis refuses it (or A's fence did).
      await waitFor(
        async () => (await a.call<CacheMetricsSnapshot>('metrics', { name })).fencedFills === 1,
        { what: "A's fill to be fenced" },
      )

      const expected = write === 'set' ? NEW : undefined
      const fresh = localCache({ prefix, bus: false })
      for (let round = 0; round < 3; round++) {
        const fromA = await a.call<Read>('read', { name, key })
        const fromB = await b.call<Read>('read', { name, key })
        expect(fromA.value).toBe(expected)
        expect(fromB.value).toBe(expected)
        expect(await fresh.get(key)).toBe(expected)
        const stored = await raw.getBuffer(prefix + key)
        if (expected === undefined) expect(stored).toBeNull()
        else {
          expect(stored!.includes(NEW)).toBe(true)
          expect(stored!.includes(OLD)).toBe(false)
        }
      }
      // A's next getOrCompute gets the new value (cached by B's set, or loaded again).
      const again = `${name}-again`
      a.release(again)
      const next = await a.call<{ value: unknown; metrics: CacheMetricsSnapshot }>('heldFill', {
        name,
        key,
        tags: [tag],
        sourceKey,
        gate: again,
      })
      expect(next.value).toBe(NEW)
      expect(next.metrics.fencedFills).toBe(1)
      expect(await b.call<Read>('read', { name, key })).toMatchObject({ value: NEW })
      measured[`fill race ${write} (${busOnA})`] = `fencedFills 1, "old" read back 0 times`

      await a.call('close', { name })
      await b.call('close', { name })
    },
  )
})

// ---------------------------------------------------------------------------------------------

describe('the bus across processes (guarantee 3)', () => {
  let a: Worker
  let b: Worker
  beforeAll(async () => {
    ;[a, b] = (await spawnWorkers(2, 'bus')) as [Worker, Worker]
  })
  afterAll(async () => {
    await killAll()
    if (delays.length === 0) return
    delays.sort((x, y) => x - y)
    measured['bus propagation, A write resolved -> B not stale'] =
      `${delays.map((d) => d.toFixed(1)).join(' / ')} ms (max ${ms(delays.at(-1)!)})`
  })

  const OLD = 'old-value-31b0'
  const NEW = 'new-value-c44e'
  const key = 'item:1'
  const tag = 'items'
  const writes = ['delete', 'set', 'invalidateByTag', 'invalidateByPattern', 'clear'] as const
  type Write = (typeof writes)[number]

  /** The invalidation A makes, and what the key holds after it. */
  function writeOn(w: Worker, name: string, write: Write): Promise<Timed> {
    switch (write) {
      case 'delete':
        return w.call<Timed>('delete', { name, key })
      case 'set':
        return w.call<Timed>('set', { name, key, value: NEW, options: { tags: [tag] } })
      case 'invalidateByTag':
        return w.call<Timed>('invalidateByTag', { name, tag })
      case 'invalidateByPattern':
        return w.call<Timed>('invalidateByPattern', { name, pattern: 'item:*' })
      case 'clear':
        return w.call<Timed>('clear', { name })
    }
  }
  const valueAfter = (write: Write) => (write === 'set' ? NEW : undefined)

  /** Opens A (default options) and B (`optionsB`), A stores the key, both hold it in L1. */
  async function setup(label: string, optionsB: CacheOptions): Promise<string> {
    const prefix = prefixFor(label)
    const name = `${label}-${randomBytes(4).toString('hex')}`
    await a.call('open', { name, options: { prefix } })
    await b.call('open', { name, options: { prefix, ...optionsB } })
    await a.call('set', { name, key, value: OLD, options: { tags: [tag] } })
    for (const w of [a, b]) {
      await w.call<Read>('read', { name, key })
      const second = await w.call<Read>('read', { name, key })
      // Held in L1: the second read is an L1 hit.
      expect(second).toEqual({ value: OLD, tier: 'l1' })
    }
    return name
  }

  async function teardown(name: string): Promise<void> {
    await a.call('close', { name })
    await b.call('close', { name })
  }

  const delays: number[] = []

  it.each(writes)('A %s: B stops serving the old value within 1 s (measured)', async (write) => {
    const name = await setup(`bus-${write}`, {})
    const watchId = `${name}-watch`
    const watch = b.call<{
      changed: boolean
      changedAt: number
      value: unknown
      reads: number
      staleReads: number
    }>('watch', { name, key, stale: OLD, timeoutMs: 1000, gate: watchId })
    await b.nextEvent('watching', (e) => (e.data as { gate: string }).gate === watchId)
    const done = await writeOn(a, name, write)
    const seen = await watch
    expect(seen.changed).toBe(true)
    expect(seen.value).toBe(valueAfter(write))
    const fromStart = seen.changedAt - done.startedAt
    const fromDone = seen.changedAt - done.doneAt
    expect(fromStart).toBeLessThan(1000)
    delays.push(fromDone)
    measured[`bus ${write}`] =
      `B fresh ${ms(fromStart)} after A's call began, ${ms(fromDone)} after it resolved ` +
      `(A's call took ${ms(done.doneAt - done.startedAt)}; ${seen.staleReads} stale reads of ${seen.reads} while waiting)`
    await teardown(name)
  })

  it.each(writes)('bus: false on B, A %s: B keeps serving its stale L1 copy', async (write) => {
    const name = await setup(`nobus-${write}`, { bus: false })
    // A witness with the bus, holding the key in L1 too: it shows the invalidation went out.
    const prefix = prefixes.at(-1)!
    const witness = localCache({ prefix })
    await waitFor(() => witness.getMetrics().busTrusted, { what: 'witness bus trusted' })
    expect(await witness.get(key)).toBe(OLD)
    expect(await witness.get(key)).toBe(OLD)
    expect(witness.getMetrics().l1Hits).toBe(1)

    await writeOn(a, name, write)
    await waitFor(async () => (await witness.get(key)) !== OLD, {
      what: 'the witness to drop the old value',
      timeoutMs: 1000,
      intervalMs: 1,
    })
    const reads = await b.call<Read[]>('reads', { name, key, n: 50 })
    expect(reads.every((r) => r.value === OLD && r.tier === 'l1')).toBe(true)
    measured[`no bus ${write}`] =
      `B stale ${reads.length}/${reads.length} reads after the witness saw it`
    await teardown(name)
  })

  it.each(writes)(
    'strict + bus: false on B, A %s: zero stale reads in 200 right after',
    async (write) => {
      const name = await setup(`strict-${write}`, { bus: false, consistency: 'strict' })
      await writeOn(a, name, write)
      const reads = await b.call<Read[]>('reads', { name, key, n: 200 })
      const stale = reads.filter((r) => r.value === OLD).length
      expect(stale).toBe(0)
      for (const r of reads) expect(r.value).toBe(valueAfter(write))
      if (write === 'set') {
        // The new value is read from L2 once, then confirmed L1 hits.
        expect(reads[0]!.tier).toBe('l2')
        expect(reads.slice(1).every((r) => r.tier === 'l1')).toBe(true)
      }
      measured[`strict no bus ${write}`] = `stale 0/200`
      await teardown(name)
    },
  )
})

// ---------------------------------------------------------------------------------------------

describe('trust loss (guarantee 4)', () => {
  let server: RedisServer | undefined
  afterEach(async () => {
    for (const cache of local.splice(0)) await cache.close()
    await server?.stop()
    server = undefined
  })

  /** Ids of bus subscriber connections on `server` (named `stratacache-bus-<instance>`). */
  async function busClients(admin: typeof raw): Promise<string[]> {
    const list = (await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string
    return list
      .split('\n')
      .filter((line) => /name=stratacache-bus-/.test(line))
      .map((line) => /(?:^|\s)id=(\d+)/.exec(line)![1]!)
  }

  it("B's subscription killed behind its back: untrusted with L1 flushed, then trusted again", async () => {
    server = await RedisServer.start()
    const { Redis } = await import('ioredis')
    const admin = new Redis(server.url, { maxRetriesPerRequest: 1 })
    try {
      const options = { redis: server.url, prefix: 'trust:', bus: { heartbeat: '100ms' } }
      const a = localCache(options)
      await waitFor(() => a.getMetrics().busTrusted, { what: 'A trusted' })
      const before = await busClients(admin)
      const b = localCache(options)
      await waitFor(() => b.getMetrics().busTrusted, { what: 'B trusted' })
      const bSubscriber = (await busClients(admin)).filter((id) => !before.includes(id))
      expect(bSubscriber).toHaveLength(1)

      await a.set('k', 'v')
      await a.set('k2', 'v2')
      expect(await b.get('k')).toBe('v')
      expect(await b.get('k2')).toBe('v2')
      expect(await b.get('k')).toBe('v')
      expect(b.getMetrics().l1Hits).toBe(1)
      expect(b.getLocalCacheStats().entries).toBe(2)

      const events: { trusted: boolean; at: number; entries: number; reason: string }[] = []
      const record = (trusted: boolean) => (e: { reason: string }) =>
        events.push({
          trusted,
          at: now(),
          entries: b.getLocalCacheStats().entries,
          reason: e.reason,
        })
      b.on('untrusted', record(false))
      b.on('trusted', record(true))
      let aLost = 0
      a.on('untrusted', () => aLost++)

      const killedAt = now()
      expect(await admin.call('CLIENT', 'KILL', 'ID', bSubscriber[0]!)).toBe(1)
      await waitFor(() => events.length >= 1, { what: "B's untrusted event", intervalMs: 1 })
      expect(events[0]!.trusted).toBe(false)
      expect(events[0]!.entries).toBe(0)
      expect(b.getMetrics().busTrusted).toBe(false)
      expect(b.getMetrics().busTrustLost).toBe(1)
      // The next read comes from L2, not from the flushed L1.
      const l1Before = b.getMetrics().l1Hits
      const l2Before = b.getMetrics().l2Hits
      expect(await b.get('k')).toBe('v')
      expect(b.getMetrics().l1Hits).toBe(l1Before)
      expect(b.getMetrics().l2Hits).toBe(l2Before + 1)

      await waitFor(() => events.length >= 2, { what: "B's trusted event", timeoutMs: 5000 })
      expect(events[1]!.trusted).toBe(true)
      // Trust back: what L1 took while untrusted is dropped too.
      expect(events[1]!.entries).toBe(0)
      expect(b.getMetrics().busTrusted).toBe(true)
      // A's subscription was not touched.
      expect(aLost).toBe(0)
      // And the bus works again: A's delete reaches B's L1.
      expect(await b.get('k')).toBe('v')
      expect(await b.get('k')).toBe('v')
      await a.delete('k')
      await waitFor(async () => (await b.get('k')) === undefined, {
        what: 'B to see the delete after trust came back',
        timeoutMs: 1000,
        intervalMs: 1,
      })
      measured['trust loss'] =
        `untrusted ${ms(events[0]!.at - killedAt)} after CLIENT KILL (L1 entries 0), ` +
        `trusted again ${ms(events[1]!.at - killedAt)} after (heartbeat 100 ms)`
    } finally {
      admin.disconnect()
    }
  })
})

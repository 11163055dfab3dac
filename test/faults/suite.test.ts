/**
 * The fault suite: the consistency checker (worker processes, each its own cache, reading and
 * writing records held in PostgreSQL, every read checked against acknowledged writes) runs while
 * one fault is injected, in eventual and strict mode, and asserts what must hold:
 *
 * - no call fails because of Redis;
 * - strict mode: no stale read, ever (a write waits, bounded, for Redis to take its invalidation:
 *   these faults last less than that bound);
 * - eventual mode: stale reads no later than the bound documented for the fault, and no stale
 *   entry once the system is quiet.
 *
 * Redis is a server of the suite's own (it is paused, killed and restarted); worker 0 reaches it
 * through a TCP proxy (latency, cuts, resets on that instance's link only). The short form runs
 * in `npm test`; `FAULTS=long npm test -- test/faults/suite` runs every fault, longer.
 */
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { Packr } from 'msgpackr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  DEFAULT_LOAD,
  type Instances,
  type LoadOptions,
  type ModeReport,
  modes,
  runMode,
} from '../support/consistency/checker.js'
import { recordKey, type WorkerConfig } from '../support/consistency/protocol.js'
import { PostgresServer } from '../support/postgres-server.js'
import { deleteKeysUnder, uniquePrefix } from '../support/redis.js'
import { RedisServer } from '../support/redis-server.js'
import { TcpProxy } from '../support/tcp-proxy.js'

const LONG = process.env.FAULTS === 'long'
const PROCESSES = 3
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

let server: RedisServer
let proxy: TcpProxy
let admin: Redis
let database: PostgresServer | undefined

/** Where a fault acts: the load's length, the mode's Redis prefix, the worker processes. */
interface FaultContext {
  loadMs: number
  prefix: string
  instances: Instances
}

interface Fault {
  name: string
  /** Lateness of a stale read (p99.9) allowed in eventual mode under this fault, ms. */
  boundMs: number
  inject(context: FaultContext): Promise<void>
  /** What else must hold under this fault (that it took effect, say). */
  check?(report: ModeReport): void
  /** What differs for worker `index` under this fault (worker 0 always reaches Redis by the proxy). */
  configFor?(index: number): Partial<WorkerConfig>
  /** Calls may fail with these errors only (PostgreSQL down, say); none may fail otherwise. */
  allowedFailures?: RegExp
  /** Strict mode's zero stale reads does not hold (it is bounded like eventual mode's). */
  strictMayBeStale?: boolean
  /** It restarts PostgreSQL: the load runs on a server of the suite's own. */
  ownDatabase?: boolean
  short: boolean
}

const FAULTS: Fault[] = [
  { name: 'none', boundMs: 250, short: true, inject: async () => {} },
  {
    name: 'latency spike of 300 ms on one instance',
    boundMs: 1_000,
    short: true,
    async inject({ loadMs }) {
      await sleep(loadMs / 3)
      proxy.delayMs = 300
      await sleep(600)
      proxy.delayMs = 0
    },
  },
  {
    name: 'one instance cut from Redis for 1 s',
    boundMs: 2_500,
    short: true,
    async inject({ loadMs }) {
      await sleep(loadMs / 3)
      proxy.partition()
      await sleep(1_000)
      proxy.heal()
    },
  },
  {
    name: "one instance's connections reset, twice",
    boundMs: 2_500,
    short: false,
    async inject({ loadMs }) {
      await sleep(loadMs / 3)
      proxy.cutAll()
      await sleep(loadMs / 3)
      proxy.cutAll()
    },
  },
  {
    name: 'Redis paused 300 ms (CLIENT PAUSE ALL)',
    boundMs: 1_000,
    short: false,
    async inject({ loadMs }) {
      await sleep(loadMs / 3)
      await admin.call('CLIENT', 'PAUSE', '300', 'ALL')
    },
  },
  {
    name: 'combined: one instance cut while Redis restarts, then its link slow',
    boundMs: 2_500,
    short: false,
    async inject({ loadMs }) {
      await sleep(loadMs / 4)
      proxy.partition()
      await server.kill()
      await sleep(300)
      await server.restart()
      await sleep(300)
      proxy.heal()
      proxy.delayMs = 300
      await sleep(500)
      proxy.delayMs = 0
    },
  },
  {
    name: 'hostile values written under the cache keys',
    boundMs: 250,
    short: false,
    check(report) {
      // They were read (as corrupted values: misses and errors), not just written.
      expect(report.workers.reduce((sum, w) => sum + w.metrics.errors, 0)).toBeGreaterThan(0)
    },
    async inject({ loadMs, prefix }) {
      await sleep(loadMs / 3)
      const until = performance.now() + loadMs / 3
      for (let i = 0; performance.now() < until; i++) {
        const key = `${prefix}${recordKey(1 + (i % DEFAULT_LOAD.records))}`
        await admin.set(key, HOSTILE[i % HOSTILE.length]!, 'PX', 60_000)
        await sleep(5)
      }
    },
  },
  {
    name: 'Redis killed and restarted (its data lost)',
    boundMs: 2_500,
    short: true,
    async inject({ loadMs }) {
      await sleep(loadMs / 3)
      await server.kill()
      await sleep(500)
      await server.restart()
    },
  },
  {
    name: 'clocks skewed: one instance 10 min ahead, one 10 min behind',
    boundMs: 250,
    short: false,
    configFor: (index) => ({ clockSkewMs: [0, 600_000, -600_000][index % 3] }),
    inject: async () => {},
  },
  {
    name: 'one instance SIGKILLed mid-fill, then restarted',
    boundMs: 250,
    short: true,
    // The victim only reads: killed mid-fill, it holds leases and half-done fills, never a write
    // committed but not yet invalidated (that takes the change feed, docs/GUARANTEES.md).
    configFor: (index) => (index === VICTIM ? { writers: 0, loaderDelayMs: [20, 40] } : {}),
    check(report) {
      expect(report.workers.map((w) => w.index)).toContain(PROCESSES) // the restarted one ran
    },
    async inject({ loadMs, instances }) {
      await sleep(loadMs / 3)
      await instances.kill(VICTIM)
      await sleep(200)
      await instances.restart(VICTIM)
    },
  },
  {
    name: 'Redis under maxmemory, evicting (allkeys-random), working set larger than memory',
    // Evictions are seen within a second; until then an evicted tag set or version key can let
    // an entry outlive its invalidation, in strict mode too. Then the cache drops its entries.
    boundMs: 1_500,
    strictMayBeStale: true,
    short: false,
    check(report) {
      expect(evictedDuringRun).toBeGreaterThan(0)
      // Seen, and said: the cache went out of L2 while it dropped its entries.
      expect(report.workers.reduce((sum, w) => sum + w.degradations, 0)).toBeGreaterThan(0)
    },
    async inject({ loadMs }) {
      await sleep(loadMs / 4)
      const before = await evictedKeys()
      const used = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1])
      await admin.config('SET', 'maxmemory', String(used + 4 * 1024 * 1024))
      await admin.config('SET', 'maxmemory-policy', 'allkeys-random')
      const filler = randomBytes(4096)
      const until = performance.now() + loadMs / 2
      try {
        for (let batch = 0; performance.now() < until; batch++) {
          const pipeline = admin.pipeline()
          for (let i = 0; i < 64; i++) pipeline.set(`filler:${batch}:${i}`, filler)
          await pipeline.exec()
          await sleep(5)
        }
      } finally {
        await admin.config('SET', 'maxmemory-policy', 'noeviction')
        await admin.config('SET', 'maxmemory', '0')
        evictedDuringRun = (await evictedKeys()) - before
        await deleteKeysUnder(admin, 'filler:')
      }
    },
  },
  {
    name: 'PostgreSQL restarted under load',
    boundMs: 250,
    short: false,
    ownDatabase: true,
    allowedFailures:
      /terminating connection|Connection terminated|ECONNREFUSED|ECONNRESET|database system is (shutting down|starting up)|Client has encountered a connection error/,
    async inject({ loadMs }) {
      await sleep(loadMs / 3)
      await database!.stop()
      await sleep(300)
      await database!.start()
    },
  },
]

/** The worker SIGKILLed under the kill fault (not 0, which is behind the proxy). */
const VICTIM = 2
let evictedDuringRun = 0

async function evictedKeys(): Promise<number> {
  return Number(/evicted_keys:(\d+)/.exec(await admin.info('stats'))![1])
}

/** What another client could leave under a cache key: garbage, truncation, lies, references. */
const HOSTILE: Buffer[] = (() => {
  const cyclic: Record<string, unknown> = { id: 1 }
  cyclic.self = cyclic
  const header = Buffer.from([0xc1, 0x20, 1, 2, 3, 4, 0, 0, 0, 1])
  const references = new Packr({ moreTypes: true, useRecords: false, structuredClone: true })
  return [
    randomBytes(64),
    Buffer.from('{"id":1,"version":999999}'),
    Buffer.concat([header, references.pack([cyclic, 1e15, [], 0])]),
    Buffer.concat([
      Buffer.from([0xc1, 0x21, 1, 2, 3, 4, 0, 0, 0, 1]),
      Buffer.from([0xff, 0xff, 0xff, 0xff]),
      randomBytes(32),
    ]),
    Buffer.concat([header, Buffer.from([0x94, 0xdd, 0xff, 0xff, 0xff, 0xff])]),
    header.subarray(0, 6),
  ]
})()

const rows: string[][] = []

beforeAll(async () => {
  server = await RedisServer.start()
  proxy = await TcpProxy.start(server.port)
  admin = new Redis(server.url, { maxRetriesPerRequest: 1 })
  admin.on('error', () => {})
})

afterAll(async () => {
  admin?.disconnect()
  await proxy?.close()
  await server?.kill()
  await database?.destroy()
  const header = [
    'fault',
    'mode',
    'reads',
    'stale reads',
    'lateness p99.9 / max ms',
    'failed calls',
    'recovered (ms after the load)',
    'stale once quiet',
    'loop delay max ms (instances without bursts)',
  ]
  console.info(`[faults]\n${[header, ...rows].map((row) => row.join(' | ')).join('\n')}`)
})

const chosen = FAULTS.filter((fault) => LONG || fault.short)
const load: Omit<LoadOptions, 'prefix' | 'redisUrl'> = {
  ...DEFAULT_LOAD,
  durationMs: LONG ? 8_000 : 2_500,
  records: 8,
  readers: 4,
  writers: 2,
}

describe.each(chosen)('under fault: $name', (fault) => {
  it.each(['eventual', 'strict'] as const)('%s mode keeps its guarantee', async (id) => {
    const mode = modes(PROCESSES).find((m) => m.id === id)!
    if (fault.ownDatabase) database ??= await PostgresServer.start()
    const report: ModeReport = await runMode(
      mode,
      {
        ...load,
        prefix: uniquePrefix('faults'),
        redisUrl: server.url,
        ...(fault.ownDatabase ? { pgUrl: database!.url() } : {}),
        configFor: (index) => ({
          ...(index === 0 ? { redisUrl: proxy.url('redis') } : {}),
          ...fault.configFor?.(index),
        }),
        during: (loadMs, prefix, instances) => fault.inject({ loadMs, prefix, instances }),
      },
      fault.boundMs,
    )
    const failed = report.workers.reduce((sum, w) => sum + w.readErrors + w.writeErrors, 0)
    rows.push([
      fault.name,
      id,
      String(report.reads),
      String(report.staleReads),
      report.staleReads === 0
        ? '-'
        : `${report.lateness.p999.toFixed(1)} / ${report.lateness.max.toFixed(1)}`,
      String(failed),
      report.quiet.recoveryMs.toFixed(0),
      `${report.quiet.staleEntries}/${report.quiet.checked}`,
      Math.max(
        ...report.workers.filter((w) => w.burstMs === 0).map((w) => w.loopDelayMaxMs),
      ).toFixed(0),
    ])
    const errors = report.workers.flatMap((w) => w.firstErrors)
    if (fault.allowedFailures === undefined) expect(failed, errors.join('\n')).toBe(0)
    else for (const error of errors) expect(error).toMatch(fault.allowedFailures)
    expect(report.quiet.staleEntries, report.quiet.examples.join('\n')).toBe(0)
    fault.check?.(report)
    if (id === 'strict' && !fault.strictMayBeStale) expect(report.staleReads).toBe(0)
    else if (report.staleReads > 0) expect(report.lateness.p999).toBeLessThan(fault.boundMs)
  })
})

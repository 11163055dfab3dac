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
  type LoadOptions,
  type ModeReport,
  modes,
  runMode,
} from '../support/consistency/checker.js'
import { recordKey } from '../support/consistency/protocol.js'
import { uniquePrefix } from '../support/redis.js'
import { RedisServer } from '../support/redis-server.js'
import { TcpProxy } from '../support/tcp-proxy.js'

const LONG = process.env.FAULTS === 'long'
const PROCESSES = 3
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

let server: RedisServer
let proxy: TcpProxy
let admin: Redis

interface Fault {
  name: string
  /** Lateness of a stale read (p99.9) allowed in eventual mode under this fault, ms. */
  boundMs: number
  inject(loadMs: number, prefix: string): Promise<void>
  /** What else must hold under this fault (that it took effect, say). */
  check?(report: ModeReport): void
  short: boolean
}

const FAULTS: Fault[] = [
  { name: 'none', boundMs: 250, short: true, inject: async () => {} },
  {
    name: 'latency spike of 300 ms on one instance',
    boundMs: 1_000,
    short: true,
    async inject(loadMs) {
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
    async inject(loadMs) {
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
    async inject(loadMs) {
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
    async inject(loadMs) {
      await sleep(loadMs / 3)
      await admin.call('CLIENT', 'PAUSE', '300', 'ALL')
    },
  },
  {
    name: 'combined: one instance cut while Redis restarts, then its link slow',
    boundMs: 2_500,
    short: false,
    async inject(loadMs) {
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
    async inject(loadMs, prefix) {
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
    async inject(loadMs) {
      await sleep(loadMs / 3)
      await server.kill()
      await sleep(500)
      await server.restart()
    },
  },
]

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
  const header = [
    'fault',
    'mode',
    'reads',
    'stale reads',
    'lateness p99.9 / max ms',
    'failed calls',
    'recovered (ms after the load)',
    'stale once quiet',
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
    const report: ModeReport = await runMode(
      mode,
      {
        ...load,
        prefix: uniquePrefix('faults'),
        redisUrl: server.url,
        redisUrlFor: (index) => (index === 0 ? proxy.url('redis') : server.url),
        during: (loadMs, modePrefix) => fault.inject(loadMs, modePrefix),
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
    ])
    const errors = report.workers.flatMap((w) => w.firstErrors)
    expect(failed, errors.join('\n')).toBe(0)
    expect(report.quiet.staleEntries, report.quiet.examples.join('\n')).toBe(0)
    fault.check?.(report)
    if (id === 'strict') expect(report.staleReads).toBe(0)
    else if (report.staleReads > 0) expect(report.lateness.p999).toBeLessThan(fault.boundMs)
  })
})

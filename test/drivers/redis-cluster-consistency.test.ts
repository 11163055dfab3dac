import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  DEFAULT_LOAD,
  describeReport,
  type LoadOptions,
  type ModeId,
  type ModeReport,
  modes,
  reportRows,
  runMode,
} from '../support/consistency/checker.js'
import { uniquePrefix } from '../support/redis.js'
import { RedisClusterServer } from '../support/redis-cluster-server.js'

// The consistency checker of `consistency.test.ts`, on a Redis Cluster (three masters, three
// replicas, started for this file): worker processes, each its own CacheManager, read and write
// records held in PostgreSQL; the checker counts reads older than a write acknowledged before they
// began, and entries still stale once quiet. Same bounds and control as on a standalone server.

const PROCESSES = 3
const TEST_BOUND_MS = 250
const MIN_READS = 200
const STRICT_DURATION_MS = 6_000

let cluster: RedisClusterServer
let load: LoadOptions
const reports = new Map<ModeId, ModeReport>()

beforeAll(async () => {
  cluster = await RedisClusterServer.start()
  load = {
    ...DEFAULT_LOAD,
    durationMs: 2_500,
    records: 8,
    readers: 4,
    writers: 2,
    prefix: uniquePrefix('cl-consistency'),
    configFor: () => ({ redisCluster: cluster.nodeList }),
  }
}, 60_000)

afterAll(async () => {
  await cluster?.stop()
  if (reports.size === 0) return
  const { header, rows } = reportRows([...reports.values()])
  const lines = [header.join(' | '), ...rows.map((row) => row.join(' | '))]
  console.info(`[cluster consistency]\n${lines.join('\n')}`)
})

async function run(id: ModeId, durationMs = load.durationMs): Promise<ModeReport> {
  const mode = modes(PROCESSES).find((m) => m.id === id)!
  const report = await runMode(mode, { ...load, durationMs }, TEST_BOUND_MS)
  reports.set(id, report)
  return report
}

describe.sequential(`${PROCESSES} processes on a Redis Cluster, records in PostgreSQL`, () => {
  it(`default (eventual) mode: p99.9 lateness under ${TEST_BOUND_MS} ms, nothing stale once quiet`, async () => {
    const report = await run('eventual')
    expect(report.reads).toBeGreaterThan(MIN_READS)
    expect(report.quiet.staleEntries, describeReport(report)).toBe(0)
    if (report.staleReads > 0) {
      expect(report.lateness.p999, describeReport(report)).toBeLessThan(TEST_BOUND_MS)
    }
    expect(report.workers.every((w) => w.metrics.busReceived > 0)).toBe(true)
  }, 60_000)

  it('strict mode: no stale read across processes', async () => {
    const report = await run('strict', STRICT_DURATION_MS)
    expect(report.reads).toBeGreaterThan(MIN_READS)
    expect(report.staleReads, describeReport(report)).toBe(0)
    expect(report.quiet.staleEntries, describeReport(report)).toBe(0)
  }, 60_000)

  it('control, bus: false: the checker does find stale reads', async () => {
    const report = await run('no-bus')
    expect(report.staleReads, describeReport(report)).toBeGreaterThan(0)
    // ...later than what the bus allows: past the eventual run's worst, when it had stale reads.
    const eventual = reports.get('eventual')
    if (eventual !== undefined && eventual.staleReads > 0) {
      expect(report.lateness.max, describeReport(report)).toBeGreaterThan(eventual.lateness.max)
    }
  }, 60_000)
})

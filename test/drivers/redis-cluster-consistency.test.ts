import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describeReport } from '../support/consistency/checker.js'
import {
  expectEventualBounds,
  expectNoStaleRead,
  PROCESSES,
  STRICT_DURATION_MS,
  TEST_BOUND_MS,
  useConsistencyRuns,
} from '../support/consistency/runs.js'
import { RedisClusterServer } from '../support/redis-cluster-server.js'

// The consistency checker of `consistency.test.ts`, on a Redis Cluster (three masters, three
// replicas, started for this file): worker processes, each its own CacheManager, read and write
// records held in PostgreSQL; the checker counts reads older than a write acknowledged before they
// began, and entries still stale once quiet. Same bounds and control as on a standalone server.

let cluster: RedisClusterServer
const { run, reports } = useConsistencyRuns('cl-consistency', {
  label: 'cluster consistency',
  configFor: () => ({ redisCluster: cluster.nodeList }),
})

beforeAll(async () => {
  cluster = await RedisClusterServer.start()
}, 60_000)

afterAll(async () => {
  await cluster?.stop()
})

describe.sequential(`${PROCESSES} processes on a Redis Cluster, records in PostgreSQL`, () => {
  it(`default (eventual) mode: p99.9 lateness under ${TEST_BOUND_MS} ms, nothing stale once quiet`, async () => {
    expectEventualBounds(await run('eventual'))
  }, 60_000)

  it('strict mode: no stale read across processes', async () => {
    expectNoStaleRead(await run('strict', STRICT_DURATION_MS))
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

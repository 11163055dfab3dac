/**
 * Measured staleness across instances, the long form of test/integration/consistency.test.ts:
 * 4 worker processes, each its own stratacache instance (its own L1) on one Redis, read
 * (`getOrCompute`, loader sleeping 0-20 ms after its SELECT) and write (`UPDATE ... RETURNING`,
 * then delete or tag invalidation) records held in PostgreSQL; half the workers block their event
 * loop with CPU bursts (a slow subscriber). Per mode: reads older than a write acknowledged before
 * they began, how late (p50 / p99 / p99.9 / max), and entries still stale once the system is quiet.
 */
import {
  DEFAULT_LOAD,
  describeReport,
  type LoadOptions,
  type ModeReport,
  modes,
  reportRows,
  runMode,
  TARGET_P999_MS,
} from '../../test/support/consistency/checker.js'
import { REDIS_URL } from '../fixtures.js'
import { table } from '../harness.js'

const PROCESSES = 4

/** A study for bench/run.ts: runs once, prints its own table. */
export const staleness = {
  id: 'staleness',
  group: 'staleness',
  title: `Staleness across instances: ${PROCESSES} processes on one Redis, records in PostgreSQL, per consistency mode`,
  needsRedis: true,
  async run(ctx: {
    quick: boolean
    prefix: string
    log(message: string): void
  }): Promise<{ text: string; data: unknown }> {
    const load: LoadOptions = {
      ...DEFAULT_LOAD,
      durationMs: ctx.quick ? 2_000 : 12_000,
      records: 16,
      readers: 4,
      writers: 2,
      redisUrl: REDIS_URL,
      prefix: ctx.prefix,
      log: ctx.log,
    }
    const reports: ModeReport[] = []
    const failures: string[] = []
    for (const mode of modes(PROCESSES)) {
      try {
        reports.push(await runMode(mode, load, TARGET_P999_MS))
      } catch (error) {
        const text = error instanceof Error ? error.message : String(error)
        failures.push(`${mode.label}: ${text}`)
        ctx.log(`  ! ${mode.label} failed: ${text}`)
      }
    }
    const { header, rows } = reportRows(reports)
    const lines = [table(header, rows, 'lrrrrrrrrrrrrrl')]
    lines.push(
      `  ${load.durationMs / 1000} s of load per mode; ${load.records} records; per worker ${load.readers} reader loops (pause ${load.readPauseMs.join('-')} ms) and ${load.writers} writer loops (pause ${load.writePauseMs.join('-')} ms); loader sleeps ${load.loaderDelayMs.join('-')} ms after its SELECT; invalidation: ${load.invalidate} (delete or tag); CPU bursts of ${load.burst.durationMs.join('-')} ms every ${load.burst.everyMs.join('-')} ms on half the workers.`,
      '  late: time from the acknowledgement of the first write that made the returned version obsolete to the invocation of the read. "cached / joined fill": whether the stale value was a cached copy (L1 or L2) or came from a fill of the reading process still in flight when the read began (its SELECT preceded the write). "own / other write": whether the missed write was made by the reading process.',
    )
    for (const r of reports) lines.push(describeReport(r))
    for (const f of failures) lines.push(`  FAILED ${f}`)
    return {
      text: lines.join('\n'),
      data: {
        load: { ...load, log: undefined },
        processes: PROCESSES,
        targetP999Ms: TARGET_P999_MS,
        reports,
        failures,
      },
    }
  },
}

/**
 * Shared by the consistency test files (one Redis, a Redis Cluster): the short form of the
 * checker's runs, the bounds they assert, and the table of their reports printed after the file.
 */
import { afterAll, expect } from 'vitest'
import { uniquePrefix } from '../redis.js'
import {
  DEFAULT_LOAD,
  describeReport,
  type LoadOptions,
  type ModeId,
  type ModeReport,
  modes,
  reportRows,
  runMode,
} from './checker.js'

/** Worker processes per run. */
export const PROCESSES = 3
/** The bound asserted on the default mode's p99.9 lateness here (the benchmark judges 50 ms). */
export const TEST_BOUND_MS = 250
/**
 * Reads a run needs for its verdict to mean something. Strict mode pays a Redis round trip per
 * read, so it gets a longer run: on a loaded 2-core machine 2.5 s gave it as few as 70 reads.
 */
export const MIN_READS = 200
/** How long strict mode's run lasts; the others last {@link ConsistencyRuns.load}'s duration. */
export const STRICT_DURATION_MS = 6_000

/** A test file's runs; `reports` holds each mode's latest. */
export interface ConsistencyRuns {
  /** The load of every run: short, on few records, under a Redis prefix of the file's own. */
  readonly load: LoadOptions
  /** The report of each mode run so far. */
  readonly reports: ReadonlyMap<ModeId, ModeReport>
  /** Runs mode `id` for `durationMs` (the load's by default) and keeps its report. */
  run(id: ModeId, durationMs?: number): Promise<ModeReport>
}

/**
 * Runs of {@link PROCESSES} processes under a prefix named after `name`, with the workers'
 * configuration from `configFor` (e.g. a Redis Cluster's nodes); after the file, the reports are
 * printed as a table headed `[label]`.
 */
export function useConsistencyRuns(
  name: string,
  { label, configFor }: { label: string; configFor?: LoadOptions['configFor'] },
): ConsistencyRuns {
  const load: LoadOptions = {
    ...DEFAULT_LOAD,
    durationMs: 2_500,
    records: 8,
    readers: 4,
    writers: 2,
    prefix: uniquePrefix(name),
    ...(configFor === undefined ? {} : { configFor }),
  }
  const reports = new Map<ModeId, ModeReport>()

  afterAll(() => {
    if (reports.size === 0) return
    const { header, rows } = reportRows([...reports.values()])
    const lines = [header.join(' | '), ...rows.map((row) => row.join(' | '))]
    console.info(
      `[${label}] ${load.durationMs} ms of load per mode (strict ${STRICT_DURATION_MS})\n${lines.join('\n')}`,
    )
  })

  return {
    load,
    reports,
    async run(id, durationMs = load.durationMs) {
      const mode = modes(PROCESSES).find((m) => m.id === id)!
      const report = await runMode(mode, { ...load, durationMs }, TEST_BOUND_MS)
      reports.set(id, report)
      return report
    },
  }
}

/**
 * The default (eventual) mode's verdict: enough reads, nothing stale once quiet, stale reads (if
 * any) within {@link TEST_BOUND_MS} at p99.9, and the bus carried the invalidations (otherwise
 * this is the control).
 */
export function expectEventualBounds(report: ModeReport): void {
  expect(report.reads).toBeGreaterThan(MIN_READS)
  expect(report.quiet.staleEntries, describeReport(report)).toBe(0)
  if (report.staleReads > 0) {
    expect(report.lateness.p999, describeReport(report)).toBeLessThan(TEST_BOUND_MS)
  }
  expect(report.workers.every((w) => w.metrics.busReceived > 0)).toBe(true)
}

/** Strict mode's verdict: enough reads, no stale read, nothing stale once quiet. */
export function expectNoStaleRead(report: ModeReport): void {
  expect(report.reads).toBeGreaterThan(MIN_READS)
  expect(report.staleReads, describeReport(report)).toBe(0)
  expect(report.quiet.staleEntries, describeReport(report)).toBe(0)
}

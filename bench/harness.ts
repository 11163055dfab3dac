/**
 * A small benchmark harness built on `process.hrtime.bigint()`.
 *
 * Every candidate of a scenario is warmed up, then calibrated so that one sample (M awaited calls
 * in a row) lasts about `sampleMs`. Samples of the candidates are then taken in interleaved rounds
 * (round r: one sample of each candidate, in an order that rotates every round), so that a burst of
 * noise on this shared machine hits every candidate of the scenario rather than one of them. The
 * statistics are over the per-sample means (ns per op): median, p75, p99.
 *
 * Each call is awaited before the next starts: the times are latencies of one caller, not the
 * throughput of many callers (scenarios measure concurrency explicitly, as one call = N ops).
 */

export interface HarnessOptions {
  /** Samples per candidate. */
  samples: number
  /** Target duration of one sample, ms; decides M (calls per sample). */
  sampleMs: number
  /** Warm-up duration per candidate, ms (JIT, connection, caches). */
  warmupMs: number
  /** Upper bound of calls per sample. */
  maxIterations: number
}

export const FULL: HarnessOptions = {
  samples: 50,
  sampleMs: 30,
  warmupMs: 300,
  maxIterations: 1_000_000,
}
export const QUICK: HarnessOptions = {
  samples: 6,
  sampleMs: 5,
  warmupMs: 40,
  maxIterations: 100_000,
}

/** A candidate ready to run: `run` is one call; `opsPerCall` ops are reported per call. */
export interface Runnable {
  name: string
  run: () => PromiseLike<unknown>
  opsPerCall: number
}

export interface Stats {
  /** Calls per sample (M). */
  iterations: number
  samples: number
  /** Per-sample means, ns per op, in the order they were taken. */
  sampleNs: number[]
  medianNs: number
  p75Ns: number
  p99Ns: number
  minNs: number
  meanNs: number
  /** Ops per second at the median. */
  opsPerSec: number
}

const now = (): bigint => process.hrtime.bigint()

/** Runs `run` `iterations` times, each awaited; returns elapsed ns. */
async function timeCalls(run: () => PromiseLike<unknown>, iterations: number): Promise<number> {
  const start = now()
  for (let i = 0; i < iterations; i++) await run()
  return Number(now() - start)
}

/**
 * Warms up for about `warmupMs`, then calibrates: three batches of about a third of a sample
 * each, whose median ns per call decides M. (A single batch would let one burst of noise, or a
 * connection still settling, make every sample of this candidate far longer or shorter than the
 * others'.)
 */
async function warmUpAndCalibrate(
  run: () => PromiseLike<unknown>,
  options: HarnessOptions,
): Promise<number> {
  const deadline = Date.now() + options.warmupMs
  let batch = 1
  let nsPerCall = Number.POSITIVE_INFINITY
  let calls = 0
  do {
    const elapsed = await timeCalls(run, batch)
    calls += batch
    nsPerCall = elapsed / batch
    // Grow the batch until one batch costs ~5 ms, so the estimate is not dominated by timer cost.
    if (elapsed < 5e6) batch = Math.min(batch * 2, options.maxIterations)
  } while (Date.now() < deadline || calls < 3)
  const estimates: number[] = []
  for (let i = 0; i < 3; i++) {
    const m = clampIterations((options.sampleMs * 1e6) / 3 / Math.max(nsPerCall, 1), options)
    nsPerCall = (await timeCalls(run, m)) / m
    estimates.push(nsPerCall)
  }
  estimates.sort((x, y) => x - y)
  return clampIterations((options.sampleMs * 1e6) / Math.max(estimates[1]!, 1), options)
}

function clampIterations(m: number, options: HarnessOptions): number {
  return Math.min(options.maxIterations, Math.max(1, Math.round(m)))
}

/** Value at quantile `q` (0..1) of sorted `values`, linear interpolation. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN
  const pos = (sorted.length - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  const a = sorted[lo]!
  const b = sorted[hi]!
  return a + (b - a) * (pos - lo)
}

export function summarize(sampleNs: number[], iterations: number): Stats {
  const sorted = [...sampleNs].sort((a, b) => a - b)
  const medianNs = quantile(sorted, 0.5)
  return {
    iterations,
    samples: sampleNs.length,
    sampleNs,
    medianNs,
    p75Ns: quantile(sorted, 0.75),
    p99Ns: quantile(sorted, 0.99),
    minNs: sorted[0] ?? Number.NaN,
    meanNs: sorted.reduce((s, v) => s + v, 0) / Math.max(1, sorted.length),
    opsPerSec: 1e9 / medianNs,
  }
}

/**
 * Measures a group of candidates in interleaved rounds. A candidate that throws while measured is
 * reported in `failures` and dropped from the remaining rounds; the others go on.
 */
export async function measureGroup(
  candidates: readonly Runnable[],
  options: HarnessOptions,
  onProgress?: (message: string) => void,
): Promise<{ stats: Map<string, Stats>; failures: Map<string, unknown> }> {
  const failures = new Map<string, unknown>()
  const iterations = new Map<string, number>()
  const samples = new Map<string, number[]>()

  for (const c of candidates) {
    try {
      iterations.set(c.name, await warmUpAndCalibrate(c.run, options))
      samples.set(c.name, [])
    } catch (error) {
      failures.set(c.name, error)
    }
  }

  const live = candidates.filter((c) => !failures.has(c.name))
  for (let round = 0; round < options.samples; round++) {
    for (let k = 0; k < live.length; k++) {
      const c = live[(round + k) % live.length]!
      if (failures.has(c.name)) continue
      const m = iterations.get(c.name)!
      try {
        const elapsed = await timeCalls(c.run, m)
        samples.get(c.name)!.push(elapsed / (m * c.opsPerCall))
      } catch (error) {
        failures.set(c.name, error)
      }
    }
    if (onProgress !== undefined && (round + 1) % 10 === 0)
      onProgress(`round ${round + 1}/${options.samples}`)
  }

  const stats = new Map<string, Stats>()
  for (const c of live) {
    if (failures.has(c.name)) continue
    stats.set(c.name, summarize(samples.get(c.name)!, iterations.get(c.name)!))
  }
  return { stats, failures }
}

/**
 * Ratio a/b computed round by round (samples taken in the same round share the machine's state),
 * summarized as median and p25-p75. Robust to noise that a ratio of two medians would absorb
 * unevenly.
 */
export function pairedRatio(a: Stats, b: Stats): { median: number; p25: number; p75: number } {
  const n = Math.min(a.sampleNs.length, b.sampleNs.length)
  const ratios: number[] = []
  for (let i = 0; i < n; i++) ratios.push(a.sampleNs[i]! / b.sampleNs[i]!)
  ratios.sort((x, y) => x - y)
  return { median: quantile(ratios, 0.5), p25: quantile(ratios, 0.25), p75: quantile(ratios, 0.75) }
}

/** 1234.5 ns -> "1.23 µs". */
export function formatNs(ns: number): string {
  if (!Number.isFinite(ns)) return '-'
  if (ns < 1_000) return `${ns.toFixed(ns < 100 ? 1 : 0)} ns`
  if (ns < 1_000_000) return `${(ns / 1_000).toFixed(ns < 10_000 ? 2 : 1)} µs`
  if (ns < 1_000_000_000) return `${(ns / 1_000_000).toFixed(ns < 10_000_000 ? 2 : 1)} ms`
  return `${(ns / 1e9).toFixed(2)} s`
}

export function formatRatio(r: number): string {
  if (!Number.isFinite(r)) return '-'
  return `${r < 10 ? r.toFixed(2) : r.toFixed(1)}x`
}

export function formatOps(opsPerSec: number): string {
  if (!Number.isFinite(opsPerSec)) return '-'
  if (opsPerSec >= 1e6) return `${(opsPerSec / 1e6).toFixed(2)} M/s`
  if (opsPerSec >= 1e3) return `${(opsPerSec / 1e3).toFixed(1)} k/s`
  return `${opsPerSec.toFixed(0)} /s`
}

/** A plain-text table; `align` per column ('l' or 'r'). */
export function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  align?: string,
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const cell = (text: string, i: number) =>
    (align?.[i] ?? (i === 0 ? 'l' : 'r')) === 'l'
      ? text.padEnd(widths[i]!)
      : text.padStart(widths[i]!)
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => cell(c, i)).join(' | ')} |`
  const rule = `|${widths.map((w, i) => ((align?.[i] ?? (i === 0 ? 'l' : 'r')) === 'l' ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`
  return [line(header), rule, ...rows.map(line)].join('\n')
}

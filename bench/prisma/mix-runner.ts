/**
 * Runs a mix (mix-workload.ts) as throughput: N concurrent async workers, each awaiting one
 * operation after the other, for a fixed time per candidate. The time is cut into slices taken
 * in turn (candidate order rotating each slice), so that a burst of load on this shared machine
 * hits every candidate rather than one.
 *
 * Each candidate first runs the mix unrecorded from an empty cache until it is warm (a cache that
 * starts cold every slice would measure mostly cold misses: 1000 hot keys take a while to fill at
 * the rates this machine reaches), and each slice starts with a short unrecorded warm-up. Every
 * read, warm-ups included, is checked for staleness. Workers draw the same key sequence for every
 * candidate (seeded per phase and worker).
 */
import { quantile } from '../harness.js'
import type { ClientUnderTest } from './clients.js'
import { type MixSpec, mixOperation, Oracle, seededRandom } from './mix-workload.js'
import type { ShopSeed } from './seed.js'
import { VersionLedger } from './version-ledger.js'

export interface MixTiming {
  workers: number
  slices: number
  /** Recorded time of one slice, ms. */
  sliceMs: number
  /** Unrecorded warm-up at the start of each slice, ms. */
  warmMs: number
  /** Unrecorded run from an empty cache before the candidate's first slice, ms. */
  fillMs: number
}

export const FULL_MIX: MixTiming = {
  workers: 32,
  slices: 3,
  sliceMs: 2_000,
  warmMs: 200,
  fillMs: 2_000,
}
export const QUICK_MIX: MixTiming = {
  workers: 32,
  slices: 1,
  sliceMs: 400,
  warmMs: 100,
  fillMs: 400,
}

export interface MixCandidate {
  name: string
  client: ClientUnderTest
}

export interface LatencyMs {
  p50: number
  p99: number
}

export interface MixResult {
  name: string
  /** Operations started in the recorded windows, per second of recorded time. */
  opsPerSec: number
  reads: number
  writes: number
  readLatency: LatencyMs
  writeLatency: LatencyMs
  /** Every read checked, warm-ups included, and those that returned something stale. */
  checkedReads: number
  staleReads: number
  /** Of the checked reads, those an ideal cache would have answered (see `Oracle`). */
  oracleHits: number
  staleFields: { product: number; stock: number; wrongRows: number }
  errors: number
  firstError?: string
  facts: Record<string, number | string | boolean>
}

class Tally {
  readonly readMs: number[] = []
  readonly writeMs: number[] = []
  checkedReads = 0
  staleReads = 0
  oracleHits = 0
  readonly staleFields = { product: 0, stock: 0, wrongRows: 0 }
  errors = 0
  firstError: string | undefined
  recordedMs = 0
}

function summary(values: number[]): LatencyMs {
  const sorted = [...values].sort((a, b) => a - b)
  return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) }
}

async function worker(
  next: () => ReturnType<ReturnType<typeof mixOperation>>,
  tally: Tally,
  recordFrom: number,
  end: number,
): Promise<void> {
  for (;;) {
    const started = performance.now()
    if (started >= end) return
    try {
      const outcome = await next()
      const elapsed = performance.now() - started
      const recorded = started >= recordFrom
      if (outcome.kind === 'write') {
        if (recorded) tally.writeMs.push(elapsed)
        continue
      }
      if (recorded) tally.readMs.push(elapsed)
      tally.checkedReads++
      if (outcome.oracleHit) tally.oracleHits++
      const { product, stock, wrongRows } = outcome.stale
      if (product + stock + wrongRows > 0) tally.staleReads++
      tally.staleFields.product += product
      tally.staleFields.stock += stock
      tally.staleFields.wrongRows += wrongRows
    } catch (error) {
      tally.errors++
      tally.firstError ??= error instanceof Error ? error.message.split('\n')[0] : String(error)
    }
  }
}

export async function runMix(
  spec: MixSpec,
  candidates: readonly MixCandidate[],
  seed: ShopSeed,
  timing: MixTiming,
  log: (message: string) => void,
): Promise<MixResult[]> {
  const maxId = Math.max(...seed.hotProductIds)
  const ledgers = candidates.map(() => new VersionLedger(maxId))
  const oracles = candidates.map(() => new Oracle())
  const tallies = candidates.map(() => new Tally())
  /** Runs candidate `index` for `unrecordedMs` then `recordedMs`; `phase` seeds the keys. */
  const run = async (index: number, phase: number, unrecordedMs: number, recordedMs: number) => {
    const { client } = candidates[index]!
    const recordFrom = performance.now() + unrecordedMs
    const end = recordFrom + recordedMs
    await Promise.all(
      Array.from({ length: timing.workers }, (_, w) => {
        const random = seededRandom(phase * 1_000 + w + 1)
        const next = mixOperation(client.shop, seed, ledgers[index]!, oracles[index]!, spec, random)
        return worker(next, tallies[index]!, recordFrom, end)
      }),
    )
    tallies[index]!.recordedMs += recordedMs
  }
  for (let index = 0; index < candidates.length; index++) {
    await candidates[index]!.client.clear()
    oracles[index]!.clear()
    await run(index, 0, timing.fillMs, 0)
  }
  for (let slice = 0; slice < timing.slices; slice++) {
    for (let k = 0; k < candidates.length; k++) {
      await run((slice + k) % candidates.length, slice + 1, timing.warmMs, timing.sliceMs)
    }
    log(`  ${spec.id}: slice ${slice + 1}/${timing.slices}`)
  }
  return candidates.map(({ name, client }, i) => {
    const t = tallies[i]!
    const reads = t.readMs.length
    const writes = t.writeMs.length
    return {
      name,
      opsPerSec: ((reads + writes) * 1000) / t.recordedMs,
      reads,
      writes,
      readLatency: summary(t.readMs),
      writeLatency: summary(t.writeMs),
      checkedReads: t.checkedReads,
      staleReads: t.staleReads,
      oracleHits: t.oracleHits,
      staleFields: t.staleFields,
      errors: t.errors,
      ...(t.firstError !== undefined ? { firstError: t.firstError } : {}),
      facts: client.facts(),
    }
  })
}

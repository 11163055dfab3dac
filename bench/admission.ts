/**
 * Does a frequency-aware admission policy (W-TinyLFU) earn its cost in L1?
 *
 *   npx tsx bench/admission.ts           500 k keys, 1 M accesses per trace (~40 s)
 *   npx tsx bench/admission.ts --quick   150 k keys, 300 k accesses (~10 s, smoke test)
 *   npx tsx bench/admission.ts --big     full sizes: 1 M keys, 2 M accesses (~1.5 min)
 *   --runs=N                             timed replays per policy and trace (default 1)
 *   --doorkeeper                         also run W-TinyLFU with a doorkeeper
 *   --shift-width=N --shift-uses=N       shape of the shifting trace (defaults 1 and 8, see there)
 *
 * Compares, at the same entry capacity (1% and 10% of the key space), on the same seeded
 * synthetic traces:
 *
 * - `lru`: plain `lru-cache` 11 (what L1 uses today): `get`, and `set` on a miss.
 * - `lru+tlfu`: TinyLFU admission in front of the same `lru-cache` (no window): on a miss with a
 *   full cache the candidate is stored only if its estimated frequency beats the LRU victim's.
 *   The cheapest thing L1 could adopt without replacing its store.
 * - `w-tinylfu`: a compact W-TinyLFU cache (Einziger, Friedman, Manes, "TinyLFU: A Highly Efficient
 *   Cache Admission Policy", ACM ToS 2017; Caffeine's layout): a 1% window LRU, a main segmented LRU
 *   (20% probation, 80% protected), a 4-bit count-min sketch (4 counters in one 64-byte block,
 *   halved every 10 x capacity increments), Caffeine's random admission of hot-but-losing
 *   candidates (hash-flooding guard).
 * - `w-tinylfu+hc`: the same with Caffeine's hill climber resizing the window (one step per
 *   10 x capacity requests, so it needs long traces to move far).
 * - `w-tinylfu+dk` (`--doorkeeper`): the same with a doorkeeper Bloom filter before the sketch.
 * - `opt`: Belady's clairvoyant policy (with bypass), the upper bound for any policy.
 *
 * Every access is "get-or-admit": a get, and on a miss a set (which a TinyLFU policy may refuse),
 * with `product:<id>` string keys and a freshly allocated entry per fill, as L1 does. Hit ratios
 * are exact and repeatable (seeded PRNG, no time dependence). Cost is process CPU time per access
 * over the whole replay (misses' sets and evictions included, no loader), fastest of the timed
 * replays with policies interleaved; a second table times the hit path alone, all keys resident.
 * Costs are noisy on a shared machine (a VM's CPU time includes time stolen by the host): compare
 * policies within one run, and use --runs=3 for anything you quote. Results go to
 * `bench/results/admission.json`.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { measureHitPath, measureTrace, POLICIES, type Row } from './admission/measure.js'
import {
  ACCESSES,
  CAPACITY_FRACTIONS,
  HIT_PATH_CHUNK,
  HIT_PATH_ROUNDS,
  KEYSPACE,
  MODE,
  SEED,
  SHIFT_USES,
  SHIFT_WIDTH,
  TIMING_RUNS,
} from './admission/options.js'
import {
  keysUpTo,
  permutation,
  Rng,
  scanTrace,
  shiftingTrace,
  type Trace,
  Zipf,
  zipfTrace,
} from './admission/traces.js'

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length)
}
function lpad(s: string, n: number): string {
  return s.length >= n ? s : ' '.repeat(n - s.length) + s
}
function signed(x: number, digits: number): string {
  return `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`
}

function buildTraces(): Trace[] {
  const rng = new Rng(SEED)
  const perm = permutation(KEYSPACE, rng)
  const zipf10 = new Zipf(KEYSPACE, 1.0)
  const traces: Trace[] = []
  for (const fraction of CAPACITY_FRACTIONS) {
    const capacity = Math.round(KEYSPACE * fraction)
    for (const s of [0.8, 1.0, 1.2]) {
      traces.push({
        name: `zipf-${s.toFixed(1)}`,
        description: `Zipf(${s}) over ${KEYSPACE} keys`,
        capacity,
        ids: zipfTrace(s, new Rng(SEED + Math.round(s * 10)), perm),
      })
    }
    traces.push({
      name: 'scan',
      description: `Zipf(1.0) over ${KEYSPACE} keys in segments of ${2 * capacity} accesses, each followed by a one-off scan of ${capacity} fresh keys`,
      capacity,
      ids: scanTrace(capacity, new Rng(SEED + 1000 + capacity), perm, zipf10),
    })
    traces.push({
      name: 'shifting',
      description: `uniform over a window of ${Math.round(SHIFT_WIDTH * capacity)} consecutive keys sliding by 1 fresh key every ${SHIFT_USES} accesses`,
      capacity,
      ids: shiftingTrace(capacity, new Rng(SEED + 2000 + capacity)),
    })
  }
  return traces
}

function main(): void {
  const started = Date.now()
  const traces = buildTraces()
  let maxId = KEYSPACE
  for (const t of traces)
    for (let i = 0; i < t.ids.length; i++) if (t.ids[i]! > maxId) maxId = t.ids[i]!
  const keys = keysUpTo(maxId)

  // JIT warm-up on a small trace
  const warm = traces[1]!.ids.subarray(0, 200_000)
  for (let r = 0; r < 2; r++) for (const def of POLICIES) def.make(2_000).replay(warm, keys)

  console.log(
    `admission bench (${MODE}): ${KEYSPACE} keys, ${ACCESSES} accesses per trace, capacities ${CAPACITY_FRACTIONS.map((f) => `${f * 100}%`).join(' and ')}, ${TIMING_RUNS} timed replay(s) per policy, node ${process.version}`,
  )
  // The hit path first, before the trace replays churn the heap.
  const hitPath = CAPACITY_FRACTIONS.flatMap((f) =>
    measureHitPath(Math.round(KEYSPACE * f), keys, new Rng(SEED + 3000)),
  )

  const rows: Row[] = []
  for (const trace of traces) {
    const t0 = Date.now()
    const traceRows = measureTrace(trace, keys)
    rows.push(...traceRows)
    const summary = traceRows.map((r) => `${r.policy} ${(100 * r.hitRatio).toFixed(1)}%`).join('  ')
    console.log(
      `  ${pad(trace.name, 9)} C=${pad(String(trace.capacity), 7)} ${summary}  (${Date.now() - t0} ms)`,
    )
  }

  // ---- tables
  const names = POLICIES.map((p) => p.name)
  const w = 14
  const rowOf = (trace: Trace, policy: string) =>
    rows.find(
      (r) => r.trace === trace.name && r.capacity === trace.capacity && r.policy === policy,
    )!
  const label = (trace: Trace) =>
    `${pad(trace.name, 10)}${pad(`${((100 * trace.capacity) / KEYSPACE).toFixed(0)}% ${trace.capacity}`, 10)}`

  console.log('\nHit ratio, % of accesses (opt = Belady, the upper bound)')
  console.log(
    `${pad('trace', 10)}${pad('capacity', 10)}${[...names, 'opt'].map((n) => lpad(n, w)).join('')}${lpad('w-tlfu - lru', w)}${lpad('+hc - lru', w)}`,
  )
  for (const trace of traces) {
    const lru = rowOf(trace, 'lru').hitRatio
    console.log(
      `${label(trace)}${[...names, 'opt'].map((n) => lpad((100 * rowOf(trace, n).hitRatio).toFixed(2), w)).join('')}${lpad(signed(100 * (rowOf(trace, 'w-tinylfu').hitRatio - lru), 2), w)}${lpad(signed(100 * (rowOf(trace, 'w-tinylfu+hc').hitRatio - lru), 2), w)}`,
    )
  }

  const cw = 16
  const cell = (ns: number, ratio: number) => lpad(`${ns.toFixed(0)} ${ratio.toFixed(2)}x`, cw)
  console.log(
    `\nCPU ns per access (get, and set on a miss) replaying the same trace, fastest of ${TIMING_RUNS}; x = vs lru in the same round`,
  )
  console.log(`${pad('trace', 10)}${pad('capacity', 10)}${names.map((n) => lpad(n, cw)).join('')}`)
  for (const trace of traces) {
    console.log(
      `${label(trace)}${names.map((n) => cell(rowOf(trace, n).cpuNsPerOp!, rowOf(trace, n).ratioToLru!)).join('')}`,
    )
  }

  const adaptive = rows.filter((r) => r.policy === 'w-tinylfu+hc')
  console.log(
    `\nw-tinylfu+hc window at the end of each trace (starts at 1%; one step per 10 x capacity requests): ${adaptive.map((r) => `${r.trace}@${r.capacity} ${((100 * r.finalWindow!) / r.capacity).toFixed(1)}%`).join(', ')}`,
  )

  console.log(
    `\nHit path only: capacity / 2 keys resident, Zipf(1.0) gets; CPU ns per get, fastest of ${HIT_PATH_ROUNDS} rounds of ${HIT_PATH_CHUNK}; x = median ratio to lru in the same round`,
  )
  console.log(`${pad('capacity', 20)}${names.map((n) => lpad(n, cw)).join('')}`)
  for (const f of CAPACITY_FRACTIONS) {
    const capacity = Math.round(KEYSPACE * f)
    const mine = hitPath.filter((h) => h.capacity === capacity)
    const get = (n: string) => mine.find((h) => h.policy === n)!
    console.log(
      `${pad(String(capacity), 20)}${names.map((n) => lpad(`${get(n).cpuNsPerGet.toFixed(1)} ${get(n).ratioToLru.toFixed(2)}x`, cw)).join('')}`,
    )
  }

  const here = dirname(fileURLToPath(import.meta.url))
  const out = join(here, 'results', 'admission.json')
  mkdirSync(dirname(out), { recursive: true })
  writeFileSync(
    out,
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        node: process.version,
        mode: MODE,
        seed: SEED,
        keyspace: KEYSPACE,
        accesses: ACCESSES,
        timedReplays: TIMING_RUNS,
        costMeasure:
          'process CPU time (user + system) per access, fastest of the timed replays (median kept too)',
        policies: {
          lru: 'lru-cache 11, get then set on a miss',
          'lru+tlfu': 'TinyLFU admission (count-min sketch, no window) in front of lru-cache',
          'w-tinylfu':
            'W-TinyLFU: 1% window LRU, SLRU main 20/80, 4-bit CM sketch reset at 10x capacity',
          'w-tinylfu+hc': 'w-tinylfu with Caffeine hill-climbing window (sample 10x capacity)',
          'w-tinylfu+dk': 'w-tinylfu with a doorkeeper Bloom filter (only with --doorkeeper)',
          opt: 'Belady MIN with bypass (upper bound)',
        },
        traces: traces.map((t) => ({
          name: t.name,
          capacity: t.capacity,
          description: t.description,
        })),
        results: rows,
        hitPath,
        elapsedMs: Date.now() - started,
      },
      null,
      2,
    )}\n`,
  )
  console.log(`\nwrote ${out} (${((Date.now() - started) / 1000).toFixed(1)} s)`)
}

main()

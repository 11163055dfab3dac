/** Timed replays of each policy over each trace, and the hit-path timing. (bench/admission.ts) */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { optimalHits } from './optimal.js'
import { DOORKEEPER, HIT_PATH_CHUNK, HIT_PATH_ROUNDS, KEYSPACE, TIMING_RUNS } from './options.js'
import { LruPolicy, LruTinyLfuPolicy, type Policy } from './policies.js'
import { type Rng, type Trace, Zipf } from './traces.js'
import { WTinyLfuPolicy } from './w-tinylfu.js'

export interface PolicyDef {
  name: string
  make(capacity: number): Policy
}

export const POLICIES: PolicyDef[] = [
  { name: 'lru', make: (c) => new LruPolicy(c) },
  { name: 'lru+tlfu', make: (c) => new LruTinyLfuPolicy(c) },
  { name: 'w-tinylfu', make: (c) => new WTinyLfuPolicy(c, { doorkeeper: false, adaptive: false }) },
  {
    name: 'w-tinylfu+hc',
    make: (c) => new WTinyLfuPolicy(c, { doorkeeper: false, adaptive: true }),
  },
]
if (DOORKEEPER) {
  POLICIES.push({
    name: 'w-tinylfu+dk',
    make: (c) => new WTinyLfuPolicy(c, { doorkeeper: true, adaptive: false }),
  })
}

export interface Row {
  trace: string
  capacity: number
  capacityPct: number
  policy: string
  accesses: number
  hits: number
  hitRatio: number
  /** Fastest replay's CPU time (user + system, this process) per access, ns; null for `opt`. */
  cpuNsPerOp: number | null
  cpuNsPerOpMedian: number | null
  /** Median over replays of this policy's CPU time / lru's in the same round; null for `opt`. */
  ratioToLru: number | null
  /** Fastest replay's wall time per access, ns. */
  wallNsPerOp: number | null
  cpuNsPerOpRuns: number[]
  /** Final window size of an adaptive policy (entries). */
  finalWindow?: number
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >>> 1
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

setFlagsFromString('--expose-gc')
/** A full GC before each timed replay, so a policy is not billed for its predecessor's garbage. */
export const collectGarbage = runInNewContext('gc') as () => void

/**
 * Replays `ids` once. CPU time, not wall time, is the cost measure: the machine this runs on is
 * shared, and CPU time does not count the time other processes hold the core (it does count this
 * process's GC threads, a real cost of the allocating policies).
 */
export function timeReplay(policy: Policy, ids: Int32Array, keys: readonly string[], gc = true) {
  if (gc) collectGarbage()
  const cpu0 = process.cpuUsage()
  const wall0 = process.hrtime.bigint()
  const hits = policy.replay(ids, keys)
  const wall = Number(process.hrtime.bigint() - wall0)
  const cpu = process.cpuUsage(cpu0)
  return { hits, cpuNs: ((cpu.user + cpu.system) * 1000) / ids.length, wallNs: wall / ids.length }
}

export function measureTrace(trace: Trace, keys: readonly string[]): Row[] {
  const runs = new Map<
    string,
    { hits: number; cpu: number[]; wall: number[]; finalWindow: number | undefined }
  >()
  for (let run = 0; run < TIMING_RUNS; run++) {
    // rotate the order so no policy always runs first (or right after a GC-heavy neighbour)
    for (let k = 0; k < POLICIES.length; k++) {
      const def = POLICIES[(k + run) % POLICIES.length]!
      const policy = def.make(trace.capacity)
      const { hits, cpuNs, wallNs } = timeReplay(policy, trace.ids, keys)
      const finalWindow = policy instanceof WTinyLfuPolicy ? policy.cache.windowMax : undefined
      const prior = runs.get(def.name)
      if (prior === undefined)
        runs.set(def.name, { hits, cpu: [cpuNs], wall: [wallNs], finalWindow })
      else {
        if (prior.hits !== hits)
          throw new Error(`${def.name} is not deterministic on ${trace.name}`)
        prior.cpu.push(cpuNs)
        prior.wall.push(wallNs)
      }
    }
  }
  const base = {
    trace: trace.name,
    capacity: trace.capacity,
    capacityPct: (100 * trace.capacity) / KEYSPACE,
    accesses: trace.ids.length,
  }
  const lruRuns = runs.get('lru')!.cpu
  const rows: Row[] = POLICIES.map((def) => {
    const r = runs.get(def.name)!
    const row: Row = {
      ...base,
      policy: def.name,
      hits: r.hits,
      hitRatio: r.hits / trace.ids.length,
      cpuNsPerOp: Math.min(...r.cpu),
      cpuNsPerOpMedian: median(r.cpu),
      ratioToLru: median(r.cpu.map((ns, i) => ns / lruRuns[i]!)),
      wallNsPerOp: Math.min(...r.wall),
      cpuNsPerOpRuns: r.cpu,
    }
    if (r.finalWindow !== undefined) row.finalWindow = r.finalWindow
    return row
  })
  const opt = optimalHits(trace.ids, trace.capacity)
  rows.push({
    ...base,
    policy: 'opt',
    hits: opt,
    hitRatio: opt / trace.ids.length,
    cpuNsPerOp: null,
    cpuNsPerOpMedian: null,
    ratioToLru: null,
    wallNsPerOp: null,
    cpuNsPerOpRuns: [],
  })
  return rows
}

export interface HitPathRow {
  policy: string
  capacity: number
  resident: number
  cpuNsPerGet: number
  cpuNsPerGetMedian: number
  /** Median over rounds of this policy's time / lru's time in the same round. */
  ratioToLru: number
  cpuNsPerGetRuns: number[]
}

/**
 * The hit path alone: `capacity / 2` keys, all resident (no policy evicts below capacity), read
 * with Zipf(1.0) gets in short interleaved rounds: fastest round's CPU ns per get, and the median
 * of per-round ratios to lru-cache's `get` (robust to load that shifts between rounds).
 */
export function measureHitPath(capacity: number, keys: readonly string[], rng: Rng): HitPathRow[] {
  const resident = capacity >>> 1
  const zipf = new Zipf(resident, 1.0)
  const ids = new Int32Array(HIT_PATH_CHUNK)
  for (let i = 0; i < ids.length; i++) ids[i] = zipf.sample(rng)
  const fill = new Int32Array(resident)
  for (let i = 0; i < resident; i++) fill[i] = i
  const policies = POLICIES.map((def) => {
    const policy = def.make(capacity)
    policy.replay(fill, keys)
    for (let i = 0; i < 2; i++) policy.replay(ids, keys) // warm-up: let the JIT settle
    return { def, policy, samples: [] as number[] }
  })
  for (let round = 0; round < HIT_PATH_ROUNDS; round++) {
    for (let k = 0; k < policies.length; k++) {
      const p = policies[(k + round) % policies.length]!
      const { hits, cpuNs } = timeReplay(p.policy, ids, keys, false)
      if (hits !== ids.length) throw new Error(`${p.def.name}: the hit-path trace missed`)
      p.samples.push(cpuNs)
    }
  }
  const lru = policies.find((p) => p.def.name === 'lru')!.samples
  return policies.map((p) => ({
    policy: p.def.name,
    capacity,
    resident,
    cpuNsPerGet: Math.min(...p.samples),
    cpuNsPerGetMedian: median(p.samples),
    ratioToLru: median(p.samples.map((ns, i) => ns / lru[i]!)),
    cpuNsPerGetRuns: p.samples,
  }))
}

/**
 * stratacache benchmark suite: `npm run bench [-- [--quick] [filter...]]`.
 *
 * Every scenario runs stratacache and its peers in the same process, interleaved sample by sample,
 * and prints ratios as well as times (this machine is shared and noisy: absolute times drift,
 * ratios between candidates measured side by side much less). Results go to
 * `bench/results/latest.json`. Benchmarks never fail on time: the targets table says pass or miss.
 *
 * Options:
 *   --quick            few short samples (smoke test; numbers are indicative only)
 *   --samples=N        samples per candidate (default 50, quick 6)
 *   --sample-ms=N      target duration of one sample (default 30, quick 5)
 *   --out=PATH         JSON output (default bench/results/latest.json)
 *   --list             print the scenario ids and exit
 *   filter...          run only the scenarios whose group is, or whose id starts with, one of
 *                      these words: `l1`, `l2`, `l1-get`, `batch`, `miss`, `l2-hit`... (see --list)
 *
 * After the timed scenarios come the studies (`staleness`, `stampede`, the Prisma mixes): runs
 * that measure something other than time per call, run once, and print their own tables.
 *
 * The `prisma` group (`npm run bench -- prisma`) runs on PostgreSQL (TEST_DATABASE_URL or
 * postgresql://postgres@127.0.0.1:5432/test) in a schema of its own, seeded once per run and
 * dropped at the end; its description is the `prisma` section of the JSON result.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Redis } from 'ioredis'
import { adminClient, checkRow, REDIS_URL, ROOT_PREFIX, ROW, sweep } from './fixtures.js'
import {
  FULL,
  formatNs,
  formatOps,
  formatRatio,
  type HarnessOptions,
  measureGroup,
  pairedRatio,
  QUICK,
  type Runnable,
  type Stats,
  table,
} from './harness.js'
import type { CandidateInstance, Scenario, Study, Target } from './scenario.js'
import { BATCH_SEQUENTIAL, BATCH_STRATA, batch } from './scenarios/batch.js'
import {
  L1_BENTO,
  L1_CM,
  L1_DEFAULT,
  L1_LRU,
  L1_SHARED,
  l1Get,
  l1GetOrCompute,
} from './scenarios/l1-hit.js'
import { L2_RAW, L2_STRATA, l2Get, l2GetConcurrent } from './scenarios/l2-hit.js'
import { missMemory, missTiered } from './scenarios/miss.js'
import { prismaReadHeavy, prismaWriteHeavy } from './scenarios/prisma-mix.js'
import {
  PRISMA_READ_TARGETS,
  prismaFindMany,
  prismaFindManyInclude,
  prismaFindUnique,
} from './scenarios/prisma-reads.js'
import {
  PRISMA_WRITE_TARGETS,
  prismaCreate,
  prismaNestedCreate,
  prismaUpdate,
} from './scenarios/prisma-writes.js'
import { staleness } from './scenarios/staleness.js'
import { stampede } from './scenarios/stampede.js'
import { strictHit } from './scenarios/strict-hit.js'
import { closeSharedResources } from './shared-resource.js'

const SCENARIOS: Scenario[] = [
  l1Get,
  l1GetOrCompute,
  l2Get,
  l2GetConcurrent,
  batch,
  missMemory,
  missTiered,
  strictHit,
  prismaFindUnique,
  prismaFindMany,
  prismaFindManyInclude,
  prismaUpdate,
  prismaCreate,
  prismaNestedCreate,
]

const STUDIES: Study[] = [staleness, stampede, prismaReadHeavy, prismaWriteHeavy]

/** Targets of issue 2, section 4, then of issue 4, section 6 (the Prisma extension). */
const TARGETS: Target[] = [
  {
    label: 'L1 get, shareReferences <= 1.5x lru-cache',
    scenario: 'l1-get',
    subject: L1_SHARED,
    against: L1_LRU,
    kind: 'max-ratio',
    limit: 1.5,
  },
  {
    label: 'L1 get, default (copies) <= 5x lru-cache',
    scenario: 'l1-get',
    subject: L1_DEFAULT,
    against: L1_LRU,
    kind: 'max-ratio',
    limit: 5,
  },
  {
    label: 'L1 get, default >= 10x faster than bentocache',
    scenario: 'l1-get',
    subject: L1_DEFAULT,
    against: L1_BENTO,
    kind: 'min-speedup',
    limit: 10,
  },
  {
    label: 'L1 get, default >= 3x faster than cache-manager',
    scenario: 'l1-get',
    subject: L1_DEFAULT,
    against: L1_CM,
    kind: 'min-speedup',
    limit: 3,
  },
  {
    // cache-manager's memory store hands out the stored object itself: compare like for like.
    label: '  (like for like: shareReferences vs cache-manager, both shared)',
    scenario: 'l1-get',
    subject: L1_SHARED,
    against: L1_CM,
    kind: 'min-speedup',
    limit: 3,
    informational: true,
  },
  {
    label: 'L2 get sequential <= 1.15x ioredis GET+JSON.parse',
    scenario: 'l2-get',
    subject: L2_STRATA,
    against: L2_RAW,
    kind: 'max-ratio',
    limit: 1.15,
  },
  {
    label: 'L2 get 100 concurrent <= 1.15x ioredis GET+JSON.parse',
    scenario: 'l2-get-concurrent',
    subject: L2_STRATA,
    against: L2_RAW,
    kind: 'max-ratio',
    limit: 1.15,
  },
  {
    label: 'getBatch(100) >= 5x faster than 100 sequential gets',
    scenario: 'batch-100',
    subject: BATCH_STRATA,
    against: BATCH_SEQUENTIAL,
    kind: 'min-speedup',
    limit: 5,
  },
  ...PRISMA_READ_TARGETS,
  ...PRISMA_WRITE_TARGETS,
]

// ----------------------------------------------------------------------------------- arguments

interface Args {
  quick: boolean
  filters: string[]
  harness: HarnessOptions
  out: string
  list: boolean
}

const HERE = dirname(fileURLToPath(import.meta.url))

function parseArgs(argv: readonly string[]): Args {
  const quick = argv.includes('--quick')
  const harness = { ...(quick ? QUICK : FULL) }
  let out = join(HERE, 'results', 'latest.json')
  const filters: string[] = []
  for (const arg of argv) {
    const [flag, value] = arg.split('=', 2) as [string, string | undefined]
    if (flag === '--quick' || flag === '--list') continue
    if (flag === '--samples' && value) harness.samples = positive(value, flag)
    else if (flag === '--sample-ms' && value) harness.sampleMs = positive(value, flag)
    else if (flag === '--out' && value) out = value
    else if (arg.startsWith('--'))
      throw new Error(`unknown option ${arg} (see the header of bench/run.ts)`)
    else filters.push(arg.toLowerCase())
  }
  return { quick, filters, harness, out, list: argv.includes('--list') }
}

function positive(value: string, flag: string): number {
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0)
    throw new Error(`${flag} must be a positive number, got ${value}`)
  return n
}

/** A filter word selects a scenario when it is its group, or a prefix of its id (`l2`, `l1-get`, `miss`). */
function selected(scenario: Pick<Scenario, 'id' | 'group'>, filters: readonly string[]): boolean {
  if (filters.length === 0) return true
  return filters.some((f) => scenario.group === f || scenario.id.startsWith(f))
}

// ------------------------------------------------------------------------------------- running

interface CandidateResult {
  name: string
  kind: string
  status: 'ok' | 'failed'
  error?: string
  note?: string
  opsPerCall: number
  /** createdAt came back as a Date (only when the candidate can read a single key). */
  keepsDates?: boolean
  /** Mutating a value read does not change what the next reader gets. */
  isolatesCopies?: boolean
  facts?: Record<string, unknown>
  stats?: Omit<Stats, 'sampleNs'> & { sampleNs: number[] }
  ratios?: Record<string, number>
}

interface ScenarioResult {
  id: string
  group: string
  title: string
  unit: string
  notes: string[]
  skipped?: string
  durationMs: number
  candidates: CandidateResult[]
}

const log = (message: string) => process.stderr.write(`${message}\n`)

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    return `${error.name}${typeof code === 'string' ? ` ${code}` : ''}: ${error.message.split('\n')[0]}`
  }
  return String(error)
}

/** Checks what `run()` resolves to; throws with the reason when it is not the expected value. */
function checkResult(scenario: Scenario, value: unknown): void {
  if (typeof scenario.expect === 'function') {
    scenario.expect(value)
    return
  }
  if (scenario.expect === 'row') {
    const check = checkRow(value)
    if (!check.ok) throw new Error(`run() returned the wrong value: ${check.why}`)
    return
  }
  if (!Array.isArray(value) || value.length !== 100)
    throw new Error(`run() should return 100 rows, got ${typeof value}`)
  for (const row of value) {
    const check = checkRow(row)
    if (!check.ok) throw new Error(`run() returned a wrong row: ${check.why}`)
  }
}

/**
 * Date fidelity and copy isolation, through `read()`: mutates what it read, reads again, then
 * undoes the mutation (which, in a cache that shares references, reached the cached value).
 */
async function probe(
  instance: CandidateInstance,
): Promise<{ keepsDates: boolean; isolatesCopies: boolean } | undefined> {
  if (instance.read === undefined) return undefined
  const first = (await instance.read()) as { name: string; createdAt: unknown }
  const keepsDates = first.createdAt instanceof Date
  const original = first.name
  first.name = 'MUTATED BY A CALLER'
  const second = (await instance.read()) as { name: string }
  const isolatesCopies = second.name === original
  first.name = original
  return { keepsDates, isolatesCopies }
}

async function runScenario(
  scenario: Scenario,
  args: Args,
  admin: Redis | undefined,
): Promise<ScenarioResult> {
  const started = Date.now()
  const result: ScenarioResult = {
    id: scenario.id,
    group: scenario.group,
    title: scenario.title,
    unit: scenario.unit,
    notes: scenario.notes ?? [],
    durationMs: 0,
    candidates: [],
  }
  if (scenario.needsRedis && admin === undefined) {
    result.skipped = `Redis is not reachable at ${REDIS_URL}`
    return result
  }
  const scenarioPrefix = `${ROOT_PREFIX}${scenario.id}:`
  if (admin !== undefined) await sweep(admin, scenarioPrefix)
  const ctx = { prefix: (candidate: string) => `${scenarioPrefix}${candidate}:` }

  const instances = new Map<string, CandidateInstance>()
  const byName = new Map<string, CandidateResult>()
  try {
    for (const spec of scenario.candidates) {
      const entry: CandidateResult = {
        name: spec.name,
        kind: spec.kind,
        status: 'ok',
        opsPerCall: spec.opsPerCall ?? 1,
        ...(spec.note !== undefined ? { note: spec.note } : {}),
      }
      result.candidates.push(entry)
      byName.set(spec.name, entry)
      let instance: CandidateInstance | undefined
      try {
        instance = await spec.init(ctx)
        checkResult(scenario, await instance.run())
        const semantics = await probe(instance)
        if (semantics !== undefined) Object.assign(entry, semantics)
        instances.set(spec.name, instance)
      } catch (error) {
        entry.status = 'failed'
        entry.error = `init: ${describe(error)}`
        log(`  ! ${spec.name} failed to initialise: ${entry.error}`)
        await instance?.close?.().catch(() => {})
      }
    }

    const runnables: Runnable[] = []
    for (const spec of scenario.candidates) {
      const instance = instances.get(spec.name)
      if (instance !== undefined)
        runnables.push({ name: spec.name, run: instance.run, opsPerCall: spec.opsPerCall ?? 1 })
    }
    const { stats, failures } = await measureGroup(runnables, args.harness)
    for (const [name, error] of failures) {
      const entry = byName.get(name)!
      entry.status = 'failed'
      entry.error = `run: ${describe(error)}`
      log(`  ! ${name} failed while measured: ${entry.error}`)
    }
    for (const [name, s] of stats) {
      const entry = byName.get(name)!
      entry.stats = s
      const facts = instances.get(name)?.facts?.()
      if (facts !== undefined) entry.facts = facts
    }
    for (const entry of result.candidates) {
      if (entry.stats === undefined) continue
      entry.ratios = {}
      for (const ref of scenario.ratioTo) {
        const refStats = byName.get(ref)?.stats
        if (refStats !== undefined) entry.ratios[ref] = entry.stats.medianNs / refStats.medianNs
      }
    }
  } finally {
    for (const [name, instance] of instances) {
      try {
        await instance.close?.()
      } catch (error) {
        log(`  ! ${name} failed to close: ${describe(error)}`)
      }
    }
    if (admin !== undefined) await sweep(admin, scenarioPrefix).catch(() => 0)
  }
  result.durationMs = Date.now() - started
  return result
}

// ------------------------------------------------------------------------------------ printing

function printScenario(scenario: Scenario, result: ScenarioResult): void {
  console.log(`\n## ${scenario.title}  [${scenario.id}]\n`)
  if (result.skipped !== undefined) {
    console.log(`skipped: ${result.skipped}`)
    return
  }
  const measured = result.candidates.filter((c) => c.stats !== undefined)
  const refs = scenario.ratioTo.filter((ref) => measured.some((c) => c.name === ref))
  const semantics = measured.some((c) => c.keepsDates !== undefined)
  const header = [
    'candidate',
    `median ${scenario.unit}`,
    'p75',
    'p99',
    'ops/s',
    ...refs.map((ref) => `x time of ${shortName(ref)}`),
    ...(semantics ? ['Date kept', 'copy per read'] : []),
    'M x N',
  ]
  const yesNo = (v: boolean | undefined, no: string) => (v === undefined ? '' : v ? 'yes' : no)
  const rows = measured.map((c) => {
    const s = c.stats!
    return [
      c.name,
      formatNs(s.medianNs),
      formatNs(s.p75Ns),
      formatNs(s.p99Ns),
      formatOps(s.opsPerSec),
      ...refs.map((ref) => ratioCell(c.ratios?.[ref] ?? Number.NaN, scenario.showOverhead)),
      ...(semantics ? [yesNo(c.keepsDates, 'no'), yesNo(c.isolatesCopies, 'no (shared)')] : []),
      `${s.iterations}x${s.samples}`,
    ]
  })
  if (rows.length > 0) console.log(table(header, rows))
  for (const c of result.candidates) {
    if (c.stats !== undefined) continue
    // A candidate that could not even start (a peer that does not support this setup) was not run.
    if (c.error?.startsWith('init: ')) console.log(`  not run: ${c.name}: ${c.error.slice(6)}`)
    else console.log(`  FAILED ${c.name}: ${c.error ?? 'unknown error'}`)
  }
  const facts = result.candidates.filter((c) => c.facts !== undefined)
  if (facts.length > 0) {
    const list = facts.map((c) => `${c.name} ${JSON.stringify(c.facts)}`)
    console.log(`  facts: ${list.join('; ')}`)
  }
  for (const note of result.notes) console.log(`  note: ${note}`)
  for (const c of result.candidates) {
    if (c.note !== undefined) console.log(`  note: ${c.name}: ${c.note}`)
  }
}

/** `1.06x`, or with `overhead` `1.06x (+6.0%)`. */
function ratioCell(ratio: number, overhead: boolean | undefined): string {
  if (!overhead || !Number.isFinite(ratio)) return formatRatio(ratio)
  const percent = (ratio - 1) * 100
  return `${formatRatio(ratio)} (${percent >= 0 ? '+' : ''}${percent.toFixed(1)}%)`
}

function shortName(name: string): string {
  return name.replace(/ \(.*\)$/, '').replace(/ \+ JSON\.parse$/, '')
}

interface TargetResult extends Target {
  measured?: number
  pairedP25?: number
  pairedP75?: number
  pass?: boolean
  reason?: string
}

function evaluateTargets(results: readonly ScenarioResult[]): TargetResult[] {
  const out: TargetResult[] = []
  for (const target of TARGETS) {
    const scenario = results.find((r) => r.id === target.scenario)
    if (scenario === undefined) continue
    const subject = scenario.candidates.find((c) => c.name === target.subject)?.stats
    const against = scenario.candidates.find((c) => c.name === target.against)?.stats
    if (subject === undefined || against === undefined) {
      out.push({ ...target, reason: scenario.skipped ?? 'a candidate failed' })
      continue
    }
    if (target.kind === 'max-ratio') {
      const measured = subject.medianNs / against.medianNs
      const paired = pairedRatio(subject, against)
      out.push({
        ...target,
        measured,
        pairedP25: paired.p25,
        pairedP75: paired.p75,
        pass: measured <= target.limit,
      })
    } else {
      const measured = against.medianNs / subject.medianNs
      const paired = pairedRatio(against, subject)
      out.push({
        ...target,
        measured,
        pairedP25: paired.p25,
        pairedP75: paired.p75,
        pass: measured >= target.limit,
      })
    }
  }
  return out
}

function printTargets(targets: readonly TargetResult[]): void {
  if (targets.length === 0) return
  console.log('\n## Targets (issue 2, section 4; issue 4, section 6: Prisma)\n')
  const rows = targets.map((t) => {
    const unit = t.kind === 'max-ratio' ? 'time' : 'faster'
    const limit = `${t.kind === 'max-ratio' ? '<=' : '>='} ${formatRatio(t.limit)} ${unit}`
    if (t.measured === undefined) return [t.label, limit, `not measured (${t.reason})`, '', '']
    return [
      t.label,
      limit,
      `${formatRatio(t.measured)} ${unit}`,
      `${formatRatio(t.pairedP25!)} - ${formatRatio(t.pairedP75!)}`,
      t.informational ? 'info' : t.pass ? 'pass' : 'MISS',
    ]
  })
  const header = [
    'target',
    'limit',
    'measured (ratio of medians)',
    'paired rounds p25-p75',
    'result',
  ]
  console.log(table(header, rows, 'lrrrl'))
  console.log(
    '  "paired rounds": the ratio computed round by round (samples taken side by side), its p25-p75.',
  )
}

// ---------------------------------------------------------------------------------- machine info

function packageVersion(name: string): string | undefined {
  try {
    const path = join(HERE, '..', 'node_modules', name, 'package.json')
    return (JSON.parse(readFileSync(path, 'utf8')) as { version?: string }).version
  } catch {
    return undefined
  }
}

function gitRevision(): string | undefined {
  try {
    return execFileSync('git', ['describe', '--always', '--dirty'], {
      cwd: HERE,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim()
  } catch {
    return undefined
  }
}

async function redisVersion(admin: Redis | undefined): Promise<string | undefined> {
  if (admin === undefined) return undefined
  const info = await admin.info('server')
  return /redis_version:(\S+)/.exec(info)?.[1]
}

// ----------------------------------------------------------------------------------------- main

async function main(): Promise<void> {
  // Ctrl-C mid-run: drop the Prisma group's schema first, as the end of a run does.
  process.once('SIGINT', () => {
    closeSharedResources(log).finally(() => process.exit(130))
  })
  const args = parseArgs(process.argv.slice(2))
  if (args.list) {
    for (const s of [...SCENARIOS, ...STUDIES])
      console.log(`${s.id.padEnd(20)} ${s.group.padEnd(8)} ${s.title}`)
    return
  }
  const scenarios = SCENARIOS.filter((s) => selected(s, args.filters))
  const studies = STUDIES.filter((s) => selected(s, args.filters))
  if (scenarios.length === 0 && studies.length === 0) {
    console.error(
      `no scenario matches ${args.filters.join(' ')}; ids: ${[...SCENARIOS, ...STUDIES].map((s) => s.id).join(', ')}`,
    )
    process.exitCode = 2
    return
  }

  let admin: Redis | undefined
  if ([...scenarios, ...studies].some((s) => s.needsRedis)) {
    try {
      admin = await adminClient()
      await sweep(admin, ROOT_PREFIX)
    } catch (error) {
      log(`Redis not reachable at ${REDIS_URL} (${describe(error)}): the L2 scenarios are skipped.`)
      admin = undefined
    }
  }

  const cpus = os.cpus()
  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    v8: process.versions.v8,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpuCount: cpus.length,
    totalMemoryMiB: Math.round(os.totalmem() / 2 ** 20),
    loadAverageAtStart: os.loadavg(),
    redis: await redisVersion(admin),
    redisUrl: REDIS_URL,
    git: gitRevision(),
    packages: Object.fromEntries(
      [
        'lru-cache',
        'bentocache',
        'cache-manager',
        'keyv',
        '@keyv/redis',
        'ioredis',
        'msgpackr',
        '@prisma/client',
        'prisma-extension-redis',
      ].map((p) => [p, packageVersion(p)]),
    ),
    quick: args.quick,
    filters: args.filters,
    harness: args.harness,
    valueJsonBytes: Buffer.byteLength(JSON.stringify(ROW)),
  }
  console.log(`# stratacache benchmarks${args.quick ? ' (--quick: indicative only)' : ''}`)
  console.log(
    `${meta.date} · node ${meta.node} · ${meta.cpuModel} x${meta.cpuCount} · redis ${meta.redis ?? 'n/a'} · load ${meta.loadAverageAtStart.map((l) => l.toFixed(2)).join(' ')} · git ${meta.git ?? '?'}`,
  )
  console.log(
    `Each figure: median / p75 / p99 over ${args.harness.samples} samples (M awaited calls each, ~${args.harness.sampleMs} ms), candidates interleaved sample by sample. "x time of X" = median time / X's median time (lower is faster).`,
  )

  const started = Date.now()
  const results: ScenarioResult[] = []
  for (const scenario of scenarios) {
    log(`> ${scenario.id}: ${scenario.title}`)
    let result: ScenarioResult
    try {
      result = await runScenario(scenario, args, admin)
    } catch (error) {
      log(`  ! scenario ${scenario.id} aborted: ${describe(error)}`)
      result = {
        id: scenario.id,
        group: scenario.group,
        title: scenario.title,
        unit: scenario.unit,
        notes: [],
        skipped: `aborted: ${describe(error)}`,
        durationMs: 0,
        candidates: [],
      }
    }
    results.push(result)
    printScenario(scenario, result)
  }
  const targets = evaluateTargets(results)
  printTargets(targets)

  const studyResults: Record<string, unknown>[] = []
  for (const study of studies) {
    log(`> ${study.id}: ${study.title}`)
    console.log(`\n## ${study.title}  [${study.id}]\n`)
    const studyStarted = Date.now()
    const entry: Record<string, unknown> = { id: study.id, group: study.group, title: study.title }
    if (study.needsRedis && admin === undefined) {
      entry.skipped = `Redis is not reachable at ${REDIS_URL}`
      console.log(`skipped: ${entry.skipped}`)
    } else {
      const prefix = `${ROOT_PREFIX}${study.id}:`
      try {
        const { text, data } = await study.run({ quick: args.quick, prefix, log })
        console.log(text)
        entry.data = data
      } catch (error) {
        entry.skipped = `aborted: ${describe(error)}`
        console.log(`  ! ${study.id} aborted: ${describe(error)}`)
      } finally {
        if (admin !== undefined) await sweep(admin, prefix).catch(() => 0)
      }
    }
    entry.durationMs = Date.now() - studyStarted
    studyResults.push(entry)
  }
  // The Prisma group's seeded schema, dropped here; its description is the `prisma` section.
  const shared = await closeSharedResources(log)

  if (admin !== undefined) {
    await sweep(admin, ROOT_PREFIX).catch(() => 0)
    await admin.quit().catch(() => {})
  }
  const durationMs = Date.now() - started
  console.log(`\ntotal ${(durationMs / 1000).toFixed(1)} s · results: ${args.out}`)
  mkdirSync(dirname(args.out), { recursive: true })
  writeFileSync(
    args.out,
    `${JSON.stringify({ meta: { ...meta, durationMs, loadAverageAtEnd: os.loadavg() }, scenarios: results, targets, studies: studyResults, ...shared }, null, 2)}\n`,
  )
}

main().then(
  () => {
    // Peers may leave timers or sockets behind: the suite is over, do not wait for them.
    process.exit(process.exitCode ?? 0)
  },
  (error: unknown) => {
    console.error(error)
    // Drop the Prisma group's schema even so; then exit (peers may hold the event loop open).
    closeSharedResources(log).finally(() => process.exit(1))
  },
)

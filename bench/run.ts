import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Redis } from 'ioredis'
import { adminClient, REDIS_URL, ROOT_PREFIX, ROW, sweep } from './fixtures.js'
import { FULL, type HarnessOptions, QUICK } from './harness.js'
import { gitRevision, packageVersion, redisVersion } from './machine.js'
import { printScenario } from './report.js'
import { describe, log, runScenario, type ScenarioResult } from './run-scenario.js'
import type { Scenario, Study } from './scenario.js'
import { batch } from './scenarios/batch.js'
import { bulkCreateScenario, deepPage, transferScenario } from './scenarios/database.js'
import { l1Get, l1GetOrCompute } from './scenarios/l1-hit.js'
import { l2Get, l2GetConcurrent } from './scenarios/l2-hit.js'
import { missMemory, missTiered } from './scenarios/miss.js'
import { prismaCounters, prismaReadHeavy, prismaWriteHeavy } from './scenarios/prisma-mix.js'
import {
  prismaFindMany,
  prismaFindManyInclude,
  prismaFindUnique,
} from './scenarios/prisma-reads.js'
import { prismaWriteCost } from './scenarios/prisma-write-cost.js'
import { prismaCreate, prismaNestedCreate, prismaUpdate } from './scenarios/prisma-writes.js'
import { staleness } from './scenarios/staleness.js'
import { stampede } from './scenarios/stampede.js'
import { strictHit } from './scenarios/strict-hit.js'
import { closeSharedResources } from './shared-resource.js'
import { evaluateTargets, printTargets } from './targets.js'

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
  deepPage,
  transferScenario,
  bulkCreateScenario,
]

const STUDIES: Study[] = [
  staleness,
  stampede,
  prismaReadHeavy,
  prismaCounters,
  prismaWriteHeavy,
  prismaWriteCost,
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
      result = await runScenario(scenario, args.harness, admin)
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

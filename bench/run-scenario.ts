import type { Redis } from 'ioredis'
import { checkRow, REDIS_URL, ROOT_PREFIX, sweep } from './fixtures.js'
import { type HarnessOptions, measureGroup, type Runnable, type Stats } from './harness.js'
import type { CandidateInstance, Scenario } from './scenario.js'

export interface CandidateResult {
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

export interface ScenarioResult {
  id: string
  group: string
  title: string
  unit: string
  notes: string[]
  skipped?: string
  durationMs: number
  candidates: CandidateResult[]
}

export const log = (message: string) => process.stderr.write(`${message}\n`)

export function describe(error: unknown): string {
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

export async function runScenario(
  scenario: Scenario,
  harness: HarnessOptions,
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
    const { stats, failures } = await measureGroup(runnables, harness)
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

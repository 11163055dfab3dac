import { formatRatio, pairedRatio, table } from './harness.js'
import type { ScenarioResult } from './run-scenario.js'
import type { Target } from './scenario.js'
import { BATCH_SEQUENTIAL, BATCH_STRATA } from './scenarios/batch.js'
import { L1_BENTO, L1_CM, L1_DEFAULT, L1_LRU, L1_SHARED } from './scenarios/l1-hit.js'
import { L2_RAW, L2_STRATA } from './scenarios/l2-hit.js'
import { PRISMA_READ_TARGETS } from './scenarios/prisma-reads.js'
import { PRISMA_WRITE_TARGETS } from './scenarios/prisma-writes.js'

/** Performance targets of the cache, then of the Prisma extension. */
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

export interface TargetResult extends Target {
  measured?: number
  pairedP25?: number
  pairedP75?: number
  pass?: boolean
  reason?: string
}

export function evaluateTargets(results: readonly ScenarioResult[]): TargetResult[] {
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

export function printTargets(targets: readonly TargetResult[]): void {
  if (targets.length === 0) return
  console.log('\n## Targets (cache; Prisma extension)\n')
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

import { formatNs, formatOps, formatRatio, table } from './harness.js'
import type { ScenarioResult } from './run-scenario.js'
import type { Scenario } from './scenario.js'

export function printScenario(scenario: Scenario, result: ScenarioResult): void {
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

export function shortName(name: string): string {
  return name.replace(/ \(.*\)$/, '').replace(/ \+ JSON\.parse$/, '')
}

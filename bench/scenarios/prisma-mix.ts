/**
 * The Prisma mixes: read-heavy (95/5), write-heavy (50/50), and counters (90/10, writes mostly
 * view counts pages do not show). Throughput and latency of 32 concurrent workers through the
 * plain client, withCache (memory only, L1 + Redis) and prisma-extension-redis, every read checked
 * against the writes the same client acknowledged before it began (bench/prisma/version-ledger.ts)
 * and against an oracle that keeps an entry until its result changes (bench/prisma/mix-workload.ts).
 * Studies: they run once and print their table.
 */
import { formatNs, formatOps, formatRatio, table } from '../harness.js'
import { type ClientKind, openClient } from '../prisma/clients.js'
import {
  FULL_MIX,
  type MixCandidate,
  type MixResult,
  QUICK_MIX,
  runMix,
} from '../prisma/mix-runner.js'
import { type MixSpec, READ_SHARES, ZIPF_EXPONENT } from '../prisma/mix-workload.js'
import { shopDatabase } from '../prisma/shop-database.js'
import type { Study } from '../scenario.js'

const MIX_PLAIN = 'Prisma, no cache'

const CANDIDATES: { name: string; kind: ClientKind }[] = [
  { name: MIX_PLAIN, kind: 'plain' },
  { name: 'withCache, memory only', kind: 'memory' },
  { name: 'withCache, L1 + Redis', kind: 'tiered' },
  { name: 'prisma-extension-redis', kind: 'peer' },
]

const percent = (share: number) => `${Math.round(share * 100)}%`
const ms = (value: number) => formatNs(value * 1e6)

/** Share of the cached reads answered from the cache, from the client's own counters. */
function hitRate(facts: MixResult['facts']): string {
  const { hits, misses } = facts
  if (typeof hits !== 'number' || typeof misses !== 'number' || hits + misses <= 0) return '-'
  return `${((100 * hits) / (hits + misses)).toFixed(1)}%`
}

/** The cache's hits over the oracle's, on the same reads. */
function precision(r: MixResult): string {
  const { hits } = r.facts
  if (typeof hits !== 'number' || hits < 0 || r.oracleHits === 0) return '-'
  return `${((100 * hits) / r.oracleHits).toFixed(1)}%`
}

function describeReads(spec: MixSpec): string {
  const [byId, second, page] = READ_SHARES[spec.reads].map(percent)
  return spec.reads === 'rows'
    ? `${byId} findUnique by id, ${second} the same with its inventory, ${page} a category page of 20 with their inventory (whole rows)`
    : `${byId} a product card by id (select name, price, inventory.stock), ${second} its view counter (select name, viewCount), ${page} a category page of 20 cards`
}

function render(
  spec: MixSpec,
  results: readonly MixResult[],
  notRun: readonly string[],
  timing: typeof FULL_MIX,
): string {
  const plain = results.find((r) => r.name === MIX_PLAIN)
  const header = [
    'candidate',
    'ops/s',
    `x ops/s of ${MIX_PLAIN}`,
    'read p50',
    'read p99',
    'write p50',
    'write p99',
    'reads checked',
    'stale reads',
    'stale product / stock / rows',
    'cache hits',
    'oracle hits',
    'hits / oracle',
    'errors',
  ]
  const rows = results.map((r) => [
    r.name,
    formatOps(r.opsPerSec),
    plain === undefined ? '-' : formatRatio(r.opsPerSec / plain.opsPerSec),
    ms(r.readLatency.p50),
    ms(r.readLatency.p99),
    ms(r.writeLatency.p50),
    ms(r.writeLatency.p99),
    String(r.checkedReads),
    String(r.staleReads),
    `${r.staleFields.product} / ${r.staleFields.stock} / ${r.staleFields.wrongRows}`,
    hitRate(r.facts),
    `${((100 * r.oracleHits) / Math.max(1, r.checkedReads)).toFixed(1)}%`,
    precision(r),
    String(r.errors),
  ])
  const lines = [table(header, rows)]
  lines.push(
    `  ${timing.workers} concurrent workers; per candidate ${timing.fillMs} ms unrecorded from an empty cache, then ${timing.slices} slices of ${timing.sliceMs} ms taken in turn, each after ${timing.warmMs} ms unrecorded (caches stay warm between slices). Writes ${percent(spec.writeShare)}: ${percent(1 - spec.stockShareOfWrites)} product.update (viewCount + 1), ${percent(spec.stockShareOfWrites)} inventory.update (stock + 1). Reads: ${describeReads(spec)}. Keys: Zipf (exponent ${ZIPF_EXPONENT}) over the 1000 hot products and 50 categories.`,
    '  oracle hits: the reads an ideal cache would answer, one that drops an entry exactly when its result changes (the same read returned the same result last time); hits / oracle: the cache hits over those, on the same reads (all of them, from an empty cache).',
    '  stale read: it returned a viewCount or a stock lower than one that a write through the same client had acknowledged before the read began (rows: a page missing a row, or a row without its inventory). Every read is checked, warm-ups included; withCache must show 0. Writes made through the clients of the other candidates (another application, as far as this client can tell) are not counted.',
    '  prisma-extension-redis invalidates, on a write, the cached reads of the written model only (a SCAN for <prefix>:<Model>:*): an inventory write does not reach the product reads that include the inventory, which stay stale until a product write clears every product read, or their TTL (1 h) ends.',
  )
  for (const r of results) {
    if (r.firstError !== undefined)
      lines.push(`  errors of ${r.name}: ${r.errors}, first: ${r.firstError}`)
  }
  for (const reason of notRun) lines.push(`  not run: ${reason}`)
  return lines.join('\n')
}

function mixStudy(spec: MixSpec): Study {
  const reads = percent(1 - spec.writeShare)
  return {
    id: spec.id,
    group: 'prisma',
    title: `Prisma ${spec.label} mix (${reads} reads / ${percent(spec.writeShare)} writes): throughput, latency, stale reads`,
    needsRedis: true,
    async run(ctx) {
      const { seed } = await shopDatabase.get()
      const timing = ctx.quick ? QUICK_MIX : FULL_MIX
      const opened: MixCandidate[] = []
      const notRun: string[] = []
      try {
        for (const { name, kind } of CANDIDATES) {
          try {
            opened.push({ name, client: await openClient(kind, `${ctx.prefix}${kind}:`) })
          } catch (error) {
            const reason = error instanceof Error ? error.message.split('\n')[0] : String(error)
            notRun.push(`${name}: ${reason}`)
            ctx.log(`  ! ${name} failed to initialise: ${reason}`)
          }
        }
        const results = await runMix(spec, opened, seed, timing, ctx.log)
        return {
          text: render(spec, results, notRun, timing),
          data: { spec, timing, results, notRun },
        }
      } finally {
        for (const { name, client } of opened) {
          await client
            .close()
            .catch((error: unknown) => ctx.log(`  ! ${name} failed to close: ${String(error)}`))
        }
      }
    },
  }
}

export const prismaReadHeavy = mixStudy({
  id: 'prisma-mix-read-heavy',
  label: 'read-heavy',
  writeShare: 0.05,
  reads: 'rows',
  stockShareOfWrites: 0.4,
})

export const prismaWriteHeavy = mixStudy({
  id: 'prisma-mix-write-heavy',
  label: 'write-heavy',
  writeShare: 0.5,
  reads: 'rows',
  stockShareOfWrites: 0.4,
})

export const prismaCounters = mixStudy({
  id: 'prisma-mix-counters',
  label: 'counters',
  writeShare: 0.1,
  reads: 'display',
  stockShareOfWrites: 0.1,
})

/**
 * The value codec on its hot paths, against the alternatives a cache could use instead.
 *
 *   npx tsx bench/codec.ts            (about 15 s; writes bench/results/codec.json)
 *
 * Workload: a typical Prisma row (12 fields: strings, numbers, a boolean, null, two Dates, a
 * Decimal, and a relation of 5 small objects each with a Date). The Decimal is an immutable class
 * registered with `registerType`, as the Prisma layer registers Prisma's `Decimal`.
 *
 * Groups:
 * - L2 round trip (encode + decode): ours (msgpackr + extensions + entry header), msgpackr alone
 *   (no validation walk, loses Map/Decimal), superjson, JSON with a Date reviver (loses Decimal).
 * - per L1 hit: `cloneValue` vs `structuredClone` (turns the Decimal into a plain object) vs
 *   decoding msgpack bytes on each read (an L1 that stores bytes instead of objects).
 * - set path: `copyValue` (validating copy) and `encodeEntry`.
 * - compression: raw deflate levels on 50 rows (the threshold's typical victim).
 *
 * Times are medians of per-sample means, with samples of all candidates of a group interleaved
 * so that noise on this shared machine hits them alike. Ratios are to our candidate (row 1 of
 * each group): above 1 means slower than ours.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { deflateRawSync, inflateRawSync } from 'node:zlib'
import { Packr } from 'msgpackr'
import superjson from 'superjson'
import {
  cloneValue,
  copyValue,
  decodeEntry,
  encodeEntry,
  registerType,
} from '../src/cache/codec.js'
import { packr } from '../src/cache/msgpack.js'
import { toPackable } from '../src/cache/packable.js'

class Decimal {
  readonly digits: string
  constructor(digits: string) {
    this.digits = digits
    Object.freeze(this)
  }
  toJSON(): string {
    return this.digits
  }
}
registerType<Decimal>({
  name: 'bench.Decimal',
  is: (value): value is Decimal => value instanceof Decimal,
  serialize: (value) => value.digits,
  deserialize: (data) => new Decimal(data as string),
})
superjson.registerCustom<Decimal, string>(
  {
    isApplicable: (value): value is Decimal => value instanceof Decimal,
    serialize: (value) => value.digits,
    deserialize: (data) => new Decimal(data),
  },
  'Decimal',
)

function prismaRow() {
  return {
    id: 4242,
    email: 'ada.lovelace@example.com',
    name: 'Ada Lovelace',
    role: 'ADMIN',
    balance: new Decimal('12345.67'),
    score: 98.5,
    loginCount: 1234,
    active: true,
    createdAt: new Date('2024-02-29T12:34:56.789Z'),
    updatedAt: new Date('2025-01-01T08:00:00.123Z'),
    deletedAt: null,
    posts: Array.from({ length: 5 }, (_, i) => ({
      id: 1000 + i,
      title: `Notes on the Analytical Engine, part ${i + 1}`,
      published: i % 2 === 0,
      views: i * 137,
      createdAt: new Date(1_700_000_000_000 + i * 86_400_000),
    })),
  }
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z$/
const reviveDates = (_key: string, value: unknown): unknown =>
  typeof value === 'string' && ISO_DATE.test(value) ? new Date(value) : value

const row = copyValue(prismaRow())
const entry = { value: row, freshUntil: Date.now() + 60_000, tags: ['user:4242', 'users'] }
const entryBytes = encodeEntry(entry, Number.POSITIVE_INFINITY)
const bodyBytes = packr().pack(toPackable(row))
const plainPackr = new Packr({ moreTypes: true, useRecords: false })
const superjsonText = superjson.stringify(row)
const jsonText = JSON.stringify(row)

// Each contender must give the row back; a fast wrong answer is not a result.
{
  const decoded = decodeEntry(entryBytes, 'k').value as ReturnType<typeof prismaRow>
  const viaSuperjson = superjson.parse<ReturnType<typeof prismaRow>>(superjsonText)
  const viaJson = JSON.parse(jsonText, reviveDates) as ReturnType<typeof prismaRow>
  const cloned = cloneValue(row) as ReturnType<typeof prismaRow>
  for (const [name, out] of [
    ['ours', decoded],
    ['superjson', viaSuperjson],
    ['json', viaJson],
    ['clone', cloned],
  ] as const) {
    if (
      !(out.posts[4]!.createdAt instanceof Date) ||
      out.posts[4]!.createdAt.getTime() !== 1_700_345_600_000
    ) {
      throw new Error(`${name} did not restore Dates`)
    }
  }
  if (!(decoded.balance instanceof Decimal) || !(viaSuperjson.balance instanceof Decimal)) {
    throw new Error('Decimal not restored')
  }
}

let sink: unknown
interface Candidate {
  name: string
  run: () => unknown
  bytes?: number
  note?: string
}
interface Result {
  group: string
  name: string
  medianNs: number
  p75Ns: number
  ratio: number
  bytes?: number
  note?: string
}

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 25)
const SAMPLE_MS = 15
const WARMUP_MS = 150

function timeCalls(run: () => unknown, calls: number): number {
  const start = process.hrtime.bigint()
  for (let i = 0; i < calls; i++) sink = run()
  return Number(process.hrtime.bigint() - start)
}

function calibrate(run: () => unknown): number {
  let calls = 1
  const warmupEnd = performance.now() + WARMUP_MS
  while (performance.now() < warmupEnd) timeCalls(run, 100)
  for (;;) {
    const ns = timeCalls(run, calls)
    if (ns >= SAMPLE_MS * 1e6 || calls >= 5_000_000) return calls
    calls = Math.min(
      5_000_000,
      Math.max(calls * 2, Math.ceil((calls * SAMPLE_MS * 1e6) / Math.max(ns, 1))),
    )
  }
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}

function measureGroup(group: string, candidates: Candidate[]): Result[] {
  const calls = candidates.map((c) => calibrate(c.run))
  const samples: number[][] = candidates.map(() => [])
  for (let round = 0; round < SAMPLES; round++) {
    for (let k = 0; k < candidates.length; k++) {
      const i = (k + round) % candidates.length
      samples[i]!.push(timeCalls(candidates[i]!.run, calls[i]!) / calls[i]!)
    }
  }
  const medians = samples.map((s) =>
    quantile(
      [...s].sort((a, b) => a - b),
      0.5,
    ),
  )
  return candidates.map((c, i) => ({
    group,
    name: c.name,
    medianNs: medians[i]!,
    p75Ns: quantile(
      [...samples[i]!].sort((a, b) => a - b),
      0.75,
    ),
    ratio: medians[i]! / medians[0]!,
    ...(c.bytes === undefined ? {} : { bytes: c.bytes }),
    ...(c.note === undefined ? {} : { note: c.note }),
  }))
}

const results: Result[] = []
const started = performance.now()

results.push(
  ...measureGroup('L2 round trip (encode + decode)', [
    {
      name: 'stratacache encodeEntry + decodeEntry',
      run: () => decodeEntry(encodeEntry(entry, Number.POSITIVE_INFINITY), 'k'),
      bytes: entryBytes.length,
    },
    {
      name: 'msgpackr pack + unpack, no walk',
      run: () => plainPackr.unpack(plainPackr.pack(row)),
      bytes: plainPackr.pack(row).length,
      note: 'lossy: Decimal becomes {digits}, Map becomes object, -0 becomes 0',
    },
    {
      name: 'superjson stringify + parse',
      run: () => superjson.parse(superjson.stringify(row)),
      bytes: Buffer.byteLength(superjsonText),
    },
    {
      name: 'JSON.stringify + parse(Date reviver)',
      run: () => JSON.parse(JSON.stringify(row), reviveDates),
      bytes: Buffer.byteLength(jsonText),
      note: 'lossy: Decimal becomes a string; no bigint, Map, Set, Buffer, undefined',
    },
  ]),
)

results.push(
  ...measureGroup('L2 decode only', [
    { name: 'stratacache decodeEntry', run: () => decodeEntry(entryBytes, 'k') },
    { name: 'superjson parse', run: () => superjson.parse(superjsonText) },
    { name: 'JSON.parse(Date reviver)', run: () => JSON.parse(jsonText, reviveDates) },
  ]),
)

results.push(
  ...measureGroup('per L1 hit (private copy for the caller)', [
    { name: 'cloneValue', run: () => cloneValue(row) },
    {
      name: 'structuredClone',
      run: () => structuredClone(row),
      note: 'lossy: class instances (Decimal) become plain objects',
    },
    {
      name: 'msgpack decode per read (L1 holds bytes)',
      run: () => packr().unpack(bodyBytes),
      bytes: bodyBytes.length,
    },
  ]),
)

const rawRow = prismaRow()
results.push(
  ...measureGroup('set path', [
    { name: 'copyValue (validating copy)', run: () => copyValue(rawRow) },
    { name: 'toPackable (pre-pack walk)', run: () => toPackable(row) },
    { name: 'encodeEntry (walk + pack + header)', run: () => encodeEntry(entry, 1024) },
  ]),
)

/** 50 different rows (a seeded PRNG varies every field), so deflate cannot just repeat row 1. */
function variedRows(count: number): unknown[] {
  let seed = 42
  const next = (): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
    return seed / 2_147_483_648
  }
  const words = [
    'engine',
    'note',
    'analysis',
    'bernoulli',
    'loom',
    'card',
    'table',
    'series',
    'poem',
  ]
  const word = (): string => words[Math.floor(next() * words.length)]!
  return Array.from({ length: count }, (_, i) => {
    const row = prismaRow()
    return {
      ...row,
      id: 10_000 + i,
      email: `${word()}.${word()}${Math.floor(next() * 1000)}@example.com`,
      name: `${word()} ${word()}`,
      balance: new Decimal((next() * 100_000).toFixed(2)),
      score: Math.round(next() * 10_000) / 100,
      loginCount: Math.floor(next() * 5000),
      createdAt: new Date(1_600_000_000_000 + Math.floor(next() * 1e11)),
      posts: row.posts.map((post) => ({
        ...post,
        id: Math.floor(next() * 1e6),
        title: `${word()} ${word()} ${word()} ${Math.floor(next() * 100)}`,
        views: Math.floor(next() * 1e5),
        createdAt: new Date(1_600_000_000_000 + Math.floor(next() * 1e11)),
      })),
    }
  })
}

const rows = copyValue(variedRows(50))
const body = packr().pack(toPackable(rows))
const levels = [1, 3, 6, 9]
const deflated = levels.map((level) => deflateRawSync(body, { level }))
const compression = measureGroup(
  `deflate-raw of 50 varied rows (${body.length} bytes of msgpack)`,
  [
    ...levels.map((level, i) => ({
      name: `deflate level ${level}`,
      run: () => deflateRawSync(body, { level }),
      bytes: deflated[i]!.length,
    })),
    { name: 'inflate (level 1 output)', run: () => inflateRawSync(deflated[0]!) },
  ],
)
results.push(...compression)

const elapsedS = (performance.now() - started) / 1000

function formatNs(ns: number): string {
  return ns >= 10_000 ? `${(ns / 1000).toFixed(1)} µs` : `${Math.round(ns)} ns`
}

let currentGroup = ''
const lines: string[] = []
const header = `${'candidate'.padEnd(46)} ${'median'.padStart(10)} ${'p75'.padStart(10)} ${'ratio'.padStart(7)} ${'bytes'.padStart(7)}`
for (const r of results) {
  if (r.group !== currentGroup) {
    currentGroup = r.group
    lines.push('', `## ${r.group}`, header)
  }
  lines.push(
    `${r.name.padEnd(46)} ${formatNs(r.medianNs).padStart(10)} ${formatNs(r.p75Ns).padStart(10)} ${`${r.ratio.toFixed(2)}x`.padStart(7)} ${String(r.bytes ?? '').padStart(7)}${r.note ? `  (${r.note})` : ''}`,
  )
}
console.log(
  `codec benchmark, node ${process.version}, ${SAMPLES} interleaved samples per candidate`,
)
console.log(lines.join('\n'))
console.log(`\nratio: median time / first row of the group (ours). ${elapsedS.toFixed(1)} s`)

const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'codec.json')
mkdirSync(dirname(out), { recursive: true })
writeFileSync(
  out,
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, samples: SAMPLES, results }, null, 2)}\n`,
)
console.log(`wrote ${out}`)
if (sink === Symbol.for('never')) console.log('')

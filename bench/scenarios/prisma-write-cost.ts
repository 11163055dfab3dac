/**
 * Where the time of a Prisma write goes, per client: `product.update` by id, one at a time,
 * through the plain client, an empty query extension, and withCache memory only and L1 + Redis,
 * in interleaved rounds. Per write: wall time, this process's CPU (and the kernel's share of it,
 * mostly socket reads and writes), Redis's CPU, and the Redis calls sent and commands run. The
 * last row is one Redis round trip (PING) on its own: what any call to Redis costs this process,
 * which on a machine with costly system calls is most of what Redis adds to a write.
 */
import type { Redis } from 'ioredis'
import { adminClient } from '../fixtures.js'
import { formatNs, quantile, table } from '../harness.js'
import { type ClientKind, type ClientUnderTest, openClient } from '../prisma/clients.js'
import { shopDatabase } from '../prisma/shop-database.js'
import { cycle, type Study } from '../scenario.js'

const KINDS: { name: string; kind: ClientKind }[] = [
  { name: 'Prisma, no cache', kind: 'plain' },
  { name: 'Prisma, empty query extension', kind: 'extended' },
  { name: 'withCache, memory only', kind: 'memory' },
  { name: 'withCache, L1 + Redis', kind: 'tiered' },
]

interface Sample {
  wallNs: number
  cpuNs: number
  kernelNs: number
  redisCpuNs: number
  /** Calls sent to Redis (EVAL, EVALSHA, GET...), and commands run there (scripts' own too). */
  calls: number
  commands: number
}

/** Redis's CPU seconds, and its command counts by name (from INFO). */
async function redisCounters(redis: Redis): Promise<{ cpu: number; calls: Map<string, number> }> {
  const text = await redis.info('all')
  const number = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(text)?.[1] ?? 0)
  const calls = new Map<string, number>()
  for (const m of text.matchAll(/^cmdstat_([\w|]+):calls=(\d+)/gm)) calls.set(m[1]!, Number(m[2]))
  return { cpu: number('used_cpu_user') + number('used_cpu_sys'), calls }
}

/** Commands Redis runs inside scripts, as opposed to calls a client sends. */
const SCRIPTED = new Set(['time', 'get', 'set', 'spop', 'unlink', 'scard', 'publish', 'sadd'])
const OURS = new Set(['info']) // this study's own readings

async function measure(redis: Redis, n: number, run: () => PromiseLike<unknown>): Promise<Sample> {
  const before = await redisCounters(redis)
  const cpu = process.cpuUsage()
  const started = process.hrtime.bigint()
  for (let i = 0; i < n; i++) await run()
  const wallNs = Number(process.hrtime.bigint() - started)
  const used = process.cpuUsage(cpu)
  const after = await redisCounters(redis)
  let calls = 0
  let commands = 0
  for (const [name, count] of after.calls) {
    if (OURS.has(name)) continue
    const delta = count - (before.calls.get(name) ?? 0)
    commands += delta
    if (!SCRIPTED.has(name)) calls += delta
  }
  return {
    wallNs: wallNs / n,
    cpuNs: ((used.user + used.system) * 1000) / n,
    kernelNs: (used.system * 1000) / n,
    redisCpuNs: ((after.cpu - before.cpu) * 1e9) / n,
    calls: calls / n,
    commands: commands / n,
  }
}

const median = (values: number[]) =>
  quantile(
    [...values].sort((a, b) => a - b),
    0.5,
  )

export const prismaWriteCost: Study = {
  id: 'prisma-write-cost',
  group: 'prisma',
  title: 'Where a Prisma write goes: product.update by id, one at a time; CPU and Redis per write',
  needsRedis: true,
  async run(ctx) {
    const rounds = ctx.quick ? 3 : 7
    const writesPerRound = ctx.quick ? 200 : 600
    const db = await shopDatabase.get()
    const redis = await adminClient()
    const clients: ClientUnderTest[] = []
    try {
      for (const { kind } of KINDS) clients.push(await openClient(kind, `${ctx.prefix}${kind}:`))
      const writers = clients.map((client) => {
        const next = cycle(db.seed.hotProductIds)
        let n = 0
        return () =>
          client.shop.product.update({
            where: { id: next() },
            data: { price: `${10 + (n++ % 90)}.50` },
          })
      })
      const ping = () => redis.ping()
      const samples: Sample[][] = [...KINDS, 'ping'].map(() => [])
      for (const writer of writers) await measure(redis, 100, writer) // warm up
      for (let round = 0; round < rounds; round++) {
        for (let i = 0; i < writers.length; i++) {
          samples[i]!.push(await measure(redis, writesPerRound, writers[i]!))
        }
        samples[writers.length]!.push(await measure(redis, writesPerRound, ping))
        ctx.log(`  round ${round + 1}/${rounds}`)
      }
      const names = [...KINDS.map((k) => k.name), 'one Redis round trip (PING), for reference']
      const rows = samples.map((s, i) => {
        const of = (field: keyof Sample) => median(s.map((sample) => sample[field]))
        return [
          names[i]!,
          formatNs(of('wallNs')),
          formatNs(of('cpuNs')),
          formatNs(of('kernelNs')),
          formatNs(of('redisCpuNs')),
          of('calls').toFixed(1),
          of('commands').toFixed(1),
        ]
      })
      const header = [
        'candidate',
        'wall per write',
        'CPU here',
        'of it kernel',
        'Redis CPU',
        'Redis calls',
        'commands run',
      ]
      const text = [
        table(header, rows),
        `  Medians of ${rounds} rounds of ${writesPerRound} writes per candidate, taken in turn. "CPU here": this process's user + system CPU per write (Prisma's query compiler included); "Redis CPU": the server's, read from INFO; "commands run" counts the commands inside scripts too.`,
      ].join('\n')
      return { text, data: { names, samples } }
    } finally {
      for (const client of clients) await client.close().catch(() => {})
      redis.disconnect()
    }
  },
}

/**
 * The shop demo under load: `npm run bench:shop`. Each candidate (no cache, memory only, L1 +
 * Redis) runs the demo in a process of its own on one PostgreSQL database, and autocannon drives
 * it from this process with many connections over a mix of its endpoints (see `nextRequest`).
 * Each candidate runs two phases, and each prints requests per second, latency percentiles,
 * non-2xx answers and the cache's hit rate:
 * - users: 500 users who each send one request a second (a closed loop with a rate cap: a user
 *   waits for an answer before the next request), 500 requests a second offered, the users
 *   starting 50 ms apart in 20 groups (see `driveUsers`). The question is how fast each answer
 *   comes while the server keeps up, or how far behind it falls.
 * - capacity: the same connections sending as fast as they get answers, without a cap. Latency is
 *   then connections / throughput by construction (Little's law): it measures throughput only.
 *
 * Environment: SHOP_LOAD_CONNECTIONS (500), SHOP_LOAD_RATE (requests per second per user, 1),
 * SHOP_LOAD_SECONDS (20 per phase), SHOP_LOAD_WARMUP (15 s before the phases), SHOP_LOAD_PRODUCTS (5000),
 * DATABASE_URL (postgresql://postgres@127.0.0.1:5432/test), REDIS_URL (redis://127.0.0.1:6379);
 * SHOP_LOAD_ONLY (run the candidates whose name contains it), SHOP_LOAD_DETAIL=1 (per model and
 * operation figures), SHOP_LOAD_PROFILE=<dir> (a CPU profile of each server, `--cpu-prof`).
 */
import { type ChildProcess, fork } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import pg from 'pg'
import { CATEGORY_TREE } from '../../examples/shop/catalog-words.js'

const CONNECTIONS = Number(process.env.SHOP_LOAD_CONNECTIONS ?? 500)
const RATE = Number(process.env.SHOP_LOAD_RATE ?? 1)
const SECONDS = Number(process.env.SHOP_LOAD_SECONDS ?? 20)
const WARMUP_SECONDS = Number(process.env.SHOP_LOAD_WARMUP ?? 15)
const PRODUCTS = Number(process.env.SHOP_LOAD_PRODUCTS ?? 5000)
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test'
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const SCHEMA = 'shop_load'
const SERVER = fileURLToPath(new URL('./server.ts', import.meta.url))

interface Candidate {
  name: string
  env: Record<string, string>
}

const CANDIDATES: Candidate[] = [
  { name: 'no cache (CACHE_ENABLED=false)', env: { CACHE_ENABLED: 'false' } },
  { name: 'withCache, memory only', env: {} },
  { name: 'withCache, L1 + Redis', env: { REDIS_URL } },
]

const LEAVES = CATEGORY_TREE.flatMap((top) => [top.slug, ...top.children.map((c) => c.slug)])
const WORDS = ['pro', 'mini', 'max', 'lite', 'air', 'smart', 'classic', 'eco']

/** A product id skewed towards the first ones: a few products get most of the views. */
function popularProduct(): number {
  return 1 + Math.floor(PRODUCTS * Math.random() ** 3)
}

function pick<T>(list: readonly T[]): T {
  return list[Math.floor(Math.random() * list.length)]!
}

/**
 * One request of the mix, as autocannon takes it: a shop's traffic is mostly browsing. 60 %
 * product pages, 20 % category listings (first pages most), 10 % searches, 7 % the category
 * tree, 2 % orders and 1 % price and stock updates, products skewed towards the popular ones.
 */
function nextRequest(): {
  method: 'GET' | 'POST' | 'PATCH'
  path: string
  body?: string
  headers?: Record<string, string>
} {
  const roll = Math.random()
  const json = { 'content-type': 'application/json' }
  if (roll < 0.6) return { method: 'GET', path: `/products/${popularProduct()}` }
  if (roll < 0.8) {
    const page = 1 + Math.floor(Math.random() ** 2 * 5)
    return { method: 'GET', path: `/products?category=${pick(LEAVES)}&page=${page}&pageSize=20` }
  }
  if (roll < 0.9) return { method: 'GET', path: `/products/search?q=${pick(WORDS)}&pageSize=10` }
  if (roll < 0.97) return { method: 'GET', path: '/categories' }
  if (roll < 0.99) {
    const items = [{ productId: popularProduct(), quantity: 1 }]
    return {
      method: 'POST',
      path: '/orders',
      headers: json,
      body: JSON.stringify({ userId: 1 + Math.floor(Math.random() * 100), items }),
    }
  }
  const price = (5 + Math.random() * 200).toFixed(2)
  return {
    method: 'PATCH',
    path: `/products/${popularProduct()}`,
    headers: json,
    body: JSON.stringify({ price: Number(price), stock: 1000 }),
  }
}

async function startServer(
  candidate: Candidate,
): Promise<{ child: ChildProcess; url: string; adminToken: string }> {
  const url = new URL(DATABASE_URL)
  url.searchParams.set('schema', SCHEMA)
  const profile = process.env.SHOP_LOAD_PROFILE
  const child = fork(SERVER, [], {
    execArgv: ['--import', 'tsx', ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [])],
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      PORT: '0',
      DATABASE_URL: url.toString(),
      SHOP_SEED_PRODUCTS: String(PRODUCTS),
      DATABASE_POOL_SIZE: '20',
      ...candidate.env,
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const [message] = (await once(child, 'message')) as [{ url: string; adminToken: string }]
  return { child, ...message }
}

async function stopServer(child: ChildProcess): Promise<void> {
  const exited = once(child, 'exit')
  child.send({ type: 'close' })
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))])
  if (child.exitCode === null) child.kill('SIGKILL')
}

async function hitRate(url: string): Promise<{ hits: number; misses: number }> {
  const stats = (await (await fetch(`${url}/ops/api/performance/stats`)).json()) as {
    queries: { totals: { hits: number; misses: number; swr: number } } | null
  }
  const totals = stats.queries?.totals
  return { hits: (totals?.hits ?? 0) + (totals?.swr ?? 0), misses: totals?.misses ?? 0 }
}

interface Row {
  name: string
  phase: string
  rps: number
  mean: number
  p50: number
  p95: number
  p99: number
  non2xx: number
  errors: number
  hitRate: number | undefined
}

type Measured = Omit<Row, 'name' | 'phase' | 'hitRate'>

/** Drives the server for `seconds` with every connection sending as fast as it is answered. */
async function drive(url: string, seconds: number): Promise<Measured> {
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [{ setupRequest: (request) => ({ ...request, ...nextRequest() }) }],
  })
  return {
    rps: result.requests.average,
    mean: result.latency.average,
    p50: result.latency.p50,
    p95: interpolateP95(result.latency),
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  }
}

/** Groups the users start in, `USER_STAGGER_MS` apart (see {@link driveUsers}). */
const USER_GROUPS = 20
const USER_STAGGER_MS = 1000 / USER_GROUPS

/**
 * `CONNECTIONS` users sending `rate` requests a second each, for `seconds`. autocannon's rate cap
 * releases every capped connection on one shared second boundary, so one instance would send all
 * 500 requests in the same millisecond, once a second: a herd, not users. The users start in 20
 * groups 50 ms apart instead, and each response's time is recorded here (instances' percentiles
 * cannot be merged).
 */
async function driveUsers(url: string, seconds: number, rate: number): Promise<Measured> {
  const times: number[] = []
  let non2xx = 0
  let errors = 0
  const runs: Promise<void>[] = []
  const perGroup = Math.ceil(CONNECTIONS / USER_GROUPS)
  for (let group = 0; group < USER_GROUPS; group++) {
    const connections = Math.min(perGroup, CONNECTIONS - group * perGroup)
    if (connections <= 0) break
    runs.push(
      new Promise<void>((resolve, reject) => {
        const instance = autocannon(
          {
            url,
            connections,
            connectionRate: rate,
            duration: seconds,
            requests: [{ setupRequest: (request) => ({ ...request, ...nextRequest() }) }],
          },
          (error: unknown, result: autocannon.Result) => {
            if (error) return reject(error)
            errors += result.errors + result.timeouts
            resolve()
          },
        )
        instance.on('response', (_client, status, _bytes, ms) => {
          times.push(ms)
          if (status < 200 || status > 299) non2xx++
        })
      }),
    )
    await new Promise((resolve) => setTimeout(resolve, USER_STAGGER_MS))
  }
  await Promise.all(runs)
  times.sort((a, b) => a - b)
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0
  return {
    rps: times.length / seconds,
    mean: times.reduce((sum, t) => sum + t, 0) / Math.max(1, times.length),
    p50: at(0.5),
    p95: at(0.95),
    p99: at(0.99),
    non2xx,
    errors,
  }
}

/** p95 between autocannon's p90 and p97.5 (linear): its histogram has no p95 of its own. */
function interpolateP95(latency: { p90: number; p97_5: number }): number {
  return latency.p90 + ((95 - 90) / (97.5 - 90)) * (latency.p97_5 - latency.p90)
}

/** Per model and operation: calls, hit rate, database p50 / p99 (SHOP_LOAD_DETAIL=1). */
async function printOperations(url: string, adminToken: string): Promise<void> {
  const response = await fetch(`${url}/ops/api/performance/queries`, {
    headers: { authorization: `Bearer ${adminToken}` },
  })
  const { operations } = (await response.json()) as {
    operations: Record<
      string,
      {
        queries: number
        hits: number
        misses: number
        uncached: number
        db: { p50: number; p99: number }
      }
    >
  }
  for (const [name, op] of Object.entries(operations).sort((a, b) => b[1].queries - a[1].queries)) {
    const reads = op.hits + op.misses
    const rate = reads === 0 ? '-' : `${((100 * op.hits) / reads).toFixed(1)} %`
    console.log(
      `    ${name}: ${op.queries} calls, hits ${rate}, uncached ${op.uncached}, db p50 ${op.db.p50.toFixed(1)} ms p99 ${op.db.p99.toFixed(1)} ms`,
    )
  }
}

async function main(): Promise<void> {
  const admin = new pg.Client({ connectionString: DATABASE_URL })
  await admin.connect()
  await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`)
  await admin.end()
  console.log(
    `shop under load: ${CONNECTIONS} connections, ${SECONDS} s per phase, ${PRODUCTS} products`,
  )
  const rows: Row[] = []
  const only = process.env.SHOP_LOAD_ONLY
  for (const candidate of CANDIDATES.filter((c) => only === undefined || c.name.includes(only))) {
    const { child, url, adminToken } = await startServer(candidate) // the first one seeds the schema
    try {
      // Warm-up as fast as it goes: connections, JIT, and the cache's working set, so the phases
      // measure a server that has been up a while rather than one just deployed.
      await drive(url, WARMUP_SECONDS)
      const phases = [
        { phase: `${CONNECTIONS} users at ${RATE}/s`, rate: RATE },
        { phase: 'capacity', rate: undefined },
      ]
      for (const { phase, rate } of phases) {
        const before = await hitRate(url)
        const measured =
          rate === undefined ? await drive(url, SECONDS) : await driveUsers(url, SECONDS, rate)
        const after = await hitRate(url)
        const hits = after.hits - before.hits
        const misses = after.misses - before.misses
        const row: Row = {
          name: candidate.name,
          phase,
          ...measured,
          hitRate: hits + misses === 0 ? undefined : hits / (hits + misses),
        }
        rows.push(row)
        console.log(
          `  ${row.name}, ${phase}: ${row.rps.toFixed(0)} req/s, p50 ${ms(row.p50)} ms, p99 ${ms(row.p99)} ms`,
        )
      }
      if (process.env.SHOP_LOAD_DETAIL) await printOperations(url, adminToken)
    } finally {
      await stopServer(child)
    }
  }
  for (const phase of new Set(rows.map((r) => r.phase)))
    printTable(rows.filter((r) => r.phase === phase))
}

/** A latency as shown: one decimal under 100 ms, whole milliseconds above. */
function ms(value: number): string {
  return value < 100 ? value.toFixed(1) : value.toFixed(0)
}

function printTable(rows: Row[]): void {
  const base = rows[0]!
  console.log(`\n${base.phase}:\n`)
  console.log(
    '| candidate | req/s | vs first | mean ms | p50 ms | p95 ms | p99 ms | non-2xx | errors | Prisma read hit rate |',
  )
  console.log('|---|---|---|---|---|---|---|---|---|---|')
  for (const r of rows) {
    console.log(
      `| ${r.name} | ${r.rps.toFixed(0)} | ${(r.rps / base.rps).toFixed(2)}x | ${ms(r.mean)} | ${ms(r.p50)} | ${ms(r.p95)} | ${ms(r.p99)} | ${r.non2xx} | ${r.errors} | ${r.hitRate === undefined ? '-' : `${(100 * r.hitRate).toFixed(1)} %`} |`,
    )
  }
}

await main()

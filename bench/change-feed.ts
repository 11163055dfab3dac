/**
 * Change feed measurements, outside the main harness (each run starts its own PostgreSQL with
 * `wal_level = logical`, with test/support/postgres-server.ts, and uses the shared Redis under a
 * prefix of its own): `npx tsx bench/change-feed.ts` (about 2-3 minutes; writes
 * bench/results/change-feed.json).
 *
 * - Latency: instance A (PrismaClient + withCache + CacheManager, the feed on: the consumer) and
 *   instance B (same Redis and prefix, no feed). B reads a product (cached in its L1); a raw `pg`
 *   client outside both commits an UPDATE of it; from the moment COMMIT returned to that writer to
 *   the moment B's CacheManager applied the invalidation another instance made (its `invalidate`
 *   event with `remote: true`), one write at a time. The feed's call into A's cache is timed too,
 *   to split the latency: commit to the consumer, the consumer to B (Redis + bus).
 * - Throughput and cost: pgbench with a one-row UPDATE of `Product` per transaction, from 8
 *   clients, with no feed, with the logical feed consuming (replica identity DEFAULT and FULL) and
 *   with the notify triggers and their consumer: TPS, WAL bytes per transaction, the rows per
 *   second the feed invalidated while the load ran, its lag when the load stopped and the time it
 *   took to catch up.
 * - Bulk: one transaction updating every product, from its COMMIT to the feed's invalidation.
 *
 * PostgreSQL, pgbench, Redis and this process share the machine's cores: the numbers compare the
 * modes with each other in one run, they do not predict a real deployment.
 *
 * Env: CHANGE_FEED_BENCH_SECONDS (pgbench run, default 5), CHANGE_FEED_BENCH_ROUNDS (latency
 * writes per variant, default 500), CHANGE_FEED_BENCH_SLOW_ROUNDS (the same for the variant
 * whose writes each wait for the WAL writer, about 200 ms apiece, default 150),
 * CHANGE_FEED_BENCH_DRAIN_LIMIT_MS (default 60000), CHANGE_FEED_BENCH_ROWS (products, the bulk
 * size, default 100000), CHANGE_FEED_BENCH_CLIENTS (pgbench clients, default 8).
 *
 * The test server runs `synchronous_commit = off` (and `fsync = off`): a commit returns before its
 * WAL is flushed, and a walsender sends only flushed WAL, so the logical feed first sees such a
 * commit when the WAL writer flushes (every `wal_writer_delay`, 200 ms). The latency is measured
 * with the writer's session at `off` and at `on` (PostgreSQL's default), and at `off` with
 * `wal_writer_delay = 10ms`.
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import pg from 'pg'
import type { CacheManager } from '../src/index.js'
import { withCache } from '../src/prisma/index.js'
import { createTestDatabase, type TestDatabase } from '../test/support/database.js'
import { PostgresServer } from '../test/support/postgres-server.js'
import { REDIS_URL, ROOT_PREFIX, sweep } from './fixtures.js'
import { stratacache } from './peers.js'

const SECONDS = Number(process.env.CHANGE_FEED_BENCH_SECONDS ?? 5)
const ROUNDS = Number(process.env.CHANGE_FEED_BENCH_ROUNDS ?? 500)
/** Rounds of the variant where each write waits for the WAL writer (about 200 ms a round). */
const SLOW_ROUNDS = Number(process.env.CHANGE_FEED_BENCH_SLOW_ROUNDS ?? 150)
/** How long the feed may take to catch up after a pgbench run before it is reported as behind. */
const DRAIN_LIMIT_MS = Number(process.env.CHANGE_FEED_BENCH_DRAIN_LIMIT_MS ?? 60_000)
const ROWS = Number(process.env.CHANGE_FEED_BENCH_ROWS ?? 100_000)
const CLIENTS = Number(process.env.CHANGE_FEED_BENCH_CLIENTS ?? 8)
const PGBENCH = process.env.PGBENCH ?? '/usr/lib/postgresql/15/bin/pgbench'
/** The feed's default names for the `prisma` namespace. */
const SLOT = 'stratacache_prisma'
const PREFIX = `${ROOT_PREFIX}change-feed:${randomBytes(4).toString('hex')}:`

const run = promisify(execFile)
const started = Date.now()
const log = (message: string) =>
  console.error(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${message}`)

// ------------------------------------------------------------------------------ the instances

/** Warnings and errors the feeds logged (printed once, at the end). */
const feedLog: string[] = []

async function instance(
  db: TestDatabase,
  feed: { url: string; mode: 'logical' | 'notify' } | undefined,
) {
  const cache = await stratacache({
    redis: REDIS_URL,
    prefix: PREFIX,
    logger: {
      warn: (_, message) => feedLog.push(`warn: ${message}`),
      error: (_, message) => feedLog.push(`error: ${message}`),
    },
  })
  const base = db.client()
  const prisma = base.$extends(
    withCache({
      cache,
      env: false,
      metrics: false,
      defaultStrategy: { ttl: 600 },
      changeFeed: feed === undefined ? false : { connectionString: feed.url, mode: feed.mode },
    }),
  )
  return { cache, prisma }
}

type Instance = Awaited<ReturnType<typeof instance>>

async function startFeed(db: TestDatabase, url: string, mode: 'logical' | 'notify') {
  const a = await instance(db, { url, mode })
  const feed = a.prisma.$cache.changeFeed!
  await feed.ready()
  // The consumer's first act is to invalidate everything (a new slot, a new listener).
  await waitUntil(() => feed.status().role === 'consumer' && feed.status().flushes >= 1, 20_000)
  // ...whose bus notice must reach B before the first measured write.
  await new Promise((resolve) => setTimeout(resolve, 300))
  return a
}

async function closeInstance(i: Instance): Promise<void> {
  await i.prisma.$disconnect()
  await i.cache.close()
}

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number) {
  const end = performance.now() + timeoutMs
  while (!(await check())) {
    if (performance.now() > end) throw new Error(`not within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

// ------------------------------------------------------------------------------ statistics

interface Summary {
  n: number
  p50: number
  p95: number
  p99: number
  max: number
  mean: number
}

function summary(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN
  const mean = sorted.reduce((s, v) => s + v, 0) / Math.max(1, sorted.length)
  return { n: sorted.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: at(1), mean }
}

const ms = (v: number | undefined) =>
  v === undefined || Number.isNaN(v) ? '-' : v.toFixed(v < 10 ? 2 : 1)
const int = (v: number | undefined) =>
  v === undefined || Number.isNaN(v) ? '-' : Math.round(v).toLocaleString('en')

// ------------------------------------------------------------------------------ latency

interface LatencyResult {
  variant: string
  mode: 'logical' | 'notify'
  synchronousCommit: 'on' | 'off'
  rounds: number
  timeouts: number
  /** Rounds where B's invalidation removed nothing from its L1 (the read was not there). */
  emptyRemovals: number
  /** COMMIT returned to the writer to B's CacheManager applying the invalidation. */
  total: Summary
  /** COMMIT returned to the feed calling the consumer's cache (the walsender / NOTIFY path). */
  toConsumer: Summary
  /** The feed's call to B's receipt (Redis invalidation + bus). */
  consumerToB: Summary
}

async function latency(
  a: Instance,
  b: Instance,
  writer: pg.Client,
  mode: 'logical' | 'notify',
  synchronousCommit: 'on' | 'off',
  rounds = ROUNDS,
  note = '',
): Promise<LatencyResult> {
  await writer.query(`SET synchronous_commit = ${synchronousCommit}`)
  const total: number[] = []
  const toConsumer: number[] = []
  const consumerToB: number[] = []
  let timeouts = 0
  let emptyRemovals = 0
  // The time the feed hands a transaction's tags to the consumer's cache.
  let feedCall = Number.NaN
  const original = a.cache.invalidateByTag
  a.cache.invalidateByTag = function (this: CacheManager, tags) {
    feedCall = performance.now()
    return original.call(this, tags)
  }
  try {
    for (let round = 0; round < rounds; round++) {
      const id = 1 + ((round * 7919) % ROWS)
      await b.prisma.product.findUnique({ where: { id } })
      feedCall = Number.NaN
      let removed = -1
      const received = new Promise<number>((resolve) => {
        const on = (event: { remote?: boolean; kind: string; removed?: number }) => {
          if (event.remote !== true || event.kind !== 'tag') return
          removed = event.removed ?? 0
          b.cache.off('invalidate', on)
          resolve(performance.now())
        }
        b.cache.on('invalidate', on)
      })
      await writer.query('BEGIN')
      await writer.query('UPDATE "Product" SET "viewCount" = "viewCount" + 1 WHERE id = $1', [id])
      await writer.query('COMMIT')
      const t0 = performance.now()
      const t1 = await Promise.race([
        received,
        new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 5000)),
      ])
      if (t1 === undefined) {
        timeouts++
        b.cache.removeAllListeners('invalidate')
        continue
      }
      if (removed === 0) emptyRemovals++
      total.push(t1 - t0)
      toConsumer.push(feedCall - t0)
      consumerToB.push(t1 - feedCall)
    }
  } finally {
    a.cache.invalidateByTag = original
  }
  return {
    variant: `${mode}, synchronous_commit=${synchronousCommit}${note}`,
    mode,
    synchronousCommit,
    rounds,
    timeouts,
    emptyRemovals,
    total: summary(total),
    toConsumer: summary(toConsumer),
    consumerToB: summary(consumerToB),
  }
}

// ------------------------------------------------------------------------------ pgbench

interface LoadResult {
  variant: string
  feed: 'none' | 'logical' | 'notify'
  replicaIdentity: 'default' | 'full'
  tps: number
  transactions: number
  walBytesPerTransaction: number
  /** Rows the feed invalidated per second while pgbench ran, and the same over load + drain. */
  feedRowsPerSecondDuringLoad?: number
  feedRowsPerSecondOverall?: number
  /** Transactions the feed invalidated per second while pgbench ran (notify: batches). */
  feedTransactionsPerSecondDuringLoad?: number
  /** Rows committed by pgbench that the feed had not invalidated when pgbench stopped. */
  behindRowsAtEnd?: number
  slotLagBytesAtEnd?: number
  slotLagBytesAfterDrain?: number
  /** From pgbench's end to the feed having invalidated every row it committed. */
  drainMs?: number
  /** Rows still not invalidated when the drain limit passed (when it did). */
  behindRowsAfterDrainLimit?: number
}

async function lsn(admin: pg.Client): Promise<string> {
  const { rows } = await admin.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn() AS lsn')
  return rows[0]!.lsn
}

async function lsnDiff(admin: pg.Client, to: string, from: string): Promise<number> {
  const { rows } = await admin.query<{ d: string }>('SELECT pg_wal_lsn_diff($1, $2)::text AS d', [
    to,
    from,
  ])
  return Number(rows[0]!.d)
}

async function slotLag(admin: pg.Client): Promise<number | undefined> {
  const { rows } = await admin.query<{ bytes: string | null }>(
    `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::text AS bytes
       FROM pg_replication_slots WHERE slot_name = $1`,
    [SLOT],
  )
  return rows[0]?.bytes == null ? undefined : Number(rows[0].bytes)
}

async function pgbench(
  server: PostgresServer,
  db: TestDatabase,
  script: string,
  seconds = SECONDS,
): Promise<{ tps: number; transactions: number }> {
  const args = [
    '-n',
    '-h',
    '127.0.0.1',
    '-p',
    String(server.port),
    '-U',
    'postgres',
    '-c',
    String(CLIENTS),
    '-j',
    String(Math.min(CLIENTS, Math.max(1, cpus().length))),
    '-T',
    String(seconds),
    '-f',
    script,
    'bench',
  ]
  const { stdout } = await run(PGBENCH, args, {
    env: { ...process.env, PGOPTIONS: `-c search_path=${db.schema}` },
    timeout: (seconds + 60) * 1000,
  })
  const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(stdout)
  const done = /number of transactions actually processed: (\d+)/.exec(stdout)
  if (tps === null || done === null) throw new Error(`pgbench said:\n${stdout}`)
  return { tps: Number(tps[1]), transactions: Number(done[1]) }
}

async function load(
  server: PostgresServer,
  db: TestDatabase,
  admin: pg.Client,
  script: string,
  feed: 'none' | 'logical' | 'notify',
  replicaIdentity: 'default' | 'full',
  a: Instance | undefined,
): Promise<LoadResult> {
  await admin.query(`ALTER TABLE "Product" REPLICA IDENTITY ${replicaIdentity.toUpperCase()}`)
  const status = () => a?.prisma.$cache.changeFeed?.status()
  const before = status()
  const lsnBefore = await lsn(admin)
  const loadStarted = performance.now()
  const result = await pgbench(server, db, script)
  const loadEnded = performance.now()
  const lsnAfter = await lsn(admin)
  const out: LoadResult = {
    variant: `${feed === 'none' ? 'no feed' : `${feed} feed`}, replica identity ${replicaIdentity}`,
    feed,
    replicaIdentity,
    tps: result.tps,
    transactions: result.transactions,
    walBytesPerTransaction: (await lsnDiff(admin, lsnAfter, lsnBefore)) / result.transactions,
  }
  if (a !== undefined && before !== undefined) {
    const atEnd = status()!
    const loadSeconds = (loadEnded - loadStarted) / 1000
    out.feedRowsPerSecondDuringLoad = (atEnd.rows - before.rows) / loadSeconds
    out.feedTransactionsPerSecondDuringLoad =
      (atEnd.transactions - before.transactions) / loadSeconds
    out.behindRowsAtEnd = result.transactions - (atEnd.rows - before.rows)
    if (feed === 'logical') out.slotLagBytesAtEnd = await slotLag(admin)
    try {
      await waitUntil(() => status()!.rows - before.rows >= result.transactions, DRAIN_LIMIT_MS)
      const drained = performance.now()
      out.drainMs = drained - loadEnded
      out.feedRowsPerSecondOverall = result.transactions / ((drained - loadStarted) / 1000)
    } catch {
      log(`the ${feed} feed did not catch up within ${DRAIN_LIMIT_MS} ms`)
      out.behindRowsAfterDrainLimit = result.transactions - (status()!.rows - before.rows)
    }
    if (feed === 'logical') out.slotLagBytesAfterDrain = await slotLag(admin)
  }
  await admin.query('ALTER TABLE "Product" REPLICA IDENTITY DEFAULT')
  await admin.query('CHECKPOINT')
  log(`pgbench ${out.variant}: ${out.tps.toFixed(0)} tps`)
  return out
}

// ------------------------------------------------------------------------------ bulk

interface BulkResult {
  mode: 'logical' | 'notify'
  rows: number
  /** The UPDATE statement itself (with notify, the triggers run in it). */
  updateMs: number
  commitMs: number
  /** COMMIT returned to the feed's invalidation done on the consumer, and to B's receipt. */
  commitToConsumerInvalidatedMs: number | undefined
  commitToBMs: number | undefined
  feedTransactions: number
  feedRows: number
}

async function bulk(
  a: Instance,
  b: Instance,
  writer: pg.Client,
  mode: 'logical' | 'notify',
): Promise<BulkResult> {
  await writer.query('SET synchronous_commit = on')
  const feed = a.prisma.$cache.changeFeed!
  const before = feed.status()
  await b.prisma.product.findUnique({ where: { id: 1 } })
  let tB: number | undefined
  const onB = (event: { remote?: boolean; kind: string }) => {
    if (event.remote === true && event.kind === 'tag') tB ??= performance.now()
  }
  b.cache.on('invalidate', onB)
  await writer.query('BEGIN')
  const s0 = performance.now()
  await writer.query('UPDATE "Product" SET "viewCount" = "viewCount" + 1')
  const s1 = performance.now()
  await writer.query('COMMIT')
  const t0 = performance.now()
  let done: number | undefined
  try {
    await waitUntil(() => feed.status().rows - before.rows >= ROWS, 300_000)
    done = performance.now()
  } catch {
    log(`the ${mode} feed did not invalidate the bulk update within 300 s`)
  }
  await waitUntil(() => tB !== undefined, 5000).catch(() => {})
  b.cache.off('invalidate', onB)
  const after = feed.status()
  log(`bulk ${mode}: ${done === undefined ? '-' : (done - t0).toFixed(0)} ms`)
  return {
    mode,
    rows: ROWS,
    updateMs: s1 - s0,
    commitMs: t0 - s1,
    commitToConsumerInvalidatedMs: done === undefined ? undefined : done - t0,
    commitToBMs: tB === undefined ? undefined : tB - t0,
    feedTransactions: after.transactions - before.transactions,
    feedRows: after.rows - before.rows,
  }
}

// ------------------------------------------------------------------------------ the run

async function main(): Promise<void> {
  const server = await PostgresServer.start({ walLevel: 'logical' })
  const work = mkdtempSync(join(tmpdir(), 'sc-feed-bench-'))
  const redis = new Redis(REDIS_URL)
  let db: TestDatabase | undefined
  const instances: Instance[] = []
  try {
    await server.query('CREATE DATABASE bench')
    db = await createTestDatabase('change_feed_bench', server.url('bench'))
    const url = `${server.url('bench')}?schema=${db.schema}`
    const admin = new pg.Client({
      connectionString: server.url('bench'),
      options: `-c search_path=${db.schema}`,
    })
    await admin.connect()
    const writer = new pg.Client({
      connectionString: server.url('bench'),
      options: `-c search_path=${db.schema}`,
    })
    await writer.connect()
    await admin.query(
      `INSERT INTO "Product" (id, sku, name, price, "updatedAt")
       SELECT g, 'sku-' || g, 'product ' || g, 10, now() FROM generate_series(1, $1::int) g`,
      [ROWS],
    )
    await admin.query('VACUUM ANALYZE "Product"')
    await admin.query('CHECKPOINT')
    const settings = await admin.query<{ name: string; setting: string }>(
      `SELECT name, setting FROM pg_settings WHERE name IN
         ('server_version', 'wal_level', 'synchronous_commit', 'fsync', 'wal_writer_delay',
          'wal_writer_flush_after', 'full_page_writes')`,
    )
    const script = join(work, 'update.sql')
    writeFileSync(
      script,
      `\\set id random(1, ${ROWS})\nUPDATE "Product" SET "viewCount" = "viewCount" + 1 WHERE id = :id;\n`,
    )
    log(`PostgreSQL on ${server.port}, ${ROWS} products, Redis prefix ${PREFIX}`)

    // A short unreported run first: the first run on a new cluster is slower (cold caches).
    await pgbench(server, db, script, 2)
    // Cost baseline: no feed (no slot, no triggers yet).
    const loads: LoadResult[] = []
    loads.push(await load(server, db, admin, script, 'none', 'default', undefined))
    loads.push(await load(server, db, admin, script, 'none', 'full', undefined))

    const b = await instance(db, undefined)
    instances.push(b)

    // Logical mode.
    const latencies: LatencyResult[] = []
    const bulks: BulkResult[] = []
    const logical = await startFeed(db, url, 'logical')
    instances.push(logical)
    log('logical feed consuming')
    latencies.push(await latency(logical, b, writer, 'logical', 'off', SLOW_ROUNDS))
    log(`latency ${latencies.at(-1)!.variant}: p99 ${ms(latencies.at(-1)!.total.p99)} ms`)
    latencies.push(await latency(logical, b, writer, 'logical', 'on'))
    log(`latency ${latencies.at(-1)!.variant}: p99 ${ms(latencies.at(-1)!.total.p99)} ms`)
    await admin.query("ALTER SYSTEM SET wal_writer_delay = '10ms'")
    await admin.query('SELECT pg_reload_conf()')
    await new Promise((resolve) => setTimeout(resolve, 300))
    latencies.push(
      await latency(logical, b, writer, 'logical', 'off', ROUNDS, ', wal_writer_delay=10ms'),
    )
    log(`latency ${latencies.at(-1)!.variant}: p99 ${ms(latencies.at(-1)!.total.p99)} ms`)
    await admin.query('ALTER SYSTEM RESET wal_writer_delay')
    await admin.query('SELECT pg_reload_conf()')
    loads.push(await load(server, db, admin, script, 'logical', 'default', logical))
    loads.push(await load(server, db, admin, script, 'logical', 'full', logical))
    bulks.push(await bulk(logical, b, writer, 'logical'))
    await closeInstance(instances.pop()!)

    // Notify mode (the slot stays, inactive: it only keeps WAL).
    const notify = await startFeed(db, url, 'notify')
    instances.push(notify)
    log('notify feed consuming')
    latencies.push(await latency(notify, b, writer, 'notify', 'off'))
    log(`latency ${latencies.at(-1)!.variant}: p99 ${ms(latencies.at(-1)!.total.p99)} ms`)
    latencies.push(await latency(notify, b, writer, 'notify', 'on'))
    log(`latency ${latencies.at(-1)!.variant}: p99 ${ms(latencies.at(-1)!.total.p99)} ms`)
    loads.push(await load(server, db, admin, script, 'notify', 'default', notify))
    bulks.push(await bulk(notify, b, writer, 'notify'))
    await closeInstance(instances.pop()!)

    await writer.end()
    await admin.end()
    report({ settings: settings.rows, latencies, loads, bulks })
  } finally {
    for (const i of instances) await closeInstance(i).catch(() => {})
    await sweep(redis, PREFIX).catch(() => {})
    redis.disconnect()
    await db?.pool.end().catch(() => {})
    await server.destroy()
    rmSync(work, { recursive: true, force: true })
  }
}

function report(results: {
  settings: { name: string; setting: string }[]
  latencies: LatencyResult[]
  loads: LoadResult[]
  bulks: BulkResult[]
}): void {
  const { settings, latencies, loads, bulks } = results
  const setting = (name: string) => settings.find((s) => s.name === name)?.setting ?? '?'
  const lines = [
    `PostgreSQL ${setting('server_version')} (wal_level ${setting('wal_level')}, fsync ${setting('fsync')}, ` +
      `synchronous_commit ${setting('synchronous_commit')} by default, wal_writer_delay ${setting('wal_writer_delay')} ms), ` +
      `${cpus().length} vCPUs shared by PostgreSQL, pgbench, Redis and this process.`,
    '',
    "Latency, an outside COMMIT returned to instance B's L1 invalidated (writes one at a time, ms;",
    "'to consumer': COMMIT returned to the feed calling A's cache; 'consumer to B': that call to B's bus receipt):",
    '',
    '| mode, writer session | writes | p50 | p95 | p99 | max | to consumer p50 / p99 | consumer to B p50 / p99 | timeouts |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...latencies.map(
      (l) =>
        `| ${l.variant} | ${l.total.n} | ${ms(l.total.p50)} | ${ms(l.total.p95)} | ${ms(l.total.p99)} | ${ms(l.total.max)} | ` +
        `${ms(l.toConsumer.p50)} / ${ms(l.toConsumer.p99)} | ${ms(l.consumerToB.p50)} / ${ms(l.consumerToB.p99)} | ${l.timeouts} |`,
    ),
    '',
    `pgbench, one-row UPDATE of "Product" per transaction, ${CLIENTS} clients, ${SECONDS} s each:`,
    '',
    '| variant | TPS | vs no feed | WAL bytes / txn | feed rows/s during load | behind at end (rows) | slot lag at end | drain | slot lag after drain |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...loads.map((l) => {
      const baseline = loads.find(
        (x) => x.feed === 'none' && x.replicaIdentity === l.replicaIdentity,
      )
      const ratio = baseline === undefined ? '-' : `${((l.tps / baseline.tps) * 100).toFixed(0)} %`
      // The acknowledgement names the last byte + 1: a slot caught up shows -1 here.
      const bytes = (v: number | undefined) => (v === undefined ? '-' : `${int(Math.max(0, v))} B`)
      const drain =
        l.drainMs !== undefined
          ? `${int(l.drainMs)} ms`
          : l.behindRowsAfterDrainLimit !== undefined
            ? `> ${int(DRAIN_LIMIT_MS)} ms (${int(l.behindRowsAfterDrainLimit)} rows left)`
            : '-'
      return (
        `| ${l.variant} | ${int(l.tps)} | ${ratio} | ${int(l.walBytesPerTransaction)} | ` +
        `${int(l.feedRowsPerSecondDuringLoad)} | ${int(l.behindRowsAtEnd)} | ${bytes(l.slotLagBytesAtEnd)} | ` +
        `${drain} | ${bytes(l.slotLagBytesAfterDrain)} |`
      )
    }),
    '',
    `Bulk: one transaction updating all ${int(ROWS)} products (writer synchronous_commit=on, ms):`,
    '',
    '| mode | UPDATE | COMMIT | COMMIT to consumer invalidated | COMMIT to B invalidated | feed transactions |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...bulks.map(
      (x) =>
        `| ${x.mode} | ${int(x.updateMs)} | ${ms(x.commitMs)} | ${int(x.commitToConsumerInvalidatedMs)} | ` +
        `${ms(x.commitToBMs)} | ${x.feedTransactions} |`,
    ),
  ]
  if (feedLog.length > 0) {
    const short = (m: string) => (m.length > 160 ? `${m.slice(0, 157)}...` : m)
    lines.push(
      '',
      'Feed log (warnings, errors):',
      ...[...new Set(feedLog)].map((m) => `- ${short(m)}`),
    )
  }
  console.log(lines.join('\n'))
  const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'change-feed.json')
  mkdirSync(dirname(out), { recursive: true })
  writeFileSync(
    out,
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        node: process.version,
        cpus: cpus().length,
        loadAverageAtEnd: loadavg(),
        seconds: SECONDS,
        rounds: ROUNDS,
        slowRounds: SLOW_ROUNDS,
        rows: ROWS,
        clients: CLIENTS,
        postgres: Object.fromEntries(settings.map((s) => [s.name, s.setting])),
        latency: latencies,
        load: loads,
        bulk: bulks,
        feedLog: [...new Set(feedLog)],
        elapsedMs: Date.now() - started,
      },
      null,
      2,
    )}\n`,
  )
  console.log(`\nwrote ${out} (${((Date.now() - started) / 1000).toFixed(1)} s)`)
}

await main()
// Background sockets (pg pools Prisma keeps, the Redis bus) must not hold the process.
process.exit(0)

/**
 * The change feed's durability, across processes: each instance is a worker process
 * (`change-feed-worker.ts`) with its own Prisma client, CacheManager and feed, on one Redis and
 * one PostgreSQL with `wal_level = logical`; the writes come from outside (raw `pg`), so only the
 * feed can invalidate them.
 *
 * 1. takeover: SIGKILL the consumer, the standby takes over and invalidates later writes;
 * 2. nothing lost across a SIGKILL mid-stream: the slot keeps what the dead consumer did not
 *    acknowledge, and the next consumer invalidates it (control: no next consumer, stale rows);
 * 3. Redis outage: the slot is not acknowledged past a commit until Redis took its invalidation;
 * 4. a consistency checker under an outside writer: staleness of reads while writing, and no
 *    stale entry once quiet (control: an instance without the feed holds stale entries).
 */
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import type { ChangeFeedStatus } from '../../../src/prisma/change-feed/admin.js'
import {
  type FeedSettings,
  type OpenArgs,
  READ_RECORD_FIELDS,
  type ReadResult,
} from '../../support/change-feed-worker.js'
import { useLogicalPostgres } from '../../support/logical-postgres.js'
import { deleteKeysUnder, REDIS_URL, rawRedis, uniquePrefix } from '../../support/redis.js'
import { TcpProxy } from '../../support/tcp-proxy.js'
import { waitFor } from '../../support/wait.js'
import { killAll, now, Worker } from '../../support/workers.js'

const WORKER = fileURLToPath(new URL('../../support/change-feed-worker.ts', import.meta.url))

const database = useLogicalPostgres('feed_durability')
const raw = rawRedis()
const base = uniquePrefix('feed-durability')
let pool: pg.Pool
const proxies: TcpProxy[] = []

beforeAll(async () => {
  // The outside writers commit as PostgreSQL does by default (synchronous_commit = on): the test
  // server runs `off`, and a walsender only sends WAL once flushed, so an asynchronous commit
  // reaches the feed only at the WAL writer's next flush (wal_writer_delay, 200 ms).
  const { options } = database.db.config
  pool = new pg.Pool({
    ...database.db.config,
    options: `${options} -c synchronous_commit=on`,
    max: 8,
  })
  // The old row in full: an update then invalidates exactly its row's reads (with the default
  // identity, every read of the model's lists too), so reads stay cached between its writes.
  await pool.query('ALTER TABLE "Category" REPLICA IDENTITY FULL')
})

afterEach(async () => {
  await killAll()
  for (const proxy of proxies.splice(0)) await proxy.close()
})

afterAll(async () => {
  await pool?.end()
  await deleteKeysUnder(raw, base)
  raw.disconnect()
})

// ------------------------------------------------------------------------------------ helpers

function feedOf(name: string, takeoverInterval = 200): FeedSettings {
  return { slot: `sc_${name}`, publication: `sc_${name}`, takeoverInterval }
}

/** A worker process, opened: its client, its cache under `prefix`, its feed (or none). */
async function spawn(
  label: string,
  options: { prefix: string; feed: FeedSettings | false; redisUrl?: string },
): Promise<Worker> {
  const worker = await Worker.spawn(label, WORKER)
  const args: OpenArgs = {
    url: database.url,
    directUrl: database.directUrl,
    schema: database.db.schema,
    redisUrl: options.redisUrl ?? REDIS_URL,
    prefix: options.prefix,
    feed: options.feed,
  }
  await worker.call('open', args)
  return worker
}

async function statusOf(worker: Worker): Promise<ChangeFeedStatus> {
  const status = await worker.call<ChangeFeedStatus | null>('status')
  if (status === null) throw new Error(`worker ${worker.label} has no change feed`)
  return status
}

const read = (worker: Worker, id: number) => worker.call<ReadResult>('read', { id })

/** `n` new Category rows whose name is '0' (version 0). */
async function createRows(n: number, slug: string): Promise<number[]> {
  const { rows } = await pool.query<{ id: number }>(
    `INSERT INTO "Category" (name, slug) SELECT '0', $1 || g FROM generate_series(1, $2) g
     RETURNING id`,
    [slug, n],
  )
  return rows.map((row) => row.id).sort((a, b) => a - b)
}

async function dbValues(ids: readonly number[]): Promise<Map<number, number>> {
  const { rows } = await pool.query<{ id: number; name: string }>(
    'SELECT id, name FROM "Category" WHERE id = ANY($1)',
    [ids],
  )
  return new Map(rows.map((row) => [row.id, Number(row.name)]))
}

/**
 * Commits `name = value` for row `id` and returns the WAL insert position right after the commit
 * (the commit's end, unless another session wrote WAL in between).
 */
async function commitWithLsn(id: number, value: number): Promise<string> {
  const client = await pool.connect()
  try {
    await client.query('UPDATE "Category" SET name = $2 WHERE id = $1', [id, String(value)])
    const { rows } = await client.query<{ lsn: string }>(
      'SELECT pg_current_wal_insert_lsn()::text AS lsn',
    )
    return rows[0]!.lsn
  } finally {
    client.release()
  }
}

/** `confirmed_flush_lsn - lsn` in bytes: >= 0 once the slot is acknowledged up to `lsn`. */
async function confirmedPast(slot: string, lsn: string): Promise<number> {
  const { rows } = await pool.query<{ diff: string }>(
    `SELECT pg_wal_lsn_diff(confirmed_flush_lsn, $2::pg_lsn)::text AS diff
       FROM pg_replication_slots WHERE slot_name = $1`,
    [slot, lsn],
  )
  if (rows[0] === undefined) throw new Error(`no slot ${slot}`)
  return Number(rows[0].diff)
}

/**
 * The consumer among `workers`, once one of them is consumer and the others standby; on a new
 * slot (`newSlot`), once it invalidated everything (earlier changes are unknown to it).
 */
async function consumerOf(workers: readonly Worker[], newSlot = true): Promise<Worker> {
  return waitFor(
    async () => {
      const roles = await Promise.all(workers.map(async (w) => (await statusOf(w)).role))
      const consumers = roles.filter((role) => role === 'consumer').length
      const standbys = roles.filter((role) => role === 'standby').length
      if (consumers !== 1 || standbys !== workers.length - 1) return undefined
      const consumer = workers[roles.indexOf('consumer')]!
      return !newSlot || (await statusOf(consumer)).flushes >= 1 ? consumer : undefined
    },
    { timeoutMs: 15_000, intervalMs: 20, what: 'one consumer, the others standby' },
  ).catch(async (error: Error) => {
    const statuses = await Promise.all(workers.map((w) => statusOf(w).catch(String)))
    throw new Error(`${error.message}: ${JSON.stringify(statuses)}`)
  })
}

/** Reads `id` in `worker` until L1 or L2 answers it (it is cached). */
async function cached(worker: Worker, id: number): Promise<ReadResult> {
  return waitFor(
    async () => {
      const result = await read(worker, id)
      return result.status === 'hit' ? result : undefined
    },
    { timeoutMs: 5_000, intervalMs: 10, what: `row ${id} cached in ${worker.label}` },
  )
}

let markerValue = 1_000_000

/** Commits a new value of the marker row and waits until the slot is acknowledged past it. */
async function markerAcknowledged(slot: string, marker: number): Promise<number> {
  const value = ++markerValue
  const lsn = await commitWithLsn(marker, value)
  await waitFor(async () => (await confirmedPast(slot, lsn)) >= 0, {
    timeoutMs: 20_000,
    intervalMs: 20,
    what: `slot ${slot} acknowledged past the marker`,
  })
  return value
}

/**
 * Waits until the feed caught up, once the writes stopped: the slot is acknowledged past a marker
 * commit (so everything committed before it was invalidated in Redis); then each of `readers`
 * caches the marker row, it is written again, and each reader sees the new value (so the bus
 * notices published before the marker's, in order on one connection, reached it).
 */
async function quiesce(slot: string, readers: readonly Worker[], marker: number): Promise<void> {
  await markerAcknowledged(slot, marker)
  for (const reader of readers) await cached(reader, marker)
  const value = await markerAcknowledged(slot, marker)
  for (const reader of readers) {
    await waitFor(async () => (await read(reader, marker)).value === value, {
      timeoutMs: 5_000,
      intervalMs: 10,
      what: `the marker's invalidation in ${reader.label}`,
    })
  }
}

/** Rows `worker` reads differently from the database now (every row read once through it). */
async function staleEntries(worker: Worker, ids: readonly number[]): Promise<string[]> {
  const results = await worker.call<ReadResult[]>('readAll', { ids })
  const truth = await dbValues(ids)
  return results
    .filter((r) => r.value !== truth.get(r.id))
    .map((r) => `${worker.label}: row ${r.id} read ${r.value}, database has ${truth.get(r.id)}`)
}

/** An outside writer: `loops` connections updating rows with versions until stopped. */
interface Writer {
  /** Transactions committed and acknowledged so far. */
  readonly count: number
  /** Per write: id, version, invokedAt, acknowledgedAt. */
  readonly log: number[]
  stop(): Promise<void>
}

function startWriter(
  ids: readonly number[],
  { loops, pick, pauseMs }: { loops: number; pick: 'round-robin' | 'random'; pauseMs: number },
): Writer {
  let stopped = false
  let next = 0
  const log: number[] = []
  let failure: unknown
  const run = async () => {
    while (!stopped) {
      const id =
        pick === 'round-robin'
          ? ids[next++ % ids.length]!
          : ids[Math.floor(Math.random() * ids.length)]!
      const invokedAt = now()
      // Versions serialize on the row lock: each write of a row makes the next version.
      const { rows } = await pool.query<{ name: string }>(
        `UPDATE "Category" SET name = (name::int + 1)::text WHERE id = $1 RETURNING name`,
        [id],
      )
      log.push(id, Number(rows[0]!.name), invokedAt, now())
      await new Promise((resolve) => setTimeout(resolve, pauseMs))
    }
  }
  const running = Promise.all(
    Array.from({ length: loops }, () =>
      run().catch((error: unknown) => {
        failure = error
        stopped = true
      }),
    ),
  )
  return {
    get count() {
      return log.length / 4
    },
    log,
    async stop() {
      stopped = true
      await running
      if (failure !== undefined) throw failure
    },
  }
}

/** Waits until `writer` committed `n` more transactions. */
async function writesMore(writer: Writer, n: number, what: string): Promise<void> {
  const target = writer.count + n
  await waitFor(() => writer.count >= target, { timeoutMs: 15_000, intervalMs: 5, what })
}

// -------------------------------------------------------------------------------- 1. takeover

it('a standby takes over when the consumer is SIGKILLed, and invalidates later writes', async () => {
  const prefix = `${base}takeover:`
  const feed = feedOf('takeover', 200)
  const [id] = await createRows(1, 'takeover-')
  const workers = await Promise.all([
    spawn('takeover-a', { prefix, feed }),
    spawn('takeover-b', { prefix, feed }),
  ])
  const consumer = await consumerOf(workers)
  const survivor = workers.find((w) => w !== consumer)!
  expect((await cached(survivor, id!)).value).toBe(0)

  const killedAt = now()
  await consumer.kill()
  // Committed after the kill: only the survivor, once consumer, can invalidate it.
  await commitWithLsn(id!, 1)
  const tookOverAt = await waitFor(
    async () => ((await statusOf(survivor)).role === 'consumer' ? now() : undefined),
    { timeoutMs: 10_000, intervalMs: 10, what: 'the standby to take over' },
  )
  const takeoverMs = tookOverAt - killedAt
  await waitFor(async () => (await read(survivor, id!)).value === 1, {
    timeoutMs: 10_000,
    intervalMs: 10,
    what: 'the write after the kill invalidated in the survivor',
  })
  const invalidatedMs = now() - killedAt
  console.log(
    `takeover: standby became consumer ${takeoverMs.toFixed(0)} ms after the SIGKILL ` +
      `(takeoverInterval 200 ms); the write after the kill was invalidated after ${invalidatedMs.toFixed(0)} ms`,
  )
  expect(takeoverMs).toBeLessThan(10_000)
  const status = await statusOf(survivor)
  expect(status.transactions).toBeGreaterThanOrEqual(1)
  // The slot existed: the survivor resumed from it, it did not invalidate everything.
  expect(status.flushes).toBe(0)
}, 40_000)

// ------------------------------------------------------------ 2. nothing lost across a SIGKILL

/**
 * A consumer and a reader (no feed, same Redis prefix: it hears the consumer's invalidations) on
 * `rows`; an outside writer updates the rows round-robin; the consumer is SIGKILLed mid-stream,
 * writes go on with no consumer, then a new worker starts (with the feed, or without: the
 * control). Once quiet, the rows the reader reads differently from the database.
 */
async function killMidStream(name: string, rows: number[], marker: number, restartFeed: boolean) {
  const prefix = `${base}${name}:`
  const feed = feedOf(name)
  const [consumer, reader] = await Promise.all([
    spawn(`${name}-consumer`, { prefix, feed }),
    spawn(`${name}-reader`, { prefix, feed: false }),
  ])
  await consumerOf([consumer])
  await reader.call('startReads', { ids: rows, pauseMs: 1 })
  const writer = startWriter(rows, { loops: 1, pick: 'round-robin', pauseMs: 1 })
  try {
    await writesMore(writer, 300, 'writes with the consumer running')
    await waitFor(async () => (await statusOf(consumer)).transactions >= 100, {
      timeoutMs: 10_000,
      what: 'the consumer invalidating the writes',
    })
    await consumer.kill()
    const atKill = writer.count
    await writesMore(writer, 300, 'writes with no consumer')
    const next = await spawn(`${name}-next`, { prefix, feed: restartFeed ? feed : false })
    if (restartFeed) await consumerOf([next], false)
    await writesMore(writer, 200, 'writes after the restart')
    await writer.stop()
    await reader.call('stopReads')
    if (restartFeed) {
      await quiesce(feed.slot, [reader], marker)
      const status = await statusOf(next)
      // Resumed from the slot (no flush of everything), with the writes made while none ran.
      expect(status.flushes).toBe(0)
      expect(status.transactions).toBeGreaterThan(0)
    }
    const stale = await staleEntries(reader, rows)
    return { stale, writes: writer.count, afterKill: writer.count - atKill }
  } finally {
    await writer.stop().catch(() => {})
  }
}

it('loses no change across a SIGKILL of the consumer mid-stream (control: no new consumer)', async () => {
  const rows = await createRows(100, 'midstream-')
  const [marker] = await createRows(1, 'midstream-marker-')
  const durable = await killMidStream('midstream', rows, marker!, true)
  console.log(
    `SIGKILL mid-stream: ${durable.writes} writes (${durable.afterKill} after the kill), ` +
      `${durable.stale.length} stale rows of ${rows.length} once quiet`,
  )
  expect(durable.stale).toEqual([])
  await killAll()
  const control = await killMidStream('midstream_control', rows, marker!, false)
  console.log(
    `control (restarted without the feed): ${control.stale.length} stale rows of ${rows.length}`,
  )
  expect(control.stale.length).toBeGreaterThan(0)
}, 60_000)

// ---------------------------------------------------------------------------- 3. Redis outage

it('does not acknowledge the slot past commits whose invalidation Redis did not take', async () => {
  const prefix = `${base}outage:`
  const feed = feedOf('outage')
  const rows = await createRows(3, 'outage-')
  const proxy = await TcpProxy.to(REDIS_URL)
  proxies.push(proxy)
  const consumer = await spawn('outage-consumer', {
    prefix,
    feed,
    redisUrl: proxy.url('redis'),
  })
  await consumerOf([consumer])
  const reader = await spawn('outage-reader', { prefix, feed: false })
  for (const id of rows) expect((await cached(reader, id)).value).toBe(0)

  proxy.partition()
  const retriesBefore = (await statusOf(consumer)).retries
  const lsns: string[] = []
  for (const id of rows) lsns.push(await commitWithLsn(id, 1))
  // The feed got the first commit and keeps trying to invalidate it.
  await waitFor(async () => (await statusOf(consumer)).retries >= retriesBefore + 4, {
    timeoutMs: 15_000,
    intervalMs: 20,
    what: 'the feed retrying while Redis is unreachable',
  })
  const during = await confirmedPast(feed.slot, lsns[0]!)
  const status = await statusOf(consumer)
  console.log(
    `Redis outage: ${status.retries - retriesBefore} retries, slot ${-during} bytes behind ` +
      `the first commit; last error: ${status.lastError}`,
  )
  expect(during).toBeLessThan(0)
  // Nobody saw the invalidation: the reader still has the old values.
  for (const id of rows) expect((await read(reader, id)).value).toBe(0)

  proxy.heal()
  const healedAt = now()
  for (const id of rows) {
    await waitFor(async () => (await read(reader, id)).value === 1, {
      timeoutMs: 15_000,
      intervalMs: 20,
      what: `row ${id} invalidated once Redis is back`,
    })
  }
  await waitFor(async () => (await confirmedPast(feed.slot, lsns.at(-1)!)) >= 0, {
    timeoutMs: 15_000,
    intervalMs: 20,
    what: 'the slot acknowledged past the commits',
  })
  console.log(
    `Redis outage: invalidations applied and slot advanced ${(now() - healedAt).toFixed(0)} ms after the proxy healed`,
  )
}, 45_000)

// ------------------------------------------------------------------ 4. consistency checker

interface Distribution {
  count: number
  p50: number
  p99: number
  max: number
}

function distribution(values: number[]): Distribution {
  const sorted = Float64Array.from(values).sort()
  const at = (q: number) =>
    sorted.length === 0
      ? Number.NaN
      : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
  return { count: sorted.length, p50: at(0.5), p99: at(0.99), max: at(1) }
}

/**
 * Stale reads: a read of version `v` invoked after the acknowledgement of a write that made a
 * version `> v` of the row. Its lateness: the read's invocation minus the earliest such
 * acknowledgement.
 */
function staleReads(reads: Float64Array, writes: readonly number[]): number[] {
  // Per row: earliest acknowledgement of any version >= v (suffix minimum over versions).
  const acks = new Map<number, number[]>()
  for (let i = 0; i < writes.length; i += 4) {
    const [id, version, , ackAt] = [writes[i]!, writes[i + 1]!, writes[i + 2]!, writes[i + 3]!]
    const row = acks.get(id) ?? []
    acks.set(id, row)
    row[version] = ackAt
  }
  for (const row of acks.values()) {
    let earliest = Number.POSITIVE_INFINITY
    for (let v = row.length - 1; v >= 0; v--) {
      earliest = Math.min(earliest, row[v] ?? Number.POSITIVE_INFINITY)
      row[v] = earliest
    }
  }
  const lateness: number[] = []
  for (let i = 0; i < reads.length; i += READ_RECORD_FIELDS) {
    const [id, invokedAt, version] = [reads[i]!, reads[i + 1]!, reads[i + 3]!]
    const newer = acks.get(id)?.[version + 1]
    if (newer !== undefined && newer < invokedAt) lateness.push(invokedAt - newer)
  }
  return lateness
}

const ms = (value: number) => `${value.toFixed(1)} ms`

it('an outside writer under continuous reads: staleness measured, none once quiet', async () => {
  const prefix = `${base}checker:`
  const feed = feedOf('checker', 200)
  const rows = await createRows(20, 'checker-')
  const [marker] = await createRows(1, 'checker-marker-')
  const [feedWorkers, control] = await Promise.all([
    Promise.all([0, 1, 2].map((i) => spawn(`checker-${i}`, { prefix, feed }))),
    // The control: withCache without the feed, under a prefix of its own (nobody invalidates it).
    spawn('checker-control', { prefix: `${prefix}control:`, feed: false }),
  ])
  await consumerOf(feedWorkers)
  const all = [...feedWorkers, control]
  for (const worker of all) await worker.call('startReads', { ids: rows, pauseMs: 1 })
  const writer = startWriter(rows, { loops: 4, pick: 'random', pauseMs: 5 })
  // At least 6 s and 500 outside writes: a loaded machine writes slower, so the load runs longer
  // rather than the check running on too few writes.
  const loadStart = now()
  await waitFor(() => now() - loadStart >= 6_000 && writer.count > 500, {
    timeoutMs: 40_000,
    intervalMs: 50,
    what: '6 s of load and 500 outside writes',
  })
  const loadMs = Math.round(now() - loadStart)
  await writer.stop()
  const records = await Promise.all(all.map((w) => w.call<Float64Array>('stopReads')))
  const feedLateness = records
    .slice(0, feedWorkers.length)
    .flatMap((r) => staleReads(r, writer.log))
  const controlLateness = staleReads(records.at(-1)!, writer.log)
  const feedReads = records.slice(0, feedWorkers.length).reduce((n, r) => n + r.length, 0)
  const latency: number[] = []
  for (const r of records.slice(0, feedWorkers.length)) {
    for (let i = 0; i < r.length; i += READ_RECORD_FIELDS) latency.push(r[i + 2]! - r[i + 1]!)
  }

  const quietFrom = now()
  await quiesce(feed.slot, feedWorkers, marker!)
  const caughtUpMs = now() - quietFrom
  const stale: string[] = []
  for (const worker of feedWorkers) stale.push(...(await staleEntries(worker, rows)))
  const controlStale = await staleEntries(control, rows)

  const d = distribution(feedLateness)
  const l = distribution(latency)
  const lagSeconds = (await Promise.all(feedWorkers.map(statusOf))).find(
    (s) => s.role === 'consumer',
  )?.lagSeconds
  console.log(
    [
      `checker: ${writer.count} outside writes in ${loadMs} ms (${(writer.count / loadMs).toFixed(1)}/ms), ` +
        `${feedReads / READ_RECORD_FIELDS} reads by ${feedWorkers.length} feed workers`,
      `  stale reads ${d.count} (${((100 * d.count * READ_RECORD_FIELDS) / feedReads).toFixed(2)}%), ` +
        `staleness p50 ${ms(d.p50)}, p99 ${ms(d.p99)}, max ${ms(d.max)}; last lag ${lagSeconds} s`,
      `  read latency p50 ${ms(l.p50)}, p99 ${ms(l.p99)}, max ${ms(l.max)}`,
      `  quiet: feed caught up in ${caughtUpMs.toFixed(0)} ms, ${stale.length} stale entries`,
      `  control (no feed): ${controlLateness.length} stale reads, ${controlStale.length} stale entries of ${rows.length}`,
    ].join('\n'),
  )
  expect(writer.count).toBeGreaterThan(500)
  expect(stale).toEqual([])
  // The checker catches what a missing feed leaves behind, while reading and once quiet.
  expect(controlLateness.length).toBeGreaterThan(0)
  expect(controlStale.length).toBeGreaterThan(0)
}, 60_000)

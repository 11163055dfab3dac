/**
 * A worker process for change-feed tests (started by `workers.ts`, `Worker.spawn(label, script)`):
 * one Prisma client on the logical PostgreSQL's schema, extended with `withCache` over a
 * CacheManager of its own (its own L1, its own Redis connections, on the Redis URL and prefix the
 * parent passes: the shared Redis, or a proxy in front of it), with the change feed on or off,
 * driven over IPC. Rows are `Category` rows whose `name` holds a number (a version).
 *
 * Ops: `open`, `read(id)` (value and cache status), `readAll(ids)`, `status()` (the feed's, or
 * `null` without one), `startReads(ids)` / `stopReads()` (a read loop recording every read with its
 * invoke and response times), `metrics()`, `stop()`.
 */
import { PrismaPg } from '@prisma/adapter-pg'
import { PrismaClient } from '../../prisma/generated/client.js'
import { CacheManager } from '../../src/index.js'
import { withCache } from '../../src/prisma/index.js'
import { waitFor } from './wait.js'
import { now, startWorker } from './worker-runtime.js'

/** The feed's settings, as the parent passes them. */
export interface FeedSettings {
  slot: string
  publication: string
  takeoverInterval: number
}

export interface OpenArgs {
  /** Database `test` with `?schema=` (the feed's connection string). */
  url: string
  /** Database `test` without `?schema` (Prisma's adapter, given `schema` apart). */
  directUrl: string
  schema: string
  redisUrl: string
  prefix: string
  /** The change feed's settings, or `false` for none. */
  feed: FeedSettings | false
}

/** What `read` returns: the row's `name` as a number (`null`: no row), and the cache's status. */
export interface ReadResult {
  id: number
  value: number | null
  status: string
  invokedAt: number
  respondedAt: number
}

/** Fields per read in `stopReads`' records: id, invokedAt, respondedAt, value. */
export const READ_RECORD_FIELDS = 4

type Extended = ReturnType<typeof build>

let base: PrismaClient | undefined
let cache: CacheManager | undefined
let prisma: Extended | undefined
let loop: { stop: boolean; done: Promise<void>; records: number[] } | undefined

function build(client: PrismaClient, c: CacheManager, feed: FeedSettings | false, url: string) {
  return client.$extends(
    withCache({
      cache: c,
      env: false,
      defaultStrategy: { ttl: 3600 },
      changeFeed:
        feed === false
          ? false
          : {
              connectionString: url,
              mode: 'logical',
              slot: feed.slot,
              publication: feed.publication,
              takeoverInterval: feed.takeoverInterval,
            },
    }),
  )
}

function client(): Extended {
  if (prisma === undefined) throw new Error('open first')
  return prisma
}

async function read(id: number): Promise<ReadResult> {
  const invokedAt = now()
  const { data, info } = await client()
    .category.findUnique({ where: { id }, select: { name: true } })
    .withCacheInfo()
  return {
    id,
    value: data === null ? null : Number(data.name),
    status: info.cacheStatus,
    invokedAt,
    respondedAt: now(),
  }
}

/**
 * Lets timers and I/O (bus messages, IPC) run between reads that L1 answers in microtasks, and
 * leaves CPU to the other processes (the feed's consumer among them) for `pauseMs`.
 */
const pause = (pauseMs: number) =>
  new Promise<void>((resolve) =>
    pauseMs > 0 ? setTimeout(resolve, pauseMs) : setImmediate(resolve),
  )

interface Args {
  id: number
  ids: number[]
  pauseMs: number
}

startWorker<Args & OpenArgs>({
  async open({ url, directUrl, schema, redisUrl, prefix, feed }) {
    base = new PrismaClient({ adapter: new PrismaPg({ connectionString: directUrl }, { schema }) })
    cache = new CacheManager({ redis: redisUrl, prefix })
    const c = cache
    // Until its bus is subscribed, a cache may miss other instances' invalidations.
    await waitFor(() => c.getMetrics().busTrusted, { what: 'bus trusted', timeoutMs: 10_000 })
    prisma = build(base, c, feed, url)
    if (feed !== false) await prisma.$cache.changeFeed!.ready()
    return process.pid
  },

  read: async ({ id }) => read(id),

  async readAll({ ids }) {
    const results: ReadResult[] = []
    for (const id of ids) results.push(await read(id))
    return results
  },

  async status() {
    return client().$cache.changeFeed?.status() ?? null
  },

  /** Reads `ids` round-robin until `stopReads`, `pauseMs` apart, recording every read. */
  async startReads({ ids, pauseMs }) {
    if (loop !== undefined) throw new Error('already reading')
    const state = { stop: false, records: [] as number[], done: Promise.resolve() }
    state.done = (async () => {
      for (let i = 0; !state.stop; i++) {
        const r = await read(ids[i % ids.length]!)
        state.records.push(r.id, r.invokedAt, r.respondedAt, r.value ?? -1)
        await pause(pauseMs)
      }
    })()
    loop = state
    return null
  },

  /** Stops the read loop; its records, {@link READ_RECORD_FIELDS} numbers per read. */
  async stopReads() {
    const state = loop
    if (state === undefined) throw new Error('not reading')
    loop = undefined
    state.stop = true
    await state.done
    return Float64Array.from(state.records)
  },

  async metrics() {
    return cache?.getMetrics()
  },

  async stop() {
    if (loop !== undefined) {
      loop.stop = true
      await loop.done
      loop = undefined
    }
    await prisma?.$disconnect()
    await cache?.close()
    return null
  },
})

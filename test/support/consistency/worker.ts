/**
 * One instance of the app under the consistency checker, run as its own process (forked by
 * `checker.ts`, with `--import tsx`): its own `CacheManager` (so its own L1) on the shared Redis,
 * reading and writing the shared PostgreSQL records.
 *
 * - readers: `getOrCompute('record:<id>', loader)`; the loader SELECTs the version, then sleeps
 *   (the fill race window), recording invoke time, response time and the version returned;
 * - writers: `UPDATE ... SET version = version + 1 RETURNING version`, then invalidate (delete or
 *   tag), recording invoke time and acknowledgement time (after the invalidation resolved);
 * - optional CPU bursts block the event loop, so that bus messages wait (a slow subscriber).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { CacheManager } from '../../../src/index.js'
import {
  clock,
  draw,
  type FromWorker,
  READ_FIELDS,
  RecordBuffer,
  type RecordValue,
  recordKey,
  recordTag,
  type ToWorker,
  type WorkerConfig,
  type WorkerSummary,
  WRITE_FIELDS,
} from './protocol.js'
import { recordQueries } from './schema.js'

function send(message: FromWorker): void {
  process.send?.(message)
}

const MAX_ERRORS_KEPT = 5

class Worker {
  readonly config: WorkerConfig
  readonly cache: CacheManager
  readonly pool: pg.Pool
  readonly queries: { select: string; update: string }
  readonly reads = new RecordBuffer(READ_FIELDS, 64 * 1024)
  readonly writes = new RecordBuffer(WRITE_FIELDS, 4 * 1024)
  readonly errors: string[] = []
  readErrors = 0
  writeErrors = 0
  burstMs = 0
  degradations = 0
  stopAt = Number.POSITIVE_INFINITY
  readonly loopDelay = monitorEventLoopDelay({ resolution: 5 })

  constructor(config: WorkerConfig) {
    this.config = config
    this.queries = recordQueries(config.schema)
    this.pool = new pg.Pool({
      connectionString: config.pgUrl,
      max: config.readers + config.writers + 2,
    })
    this.pool.on('error', (error) => this.#remember(error))
    this.cache = new CacheManager({
      redis:
        config.redisCluster === undefined
          ? config.redisUrl
          : {
              cluster: config.redisCluster.split(',').map((node) => {
                const [host, port] = node.split(':')
                return { host: host!, port: Number(port) }
              }),
            },
      prefix: config.prefix,
      ttl: '1h',
      consistency: config.cache.consistency,
      bus: config.cache.bus,
    })
    this.cache.on('error', ({ error, operation }) => this.#remember(error, operation))
    this.cache.on('degraded', () => this.degradations++)
  }

  /** Waits until the bus is trusted (with a bus), so that L1 is in its steady state. */
  async ready(): Promise<boolean> {
    await this.pool.query('SELECT 1')
    if (!this.config.cache.bus) return false
    const deadline = Date.now() + 10_000
    while (!this.cache.getMetrics().busTrusted) {
      if (Date.now() > deadline) return false
      await sleep(10)
    }
    return true
  }

  /** The loader: the current version from PostgreSQL, returned after a random delay. */
  load = async (id: number, loadSeq: number): Promise<RecordValue> => {
    const { rows } = await this.pool.query<{ version: number }>(this.queries.select, [id])
    const version = rows[0]?.version
    if (version === undefined) throw new Error(`record ${id} is missing`)
    const delay = draw(this.config.loaderDelayMs)
    if (delay >= 0.5) await sleep(delay)
    return { id, version, by: this.config.index, loadedAt: clock(), loadSeq }
  }

  /** Sequence number of the last read started (each read's loader is tagged with its read's). */
  seq = 0

  read(id: number, seq: number): Promise<RecordValue> {
    return this.cache.getOrCompute(recordKey(id), () => this.load(id, seq), {
      ttl: '1h',
      tags: [recordTag(id)],
    })
  }

  async readLoop(): Promise<void> {
    const { records, readPauseMs } = this.config
    while (clock() < this.stopAt) {
      const id = 1 + Math.floor(Math.random() * records)
      const seq = ++this.seq
      const invokedAt = clock()
      try {
        const value = await this.read(id, seq)
        const respondedAt = clock()
        if (value.id !== id) throw new Error(`read of record ${id} returned record ${value.id}`)
        this.reads.push(
          id,
          invokedAt,
          respondedAt,
          value.version,
          value.by,
          value.loadedAt,
          seq,
          value.loadSeq,
        )
      } catch (error) {
        this.readErrors++
        this.#remember(error, 'read')
      }
      // Always yield to the event loop (an L1 hit resolves without any I/O).
      await sleep(draw(readPauseMs))
    }
  }

  async writeLoop(): Promise<void> {
    const { records, writePauseMs, invalidate } = this.config
    while (clock() < this.stopAt) {
      const id = 1 + Math.floor(Math.random() * records)
      const invokedAt = clock()
      try {
        const { rows } = await this.pool.query<{ version: number }>(this.queries.update, [id])
        const version = rows[0]?.version
        if (version === undefined) throw new Error(`record ${id} is missing`)
        const byTag = invalidate === 'tag' || (invalidate === 'mixed' && Math.random() < 0.5)
        if (byTag) await this.cache.invalidateByTag(recordTag(id))
        else await this.cache.delete(recordKey(id))
        this.writes.push(id, invokedAt, clock(), version, this.config.index)
      } catch (error) {
        // Not acknowledged: it may have reached PostgreSQL, but it counts against no read.
        this.writeErrors++
        this.#remember(error, 'write')
      }
      await sleep(draw(writePauseMs))
    }
  }

  async burstLoop(): Promise<void> {
    const burst = this.config.burst
    if (burst === undefined) return
    while (clock() < this.stopAt) {
      await sleep(draw(burst.everyMs))
      const started = clock()
      const until = started + draw(burst.durationMs)
      while (clock() < until) {
        // Busy: the event loop (bus messages, timers, replies) waits.
      }
      this.burstMs += clock() - started
    }
  }

  async run(at: number, stopAt: number): Promise<void> {
    this.stopAt = stopAt
    const wait = at - clock()
    if (wait > 0) await sleep(wait)
    this.loopDelay.enable()
    const loops: Promise<void>[] = []
    for (let i = 0; i < this.config.readers; i++) loops.push(this.readLoop())
    for (let i = 0; i < this.config.writers; i++) loops.push(this.writeLoop())
    loops.push(this.burstLoop())
    await Promise.all(loops)
    this.loopDelay.disable()
  }

  async probe(): Promise<number[]> {
    const versions: number[] = []
    for (let id = 1; id <= this.config.records; id++) {
      try {
        versions.push((await this.read(id, ++this.seq)).version)
      } catch (error) {
        this.#remember(error, 'probe')
        versions.push(-1)
      }
    }
    return versions
  }

  summary(): WorkerSummary {
    const m = this.cache.getMetrics()
    return {
      index: this.config.index,
      reads: this.reads.count,
      writes: this.writes.count,
      readErrors: this.readErrors,
      writeErrors: this.writeErrors,
      firstErrors: [...this.errors],
      loopDelayP99Ms: this.loopDelay.percentile(99) / 1e6,
      loopDelayMaxMs: this.loopDelay.max / 1e6,
      burstMs: this.burstMs,
      degradations: this.degradations,
      metrics: {
        hitRate: m.hitRate,
        l1Hits: m.l1Hits,
        l2Hits: m.l2Hits,
        misses: m.misses,
        loaderCalls: m.loaderCalls,
        fencedFills: m.fencedFills,
        busReceived: m.busReceived,
        busTrustLost: m.busTrustLost,
        busTrusted: m.busTrusted,
        errors: m.errors,
      },
    }
  }

  async close(): Promise<void> {
    await this.cache.close().catch(() => {})
    await this.pool.end().catch(() => {})
  }

  #remember(error: unknown, operation?: string): void {
    if (this.errors.length >= MAX_ERRORS_KEPT) return
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
    this.errors.push(operation === undefined ? text : `${operation}: ${text}`)
  }
}

let worker: Worker | undefined
let index = -1

async function handle(message: ToWorker): Promise<void> {
  switch (message.type) {
    case 'init': {
      index = message.config.index
      const skewMs = message.config.clockSkewMs ?? 0
      if (skewMs !== 0) {
        const realNow = Date.now
        Date.now = () => realNow() + skewMs
      }
      worker = new Worker(message.config)
      const trusted = await worker.ready()
      send({ type: 'ready', index, trusted })
      return
    }
    case 'start': {
      const w = worker!
      await w.run(message.at, message.stopAt)
      send({
        type: 'done',
        index,
        reads: w.reads.toArray(),
        writes: w.writes.toArray(),
        summary: w.summary(),
      })
      return
    }
    case 'settle': {
      const asked = clock()
      // Settled means back on Redis (what it missed replayed) and back on the bus: while the bus
      // is untrusted, L1 may keep for up to `untrustedLocalTtl` a value whose invalidation it
      // never heard (guarantee 4). The bus can lag the breaker by a reconnection and a heartbeat.
      const settled = () => {
        const { degraded, busTrusted } = worker!.cache.getMetrics()
        return !degraded && busTrusted
      }
      while (!settled() && clock() - asked < 30_000) await sleep(10)
      send({ type: 'settled', index, waitedMs: clock() - asked })
      return
    }
    case 'probe': {
      send({ type: 'probed', index, versions: await worker!.probe() })
      return
    }
    case 'close': {
      await worker?.close()
      send({ type: 'closed', index })
      process.disconnect?.()
      return
    }
  }
}

process.on('message', (message: ToWorker) => {
  handle(message).catch((error: unknown) => {
    send({
      type: 'failed',
      index,
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    })
  })
})
// The parent went away (it finished, or crashed): nothing left to do here.
process.on('disconnect', () => {
  void (worker?.close() ?? Promise.resolve()).finally(() => process.exit(0))
})

/**
 * What the consistency checker and its worker processes say to each other over IPC (node's
 * `fork`, `serialization: 'advanced'`, so typed arrays travel as they are), and the clock they
 * share.
 */

/**
 * Milliseconds on the machine-wide monotonic clock. `process.hrtime` is `CLOCK_MONOTONIC` on
 * Linux: one clock for every process on the machine, so times taken in different workers compare
 * exactly (`performance.timeOrigin + performance.now()` does too, up to the precision with which
 * each process sampled the wall clock at start-up, and it moves with wall-clock steps).
 */
export function clock(): number {
  return Number(process.hrtime.bigint()) / 1e6
}

/** A `[min, max]` range in ms; a value is drawn uniformly from it. */
export type Range = readonly [number, number]

export function draw([min, max]: Range): number {
  return min + Math.random() * (max - min)
}

/** The cache of one worker, as the mode under test configures it. */
export interface WorkerCacheConfig {
  consistency: 'eventual' | 'strict'
  bus: boolean
}

export interface WorkerConfig {
  /** 0-based; shows in errors. */
  index: number
  redisUrl: string
  /** A Redis Cluster instead of `redisUrl`: its nodes, `host:port,host:port`. */
  redisCluster?: string
  /** Redis prefix shared by every worker of one mode (they are instances of one app). */
  prefix: string
  pgUrl: string
  /** PostgreSQL schema holding `records (id int primary key, version int)`. */
  schema: string
  /** Records `1..records`, cached under `record:<id>` with tag `record:<id>`. */
  records: number
  cache: WorkerCacheConfig
  /** Concurrent reader loops (`getOrCompute`). */
  readers: number
  /** Concurrent writer loops (`UPDATE ... RETURNING`, then invalidate). 0: this worker only reads. */
  writers: number
  /** Think time between two reads of one loop. */
  readPauseMs: Range
  /** Think time between two writes of one loop. */
  writePauseMs: Range
  /** Sleep between the loader's SELECT and its return: the fill race window. */
  loaderDelayMs: Range
  /**
   * CPU bursts that block this worker's event loop (a slow subscriber: the bus message waits
   * behind them): one burst of `durationMs`, then a pause of `everyMs`, and so on.
   */
  burst?: { everyMs: Range; durationMs: Range } | undefined
  /** How a write invalidates: `cache.delete(key)`, `invalidateByTag(tag)`, or either at random. */
  invalidate: 'delete' | 'tag' | 'mixed'
  /** Fault injection: this host's wall clock (`Date.now`) is off by this much; timers are not. */
  clockSkewMs?: number
}

/** Per-worker counters reported with the records. */
export interface WorkerSummary {
  index: number
  reads: number
  writes: number
  readErrors: number
  writeErrors: number
  firstErrors: string[]
  /** Event-loop delay seen by the worker (perf_hooks histogram), ms. */
  loopDelayP99Ms: number
  loopDelayMaxMs: number
  /** Total time its event loop spent in injected CPU bursts, ms. */
  burstMs: number
  /** `degraded` events its cache emitted (L2 out of use: unreachable, or it evicted keys). */
  degradations: number
  metrics: {
    hitRate: number
    l1Hits: number
    l2Hits: number
    misses: number
    loaderCalls: number
    fencedFills: number
    busReceived: number
    busTrustLost: number
    busTrusted: boolean
    errors: number
  }
}

export type ToWorker =
  | { type: 'init'; config: WorkerConfig }
  /** Start the loops at `at` (shared clock); stop issuing new operations at `stopAt`. */
  | { type: 'start'; at: number; stopAt: number }
  /**
   * Wait until the cache is not degraded (its L2 back, what it missed replayed) and its bus, if
   * any, is trusted again (until then L1 may hold what a lost invalidation removed, briefly).
   */
  | { type: 'settle' }
  /** Read every record once through the cache (the "quiet" check). */
  | { type: 'probe' }
  | { type: 'close' }

export type FromWorker =
  | { type: 'ready'; index: number; trusted: boolean }
  | {
      type: 'done'
      index: number
      /** {@link READ_FIELDS} per read, flattened. */
      reads: Float64Array
      /** {@link WRITE_FIELDS} per acknowledged write, flattened. */
      writes: Float64Array
      summary: WorkerSummary
    }
  /** The cache is not degraded (any more) and its bus trusted: `waitedMs` after it was asked. */
  | { type: 'settled'; index: number; waitedMs: number }
  /** `versions[id - 1]`: what a read of record `id` returned once the system was quiet. */
  | { type: 'probed'; index: number; versions: number[] }
  | { type: 'closed'; index: number }
  | { type: 'failed'; index: number; error: string }

/**
 * Fields of one read: `[id, invokedAt, respondedAt, version, by, loadedAt, seq, loadSeq]`: the
 * record, when the read was invoked and answered, the version it returned, and where that value
 * came from: the worker whose loader produced it (`by`), when that loader returned, the read's own
 * sequence number in its worker and that of the read whose loader produced the value. A stale
 * read whose value came from a read of its own worker that answered after it began joined a fill
 * in flight; any other stale value was a cached copy.
 */
export const READ_FIELDS = 8
/** Fields of one acknowledged write: record, invoked, acknowledged, version, writer (worker index). */
export const WRITE_FIELDS = 5

/** A growable flat array of float64 records of `fields` numbers each. */
export class RecordBuffer {
  readonly fields: number
  #data: Float64Array
  #length = 0

  constructor(fields: number, initialRecords = 4096) {
    this.fields = fields
    this.#data = new Float64Array(initialRecords * fields)
  }

  push(...values: number[]): void {
    if (values.length !== this.fields) throw new Error(`expected ${this.fields} fields`)
    if (this.#length + this.fields > this.#data.length) {
      const next = new Float64Array(this.#data.length * 2)
      next.set(this.#data)
      this.#data = next
    }
    this.#data.set(values, this.#length)
    this.#length += this.fields
  }

  get count(): number {
    return this.#length / this.fields
  }

  toArray(): Float64Array {
    return this.#data.slice(0, this.#length)
  }
}

/** What the loader returns and the cache holds. */
export interface RecordValue {
  id: number
  version: number
  /** Index of the worker whose loader read it. */
  by: number
  /** When that loader returned (shared clock). */
  loadedAt: number
  /** Sequence number (in worker `by`) of the read whose loader this was. */
  loadSeq: number
}

export function recordKey(id: number): string {
  return `record:${id}`
}

export function recordTag(id: number): string {
  return `record:${id}`
}

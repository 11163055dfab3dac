/**
 * The multi-process consistency checker.
 *
 * Several worker processes (`worker.ts`, forked), each with its own `CacheManager` and so its own
 * L1, on one Redis, read and write shared records held in PostgreSQL. Every write bumps a record's
 * version and then invalidates its cache entry; every read goes through `getOrCompute` with a slow
 * loader. Invoke, response and acknowledgement times are taken on one machine-wide clock.
 *
 * The checker then reports, per mode:
 * - **stale reads**: reads that returned a version older than one whose write was acknowledged
 *   before the read was invoked; how late each was (the read's invocation minus the
 *   acknowledgement of the earliest-acknowledged write that made its version obsolete), as
 *   p50 / p99 / p99.9 / max;
 * - **stale entries once quiet**: the writers stop, every instance settles (back on Redis with
 *   what it missed replayed, its bus trusted again), the system is left alone (~200 ms), then
 *   every instance reads every record through its cache; anything but PostgreSQL's current
 *   version is a stale entry.
 *
 * Race windows are opened on purpose: loaders sleep between their SELECT and their return, and
 * some workers block their event loop with CPU bursts (their bus messages wait: a slow subscriber).
 */
import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import {
  clock,
  type FromWorker,
  type Range,
  READ_FIELDS,
  type ToWorker,
  type WorkerCacheConfig,
  type WorkerConfig,
  type WorkerSummary,
  WRITE_FIELDS,
} from './protocol.js'
import { createRecords, PG_URL } from './schema.js'

// ---------------------------------------------------------------------------------------- modes

export type ModeId = 'one-process' | 'eventual' | 'strict' | 'no-bus'

export interface Mode {
  id: ModeId
  label: string
  /** Worker processes (instances). */
  processes: number
  cache: WorkerCacheConfig
  /** How many of the workers (the last ones) get CPU bursts. */
  burstWorkers: number
  /** What the mode must show: zero stale reads, bounded lateness, or (the control) stale reads. */
  target: 'zero' | 'bounded' | 'control'
}

/** The modes checked; `processes` is the cross-instance count (one-process is always 1). */
export function modes(processes: number): Mode[] {
  const slow = Math.max(1, Math.floor(processes / 2))
  return [
    {
      id: 'one-process',
      label: 'one process (reads + writes on one instance)',
      processes: 1,
      cache: { consistency: 'eventual', bus: true },
      burstWorkers: 0,
      target: 'zero',
    },
    {
      id: 'eventual',
      label: `eventual (default), ${processes} processes`,
      processes,
      cache: { consistency: 'eventual', bus: true },
      burstWorkers: slow,
      target: 'bounded',
    },
    {
      id: 'strict',
      label: `strict, ${processes} processes`,
      processes,
      cache: { consistency: 'strict', bus: true },
      burstWorkers: slow,
      target: 'zero',
    },
    {
      id: 'no-bus',
      label: `bus: false (control), ${processes} processes`,
      processes,
      cache: { consistency: 'eventual', bus: false },
      burstWorkers: slow,
      target: 'control',
    },
  ]
}

// ------------------------------------------------------------------------------------- options

export interface LoadOptions {
  /** How long the workers read and write. */
  durationMs: number
  /** Records in the table (fewer: more contention per key). */
  records: number
  /** Reader loops per worker. */
  readers: number
  /** Writer loops per worker. */
  writers: number
  readPauseMs: Range
  writePauseMs: Range
  loaderDelayMs: Range
  /** CPU bursts of the slow workers. */
  burst: { everyMs: Range; durationMs: Range }
  invalidate: 'delete' | 'tag' | 'mixed'
  /** Time left alone between the end of the load and the quiet check. */
  quietMs: number
  redisUrl: string
  pgUrl: string
  /** Redis prefix; each mode runs under `${prefix}${mode.id}:`, swept afterwards. */
  prefix: string
  /** Progress lines (worker start-up, phases). */
  log?: (message: string) => void
  /** What differs for worker `index`: its Redis URL (behind a proxy), its clock skew... */
  configFor?: (index: number) => Partial<WorkerConfig>
  /**
   * Injects faults while the load runs (`loadMs` long, starting now, under the Redis `prefix` of
   * the mode, on `instances`); awaited before the quiet check.
   */
  during?: (loadMs: number, prefix: string, instances: Instances) => Promise<void>
}

/** What a fault can do to the worker processes while the load runs. */
export interface Instances {
  /**
   * SIGKILLs worker `index` wherever it is (mid-fill, mid-write). What it recorded dies with it:
   * fewer reads are checked, and none against writes only it saw acknowledged.
   */
  kill(index: number): Promise<void>
  /**
   * Starts a fresh process in place of the killed worker `index` (same configuration, a new
   * index); resolves once it runs the load.
   */
  restart(index: number): Promise<void>
}

export const DEFAULT_LOAD: Omit<LoadOptions, 'prefix'> = {
  durationMs: 2_500,
  records: 16,
  readers: 4,
  writers: 1,
  readPauseMs: [0, 2],
  writePauseMs: [2, 12],
  loaderDelayMs: [0, 20],
  burst: { everyMs: [20, 80], durationMs: [0, 20] },
  invalidate: 'mixed',
  quietMs: 200,
  redisUrl: process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  pgUrl: PG_URL,
}

// ------------------------------------------------------------------------------------- results

export interface Distribution {
  count: number
  p50: number
  p99: number
  p999: number
  max: number
}

/** Why a stale read was stale: where its value came from, and who made the write it missed. */
export interface StaleCauses {
  /**
   * The value was a cached copy (L1, or L2 / another instance's fill) that the invalidation had not
   * reached yet, or no longer reached.
   */
  cached: number
  /**
   * The read joined a fill of its own process still in flight when it began (the read that
   * started that fill answered after this one began), whose SELECT ran before the write.
   */
  joinedFill: number
  /** The missed write was made by the reading process itself (read-your-writes, guarantee 1). */
  ownWrite: number
  /** The missed write was made by another process (bounded staleness, guarantee 3). */
  otherWrite: number
}

export interface Analysis {
  reads: number
  writes: number
  staleReads: number
  /** Lateness of the stale reads, ms. */
  lateness: Distribution
  causes: StaleCauses
  /** Read latency (invoke to response) over all reads, ms. */
  readLatency: Distribution
  /** The worst stale reads, for the report. */
  worst: string[]
}

export interface ModeReport extends Analysis {
  mode: ModeId
  label: string
  processes: number
  target: Mode['target']
  durationMs: number
  /** `recoveryMs`: from the end of the load until no instance was degraded any more. */
  quiet: { checked: number; staleEntries: number; examples: string[]; recoveryMs: number }
  workers: WorkerSummary[]
  /** Whether the mode met its target (the control "passes" when it shows stale reads). */
  meetsTarget: boolean
  /** The lateness bound the `bounded` target was judged against, ms. */
  boundMs: number
}

// ------------------------------------------------------------------------------------ analysis

/** Linear-interpolated quantile of an ascending array; NaN when empty. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length
  if (n === 0) return Number.NaN
  const pos = (n - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  const a = sorted[lo]!
  const b = sorted[hi]!
  return a + (b - a) * (pos - lo)
}

export function distribution(values: number[]): Distribution {
  const sorted = Float64Array.from(values).sort()
  return {
    count: sorted.length,
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    p999: quantile(sorted, 0.999),
    max: sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1]!,
  }
}

/** The records of one worker, as `worker.ts` reports them. */
export interface WorkerRecords {
  index: number
  /** {@link READ_FIELDS} per read: id, invokedAt, respondedAt, version, by, loadedAt, seq, loadSeq. */
  reads: Float64Array
  /** {@link WRITE_FIELDS} per write: id, invokedAt, acknowledgedAt, version, writer. */
  writes: Float64Array
}

/**
 * Finds the stale reads. For each record, `firstAck[v]` is the earliest acknowledgement among the
 * writes that produced a version `>= v` (with the writer of that write): a read invoked at `t`
 * that returned `v` is stale when `firstAck[v + 1] < t`, and `t - firstAck[v + 1]` is how late it
 * is. Versions are unique per record (`UPDATE ... RETURNING` serializes them).
 */
export function analyze(workers: readonly WorkerRecords[], records: number): Analysis {
  const maxVersion = new Array<number>(records + 1).fill(0)
  let writes = 0
  for (const w of workers) {
    for (let i = 0; i < w.writes.length; i += WRITE_FIELDS) {
      const id = w.writes[i]!
      maxVersion[id] = Math.max(maxVersion[id]!, w.writes[i + 3]!)
      writes++
    }
  }
  const firstAck: Float64Array[] = []
  const firstWriter: Int32Array[] = []
  for (let id = 0; id <= records; id++) {
    firstAck.push(new Float64Array(maxVersion[id]! + 2).fill(Number.POSITIVE_INFINITY))
    firstWriter.push(new Int32Array(maxVersion[id]! + 2).fill(-1))
  }
  for (const w of workers) {
    for (let i = 0; i < w.writes.length; i += WRITE_FIELDS) {
      const id = w.writes[i]!
      const version = w.writes[i + 3]!
      firstAck[id]![version] = w.writes[i + 2]!
      firstWriter[id]![version] = w.writes[i + 4]!
    }
  }
  // Suffix minimum: firstAck[v] = earliest acknowledgement of any version >= v.
  for (let id = 1; id <= records; id++) {
    const acks = firstAck[id]!
    const writers = firstWriter[id]!
    for (let v = acks.length - 2; v >= 0; v--) {
      if (acks[v + 1]! < acks[v]!) {
        acks[v] = acks[v + 1]!
        writers[v] = writers[v + 1]!
      }
    }
  }

  const lateness: number[] = []
  const latency: number[] = []
  const causes: StaleCauses = { cached: 0, joinedFill: 0, ownWrite: 0, otherWrite: 0 }
  const worst: { late: number; text: string }[] = []
  // When each read answered, by worker and sequence number: a read that joined a fill in flight
  // began before the read that started the fill answered.
  const answeredAt = new Map<number, Map<number, number>>()
  for (const w of workers) {
    const answers = new Map<number, number>()
    for (let i = 0; i < w.reads.length; i += READ_FIELDS)
      answers.set(w.reads[i + 6]!, w.reads[i + 2]!)
    answeredAt.set(w.index, answers)
  }
  let reads = 0
  for (const w of workers) {
    const r = w.reads
    for (let i = 0; i < r.length; i += READ_FIELDS) {
      reads++
      const id = r[i]!
      const invokedAt = r[i + 1]!
      const version = r[i + 3]!
      latency.push(r[i + 2]! - invokedAt)
      const acks = firstAck[id]!
      if (version + 1 >= acks.length) continue
      const ack = acks[version + 1]!
      if (!(ack < invokedAt)) continue
      const late = invokedAt - ack
      lateness.push(late)
      const by = r[i + 4]!
      const writer = firstWriter[id]![version + 1]!
      const ownerAnswered = answeredAt.get(by)?.get(r[i + 7]!) ?? Number.NEGATIVE_INFINITY
      const joined = by === w.index && ownerAnswered >= invokedAt
      if (joined) causes.joinedFill++
      else causes.cached++
      if (writer === w.index) causes.ownWrite++
      else causes.otherWrite++
      if (worst.length < 5 || late > worst[worst.length - 1]!.late) {
        worst.push({
          late,
          text: `worker ${w.index} read record ${id} v${version} ${late.toFixed(1)} ms after worker ${writer} acknowledged v${version + 1} (${joined ? 'joined a fill in flight' : `a cached copy loaded by worker ${by}`})`,
        })
        worst.sort((a, b) => b.late - a.late)
        if (worst.length > 5) worst.pop()
      }
    }
  }
  return {
    reads,
    writes,
    staleReads: lateness.length,
    lateness: distribution(lateness),
    causes,
    readLatency: distribution(latency),
    worst: worst.map((x) => x.text),
  }
}

// ------------------------------------------------------------------------------------- workers

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url))
const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

/** One forked worker and the messages it sent that nobody took yet. */
class WorkerProcess {
  readonly index: number
  readonly child: ChildProcess
  readonly #inbox: FromWorker[] = []
  #waiter: (() => void) | undefined
  #exit: string | undefined

  constructor(index: number) {
    this.index = index
    this.child = fork(WORKER, [], {
      cwd: ROOT,
      execArgv: ['--import', 'tsx'],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    this.child.on('message', (message: FromWorker) => {
      this.#inbox.push(message)
      this.#waiter?.()
    })
    this.child.on('exit', (code, signal) => {
      this.#exit = `worker ${index} exited (${signal ?? code})`
      this.#waiter?.()
    })
    this.child.on('error', (error) => {
      this.#exit = `worker ${index}: ${error.message}`
      this.#waiter?.()
    })
  }

  send(message: ToWorker): void {
    this.child.send(message)
  }

  /** The next message of `type`; rejects on a `failed` message, an exit, or after `timeoutMs`. */
  async next<T extends FromWorker['type']>(
    type: T,
    timeoutMs: number,
  ): Promise<Extract<FromWorker, { type: T }>> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const i = this.#inbox.findIndex((m) => m.type === type || m.type === 'failed')
      if (i >= 0) {
        const message = this.#inbox.splice(i, 1)[0]!
        if (message.type === 'failed')
          throw new Error(`worker ${this.index} failed: ${message.error}`)
        return message as Extract<FromWorker, { type: T }>
      }
      if (this.#exit !== undefined) throw new Error(`${this.#exit} while waiting for '${type}'`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`worker ${this.index}: no '${type}' after ${timeoutMs} ms`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.#waiter = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      this.#waiter = undefined
    }
  }

  /** Asks it to close; kills it (by its own pid) if it does not exit in time. */
  async stop(timeoutMs = 5_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()))
    try {
      if (this.child.connected) this.send({ type: 'close' })
    } catch {
      // Already gone.
    }
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs)
    await exited
    clearTimeout(timer)
  }
}

async function sweepPrefix(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 })
  redis.on('error', () => {})
  try {
    let cursor = '0'
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      cursor = next
      if (found.length > 0) await redis.unlink(...found)
    } while (cursor !== '0')
  } finally {
    redis.disconnect()
  }
}

// ------------------------------------------------------------------------------------- running

/** The lateness bound a `bounded` mode is judged against by default (p99.9 lateness target). */
export const TARGET_P999_MS = 50

/**
 * Runs one mode: a fresh schema, `mode.processes` workers, the load, the quiet check; returns the
 * report. Workers, the schema and the Redis keys are cleaned up whatever happens.
 */
export async function runMode(
  mode: Mode,
  options: LoadOptions,
  boundMs = TARGET_P999_MS,
): Promise<ModeReport> {
  const log = options.log ?? (() => {})
  const table = await createRecords(options.records, options.pgUrl)
  const prefix = `${options.prefix}${mode.id}:`
  const workers: WorkerProcess[] = []
  const configs: WorkerConfig[] = []
  const killed = new Set<WorkerProcess>()
  const live = () => workers.filter((w) => !killed.has(w))
  let stopAt = Number.POSITIVE_INFINITY
  const spawn = async (config: WorkerConfig): Promise<WorkerProcess> => {
    const w = new WorkerProcess(config.index)
    workers.push(w)
    configs.push(config)
    w.send({ type: 'init', config })
    const ready = await w.next('ready', 30_000)
    if (mode.cache.bus && !ready.trusted) log(`  worker ${w.index}: bus not trusted at start`)
    return w
  }
  const instances: Instances = {
    async kill(index) {
      const w = workers[index]!
      killed.add(w)
      const exited = new Promise((resolve) => w.child.once('exit', resolve))
      w.child.kill('SIGKILL')
      await exited
    },
    async restart(index) {
      const w = await spawn({ ...configs[index]!, index: workers.length })
      w.send({ type: 'start', at: clock(), stopAt })
    },
  }
  try {
    const firstBurster = mode.processes - mode.burstWorkers
    const starting: Promise<WorkerProcess>[] = []
    for (let index = 0; index < mode.processes; index++) {
      starting.push(
        spawn({
          index,
          redisUrl: options.redisUrl,
          prefix,
          pgUrl: options.pgUrl,
          schema: table.schema,
          records: options.records,
          cache: mode.cache,
          readers: options.readers,
          writers: options.writers,
          readPauseMs: options.readPauseMs,
          writePauseMs: options.writePauseMs,
          loaderDelayMs: options.loaderDelayMs,
          burst: index >= firstBurster ? options.burst : undefined,
          invalidate: options.invalidate,
          ...options.configFor?.(index),
        }),
      )
    }
    await Promise.all(starting)
    log(`  ${mode.id}: ${workers.length} worker(s) ready, load for ${options.durationMs} ms`)

    const at = clock() + 50
    stopAt = at + options.durationMs
    for (const w of workers) w.send({ type: 'start', at, stopAt })
    await options.during?.(options.durationMs + 50, prefix, instances)
    const done = await Promise.all(live().map((w) => w.next('done', options.durationMs + 30_000)))

    // Quiet: nobody writes any more, every instance is back on Redis with what it missed
    // replayed and on a trusted bus; leave the bus time to deliver, then read everything.
    for (const w of live()) w.send({ type: 'settle' })
    const settled = await Promise.all(live().map((w) => w.next('settled', 40_000)))
    const recoveryMs = Math.max(...settled.map((s) => s.waitedMs))
    await new Promise((resolve) => setTimeout(resolve, options.quietMs))
    const latest = await table.versions()
    for (const w of live()) w.send({ type: 'probe' })
    const probed = await Promise.all(live().map((w) => w.next('probed', 30_000)))
    const examples: string[] = []
    let staleEntries = 0
    for (const p of probed) {
      p.versions.forEach((version, i) => {
        if (version === latest[i]) return
        staleEntries++
        if (examples.length < 5)
          examples.push(`worker ${p.index} record ${i + 1}: v${version}, database v${latest[i]}`)
      })
    }

    const analysis = analyze(
      done.map((d) => ({ index: d.index, reads: d.reads, writes: d.writes })),
      options.records,
    )
    const report: ModeReport = {
      mode: mode.id,
      label: mode.label,
      processes: mode.processes,
      target: mode.target,
      durationMs: options.durationMs,
      ...analysis,
      quiet: { checked: probed.length * options.records, staleEntries, examples, recoveryMs },
      workers: done.map((d) => d.summary).sort((a, b) => a.index - b.index),
      meetsTarget: false,
      boundMs,
    }
    report.meetsTarget = meetsTarget(report)
    return report
  } finally {
    await Promise.all(workers.map((w) => w.stop()))
    await table.drop().catch(() => {})
    await sweepPrefix(options.redisUrl, prefix).catch(() => {})
  }
}

/** zero: no stale read; bounded: p99.9 lateness under the bound; control: stale reads seen. */
export function meetsTarget(report: ModeReport): boolean {
  switch (report.target) {
    case 'zero':
      return report.staleReads === 0 && report.quiet.staleEntries === 0
    case 'bounded':
      return (
        report.quiet.staleEntries === 0 &&
        (report.staleReads === 0 || report.lateness.p999 < report.boundMs)
      )
    case 'control':
      return report.staleReads > 0
  }
}

// ------------------------------------------------------------------------------------ printing

function ms(value: number): string {
  if (!Number.isFinite(value)) return '-'
  return value < 10 ? value.toFixed(2) : value.toFixed(1)
}

function targetText(report: ModeReport): string {
  switch (report.target) {
    case 'zero':
      return 'zero stale'
    case 'bounded':
      return `p99.9 < ${report.boundMs} ms`
    case 'control':
      return 'stale reads expected'
  }
}

/** The per-mode table: stale reads and their lateness, stale entries once quiet, the target. */
export function reportRows(reports: readonly ModeReport[]): {
  header: string[]
  rows: string[][]
} {
  const header = [
    'mode',
    'reads',
    'writes',
    'L1 hit %',
    'stale reads',
    'stale %',
    'late p50 ms',
    'p99',
    'p99.9',
    'max',
    'cached / joined fill',
    'own / other write',
    'stale once quiet',
    'target',
    'result',
  ]
  const rows = reports.map((r) => {
    const hits = r.workers.reduce((s, w) => s + w.metrics.l1Hits, 0)
    return [
      r.label,
      String(r.reads),
      String(r.writes),
      r.reads === 0 ? '-' : ((100 * hits) / r.reads).toFixed(1),
      String(r.staleReads),
      r.reads === 0 ? '-' : ((100 * r.staleReads) / r.reads).toFixed(3),
      ms(r.lateness.p50),
      ms(r.lateness.p99),
      ms(r.lateness.p999),
      ms(r.lateness.max),
      `${r.causes.cached} / ${r.causes.joinedFill}`,
      `${r.causes.ownWrite} / ${r.causes.otherWrite}`,
      `${r.quiet.staleEntries}/${r.quiet.checked}`,
      targetText(r),
      r.meetsTarget ? (r.target === 'control' ? 'fails, as it should' : 'pass') : 'MISS',
    ]
  })
  return { header, rows }
}

/** A one-paragraph account of a mode: worker counters, event-loop lag, worst stale reads. */
export function describeReport(r: ModeReport): string {
  const lines = [`${r.label}:`]
  const sum = (f: (w: WorkerSummary) => number) => r.workers.reduce((s, w) => s + f(w), 0)
  lines.push(
    `  loader calls ${sum((w) => w.metrics.loaderCalls)}, fenced fills ${sum((w) => w.metrics.fencedFills)}, bus messages received ${sum((w) => w.metrics.busReceived)}, trust lost ${sum((w) => w.metrics.busTrustLost)}, errors ${sum((w) => w.readErrors + w.writeErrors + w.metrics.errors)}; read latency p50 ${ms(r.readLatency.p50)} ms, p99 ${ms(r.readLatency.p99)} ms`,
  )
  lines.push(
    `  event-loop delay p99 / max per worker (ms): ${r.workers.map((w) => `${ms(w.loopDelayP99Ms)}/${ms(w.loopDelayMaxMs)}${w.burstMs > 0 ? ` (bursts ${(w.burstMs / 1000).toFixed(1)} s)` : ''}`).join(', ')}`,
  )
  for (const text of r.worst) lines.push(`  stale: ${text}`)
  for (const text of r.quiet.examples) lines.push(`  stale once quiet: ${text}`)
  for (const w of r.workers)
    for (const text of w.firstErrors) lines.push(`  worker ${w.index} error: ${text}`)
  return lines.join('\n')
}

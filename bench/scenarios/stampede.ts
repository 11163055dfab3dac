/**
 * Cross-instance stampede (guarantee 8: one loader per key): 4 processes, each its own cache
 * instance on one Redis, released together by a barrier (a start time on the machine-wide
 * monotonic clock, spun on), fire 200 concurrent read-through calls each on one cold key whose
 * loader sleeps 50 ms. Counted: loader calls out of 800, per round (a fresh key each round).
 *
 * Candidates, each configured as a user running several instances would:
 * - stratacache: defaults with Redis (lease on the key, bus on), `getOrCompute`;
 * - stratacache with `lease: false`: single-flight in each process only (the reference: 4);
 * - BentoCache: memory L1 + Redis L2 + Redis bus, `getOrSet` (its locks are per process);
 * - cache-manager: in-memory Keyv + `@keyv/redis`, `wrap` (coalesces per process).
 *
 * This file is also the worker: run with `--stampede-worker`, it takes orders over IPC.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { REDIS_URL, TTL_MS } from '../fixtures.js'
import { table } from '../harness.js'

const WORKER_FLAG = '--stampede-worker'
const PROCESSES = 4
const CALLS = 200
const LOADER_MS = 50

/** Milliseconds on the machine-wide monotonic clock (CLOCK_MONOTONIC: the same in every process). */
const clock = (): number => Number(process.hrtime.bigint()) / 1e6

type CandidateId = 'strata' | 'strata-no-lease' | 'bento' | 'cm'

interface Candidate {
  id: CandidateId
  name: string
  note: string
}

const CANDIDATES: Candidate[] = [
  {
    id: 'strata',
    name: 'stratacache (defaults: lease 5s, bus)',
    note: 'getOrCompute; one lease per key across instances, waiters woken by the bus',
  },
  {
    id: 'strata-no-lease',
    name: 'stratacache (lease: false)',
    note: 'getOrCompute; single flight per process only (fills still fenced)',
  },
  {
    id: 'bento',
    name: 'bentocache (memory + redis + redis bus)',
    note: 'getOrSet; bentostore().useL1Layer(memoryDriver).useL2Layer(redisDriver).useBus(redisBusDriver)',
  },
  {
    id: 'cm',
    name: 'cache-manager (memory keyv + @keyv/redis)',
    note: 'wrap(key, fn, ttl); createCache({ stores: [new Keyv(), createKeyv(redis)] })',
  },
]

// --------------------------------------------------------------------------------------- worker

interface ReadThrough {
  load(key: string, loader: () => Promise<unknown>): Promise<unknown>
  close(): Promise<void>
}

function connection(): { host: string; port: number; password?: string; db?: number } {
  const url = new URL(REDIS_URL)
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : undefined
  return {
    host: url.hostname,
    port: Number(url.port || 6379),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(db !== undefined ? { db } : {}),
  }
}

async function build(id: CandidateId, prefix: string): Promise<ReadThrough> {
  switch (id) {
    case 'strata':
    case 'strata-no-lease': {
      const { CacheManager } = await import('../../src/index.js')
      const cache = new CacheManager({
        redis: REDIS_URL,
        prefix,
        ttl: TTL_MS,
        ...(id === 'strata-no-lease' ? { lease: false as const } : {}),
      })
      // Let the bus subscribe (as a long-running instance would have).
      const deadline = Date.now() + 5_000
      while (!cache.getMetrics().busTrusted && Date.now() < deadline) await sleep(10)
      return {
        load: (key, loader) => cache.getOrCompute(key, loader),
        close: () => cache.close(),
      }
    }
    case 'bento': {
      const { BentoCache, bentostore } = await import('bentocache')
      const { memoryDriver } = await import('bentocache/drivers/memory')
      const { redisDriver, redisBusDriver } = await import('bentocache/drivers/redis')
      const store = bentostore()
        .useL1Layer(memoryDriver({ maxItems: 10_000 }))
        .useL2Layer(redisDriver({ connection: connection(), prefix }))
        .useBus(redisBusDriver({ connection: connection() }))
      const bento = new BentoCache({ default: 'cache', stores: { cache: store }, ttl: TTL_MS })
      return {
        load: (key, loader) => bento.getOrSet({ key, factory: loader }),
        close: () => bento.disconnectAll(),
      }
    }
    case 'cm': {
      const { createCache } = await import('cache-manager')
      const { Keyv } = await import('keyv')
      const { createKeyv } = await import('@keyv/redis')
      const remote = createKeyv(REDIS_URL, { namespace: prefix.slice(0, -1) })
      const cache = createCache({ stores: [new Keyv(), remote], ttl: TTL_MS })
      await remote.get('connect-probe')
      return {
        load: (key, loader) => cache.wrap(key, loader, TTL_MS),
        close: () => cache.disconnect().then(() => {}),
      }
    }
  }
}

type ToWorker =
  | { type: 'init'; candidate: CandidateId; prefix: string }
  | { type: 'round'; key: string; at: number }
  | { type: 'close' }

type FromWorker =
  | { type: 'ready' }
  | { type: 'round'; loaderCalls: number; errors: number; firstError?: string; elapsedMs: number }
  | { type: 'closed' }
  | { type: 'failed'; error: string }

async function worker(): Promise<void> {
  let cache: ReadThrough | undefined
  const send = (message: FromWorker) => process.send?.(message)
  const handle = async (message: ToWorker): Promise<void> => {
    switch (message.type) {
      case 'init':
        await cache?.close()
        cache = await build(message.candidate, message.prefix)
        send({ type: 'ready' })
        return
      case 'round': {
        const c = cache!
        let loaderCalls = 0
        const loader = async () => {
          loaderCalls++
          await sleep(LOADER_MS)
          return { key: message.key, pid: process.pid }
        }
        // The barrier: sleep until just before the start, then spin to it.
        const wait = message.at - clock() - 3
        if (wait > 0) await sleep(wait)
        while (clock() < message.at) {
          // spin
        }
        const started = clock()
        const calls: Promise<unknown>[] = []
        for (let i = 0; i < CALLS; i++) calls.push(c.load(message.key, loader))
        const settled = await Promise.allSettled(calls)
        const elapsedMs = clock() - started
        const failures = settled.filter((s) => s.status === 'rejected')
        send({
          type: 'round',
          loaderCalls,
          errors: failures.length,
          ...(failures[0] ? { firstError: String(failures[0].reason) } : {}),
          elapsedMs,
        })
        return
      }
      case 'close':
        await cache?.close()
        cache = undefined
        send({ type: 'closed' })
        process.disconnect?.()
        return
    }
  }
  process.on('message', (message: ToWorker) => {
    handle(message).catch((error: unknown) =>
      send({ type: 'failed', error: error instanceof Error ? error.message : String(error) }),
    )
  })
  process.on('disconnect', () => {
    void (cache?.close() ?? Promise.resolve()).finally(() => process.exit(0))
  })
}

if (process.argv.includes(WORKER_FLAG)) void worker()

// --------------------------------------------------------------------------------------- parent

class Child {
  readonly process: ChildProcess
  readonly #inbox: FromWorker[] = []
  #wake: (() => void) | undefined
  #exited: string | undefined

  constructor() {
    this.process = fork(fileURLToPath(import.meta.url), [WORKER_FLAG], {
      cwd: fileURLToPath(new URL('../../', import.meta.url)),
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    this.process.on('message', (m: FromWorker) => {
      this.#inbox.push(m)
      this.#wake?.()
    })
    this.process.on('exit', (code, signal) => {
      this.#exited = `stampede worker exited (${signal ?? code})`
      this.#wake?.()
    })
  }

  send(message: ToWorker): void {
    this.process.send(message)
  }

  async next<T extends FromWorker['type']>(
    type: T,
    timeoutMs = 30_000,
  ): Promise<Extract<FromWorker, { type: T }>> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const i = this.#inbox.findIndex((m) => m.type === type || m.type === 'failed')
      if (i >= 0) {
        const m = this.#inbox.splice(i, 1)[0]!
        if (m.type === 'failed') throw new Error(`stampede worker failed: ${m.error}`)
        return m as Extract<FromWorker, { type: T }>
      }
      if (this.#exited !== undefined) throw new Error(this.#exited)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`stampede worker: no '${type}' after ${timeoutMs} ms`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.#wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      this.#wake = undefined
    }
  }

  async stop(): Promise<void> {
    const p = this.process
    if (p.exitCode !== null || p.signalCode !== null) return
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()))
    try {
      if (p.connected) this.send({ type: 'close' })
    } catch {
      // gone
    }
    const timer = setTimeout(() => p.kill('SIGKILL'), 5_000)
    await exited
    clearTimeout(timer)
  }
}

export interface StampedeCandidateResult {
  id: CandidateId
  name: string
  note: string
  status: 'ok' | 'failed'
  error?: string
  /** Loader calls (all processes) per round. */
  loaderCalls: number[]
  /** Per round: the slowest process's time from the barrier to its 200th answer, ms. */
  roundMs: number[]
  errors: number
  firstError?: string
}

function mean(values: readonly number[]): number {
  return values.reduce((s, v) => s + v, 0) / Math.max(1, values.length)
}

/** A study for bench/run.ts: runs once, prints its own table. */
export const stampede = {
  id: 'stampede',
  group: 'stampede',
  title: `Cross-instance stampede: ${PROCESSES} processes x ${CALLS} concurrent calls on one cold key (loader ${LOADER_MS} ms), loader calls out of ${PROCESSES * CALLS}`,
  needsRedis: true,
  async run(ctx: {
    quick: boolean
    prefix: string
    log(message: string): void
  }): Promise<{ text: string; data: unknown }> {
    const rounds = ctx.quick ? 3 : 10
    const children = Array.from({ length: PROCESSES }, () => new Child())
    const results: StampedeCandidateResult[] = []
    try {
      for (const candidate of CANDIDATES) {
        const result: StampedeCandidateResult = {
          id: candidate.id,
          name: candidate.name,
          note: candidate.note,
          status: 'ok',
          loaderCalls: [],
          roundMs: [],
          errors: 0,
        }
        results.push(result)
        try {
          const prefix = `${ctx.prefix}${candidate.id}:`
          for (const c of children) c.send({ type: 'init', candidate: candidate.id, prefix })
          await Promise.all(children.map((c) => c.next('ready')))
          for (let round = 0; round < rounds; round++) {
            const key = `cold:${round}:${Math.random().toString(36).slice(2, 10)}`
            const at = clock() + 100
            for (const c of children) c.send({ type: 'round', key, at })
            const answers = await Promise.all(children.map((c) => c.next('round')))
            result.loaderCalls.push(answers.reduce((s, a) => s + a.loaderCalls, 0))
            result.roundMs.push(Math.max(...answers.map((a) => a.elapsedMs)))
            for (const a of answers) {
              result.errors += a.errors
              if (a.firstError !== undefined) result.firstError ??= a.firstError
            }
            await sleep(20)
          }
          ctx.log(`  ${candidate.name}: loader calls per round ${result.loaderCalls.join(', ')}`)
        } catch (error) {
          result.status = 'failed'
          result.error = error instanceof Error ? error.message : String(error)
          ctx.log(`  ! ${candidate.name} failed: ${result.error}`)
        }
      }
    } finally {
      await Promise.all(children.map((c) => c.stop()))
    }
    const header = [
      'candidate',
      'rounds',
      `loader calls / ${PROCESSES * CALLS}: mean`,
      'min',
      'max',
      'per round',
      'round time mean ms',
      'errors',
    ]
    const rows = results.map((r) =>
      r.status === 'failed'
        ? [r.name, '-', 'FAILED', '', '', r.error ?? '', '', '']
        : [
            r.name,
            String(r.loaderCalls.length),
            mean(r.loaderCalls).toFixed(2),
            String(Math.min(...r.loaderCalls)),
            String(Math.max(...r.loaderCalls)),
            r.loaderCalls.join(' '),
            mean(r.roundMs).toFixed(1),
            String(r.errors),
          ],
    )
    const lines = [table(header, rows, 'lrrrrlrr')]
    for (const r of results) {
      lines.push(`  note: ${r.name}: ${r.note}`)
      if (r.firstError !== undefined) lines.push(`  first error of ${r.name}: ${r.firstError}`)
    }
    lines.push(
      `  round time: from the barrier to the slowest process's ${CALLS}th answer (loader alone: ${LOADER_MS} ms).`,
    )
    return {
      text: lines.join('\n'),
      data: { processes: PROCESSES, calls: CALLS, loaderMs: LOADER_MS, rounds, results },
    }
  },
}

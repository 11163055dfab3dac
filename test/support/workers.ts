/**
 * Worker processes for cross-instance tests: each runs `cache-worker.ts` (its own CacheManagers,
 * its own L1, its own Redis connections) and is driven over IPC by the test process.
 *
 * - `call(op, args)` runs one operation in the worker and resolves to its result;
 * - workers report what happens inside them (a loader call, "armed", "loading"...) as events,
 *   which the parent can count or wait for (`events`, `nextEvent`);
 * - gates are barriers held by the parent: code in a worker awaits `gate(name)` until the parent
 *   sends `release(name)`, so tests order events across processes without sleeping;
 * - every worker is SIGKILLed by `killAll()` (call it in `afterEach`/`afterAll`) and when the test
 *   process exits; a worker exits by itself when its IPC channel closes (the parent died).
 */
import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** Parent → worker. */
export type ToWorker =
  | { type: 'call'; id: number; op: string; args: unknown }
  | { type: 'release'; gate: string }

/** Worker → parent. */
export type FromWorker =
  | { type: 'up'; pid: number }
  | { type: 'reply'; id: number; ok: true; result: unknown }
  | { type: 'reply'; id: number; ok: false; error: string }
  | { type: 'event'; name: string; data: unknown; at: number }

/** One event a worker reported; `at` is its absolute time in ms (see {@link now}). */
export interface WorkerEvent {
  worker: Worker
  name: string
  data: unknown
  at: number
}

/**
 * Wall-clock time with sub-millisecond resolution, comparable between processes on one machine
 * (`performance.timeOrigin` is an absolute timestamp).
 */
export function now(): number {
  return performance.timeOrigin + performance.now()
}

const WORKER_SCRIPT = fileURLToPath(new URL('./cache-worker.ts', import.meta.url))

/** Every worker still running, killed on `killAll()` and when this process exits. */
const live = new Set<Worker>()
process.once('exit', () => {
  for (const worker of live) worker.child.kill('SIGKILL')
})

interface Waiter {
  name: string
  match: (event: WorkerEvent) => boolean
  resolve: (event: WorkerEvent) => void
}

/** A worker process running `cache-worker.ts`. */
export class Worker {
  readonly label: string
  readonly child: ChildProcess
  /** Every event this worker reported, in order. */
  readonly events: WorkerEvent[] = []
  readonly #pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>()
  readonly #waiters = new Set<Waiter>()
  readonly #listeners = new Set<(event: WorkerEvent) => void>()
  readonly exited: Promise<void>
  #nextId = 1
  #gone = false
  #stderr = ''

  private constructor(label: string, child: ChildProcess) {
    this.label = label
    this.child = child
    child.stderr?.on('data', (data: Buffer) => {
      this.#stderr = (this.#stderr + data.toString()).slice(-4000)
    })
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.#gone = true
        live.delete(this)
        const why = new Error(
          `worker ${label} (pid ${child.pid}) exited (${signal ?? code})${this.#stderr ? `:\n${this.#stderr}` : ''}`,
        )
        for (const pending of this.#pending.values()) pending.reject(why)
        this.#pending.clear()
        resolve()
      })
    })
    child.on('message', (raw) => this.#receive(raw as FromWorker))
    // A kill can race a send: the channel error is already reported by the exit.
    child.on('error', () => {})
  }

  /**
   * Forks a worker (`script`: `cache-worker.ts` by default) and waits until it reports it is up
   * (its modules are loaded).
   */
  static async spawn(
    label: string,
    script = WORKER_SCRIPT,
    env: Record<string, string> = {},
  ): Promise<Worker> {
    const child = fork(script, [label], {
      execArgv: ['--import', 'tsx'],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      env: { ...process.env, ...env },
    })
    const worker = new Worker(label, child)
    live.add(worker)
    const up = new Promise<void>((resolve, reject) => {
      child.once('message', (message) => {
        if ((message as FromWorker).type === 'up') resolve()
        else reject(new Error(`worker ${label}: unexpected first message`))
      })
      void worker.exited.then(() => reject(new Error(`worker ${label} exited before it was up`)))
    })
    await withTimeout(up, 15_000, `worker ${label} to start`)
    return worker
  }

  get pid(): number {
    return this.child.pid!
  }

  get alive(): boolean {
    return !this.#gone
  }

  /** Runs `op` in the worker; rejects with the worker's error message. */
  call<T = unknown>(op: string, args: unknown = {}): Promise<T> {
    if (this.#gone) return Promise.reject(new Error(`worker ${this.label} is gone`))
    const id = this.#nextId++
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
      this.#send({ type: 'call', id, op, args })
    })
  }

  /** Opens the gate `gate` in the worker (now, or for whoever waits on it later). */
  release(gate: string): void {
    this.#send({ type: 'release', gate })
  }

  /** Resolves with the first event named `name` (matching `match`), past or future. */
  nextEvent(
    name: string,
    match: (event: WorkerEvent) => boolean = () => true,
    timeoutMs = 10_000,
  ): Promise<WorkerEvent> {
    const seen = this.events.find((event) => event.name === name && match(event))
    if (seen !== undefined) return Promise.resolve(seen)
    const found = new Promise<WorkerEvent>((resolve) => {
      this.#waiters.add({ name, match, resolve })
    })
    return withTimeout(found, timeoutMs, `event ${name} from worker ${this.label}`)
  }

  /** Calls `listener` with every event this worker reports from now on. */
  onEvent(listener: (event: WorkerEvent) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  count(name: string): number {
    return this.events.filter((event) => event.name === name).length
  }

  /** SIGKILL, and wait for the process to be gone. */
  async kill(): Promise<void> {
    if (!this.#gone) this.child.kill('SIGKILL')
    await this.exited
  }

  #send(message: ToWorker): void {
    if (this.#gone || !this.child.connected) return
    this.child.send(message, (error) => {
      // The worker may have been killed meanwhile; its exit rejects what was pending.
      if (error && !this.#gone) this.child.kill('SIGKILL')
    })
  }

  #receive(message: FromWorker): void {
    switch (message.type) {
      case 'up':
        return
      case 'reply': {
        const pending = this.#pending.get(message.id)
        if (pending === undefined) return
        this.#pending.delete(message.id)
        if (message.ok) pending.resolve(message.result)
        else pending.reject(new Error(`worker ${this.label}: ${message.error}`))
        return
      }
      case 'event': {
        const event: WorkerEvent = {
          worker: this,
          name: message.name,
          data: message.data,
          at: message.at,
        }
        this.events.push(event)
        for (const listener of this.#listeners) listener(event)
        for (const waiter of [...this.#waiters]) {
          if (waiter.name === event.name && waiter.match(event)) {
            this.#waiters.delete(waiter)
            waiter.resolve(event)
          }
        }
        return
      }
    }
  }
}

/** Starts `n` workers in parallel, labelled `${label}-0`... */
export function spawnWorkers(n: number, label = 'w'): Promise<Worker[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => Worker.spawn(`${label}-${i}`)))
}

/** SIGKILLs every worker still running (for `afterEach`/`afterAll`, pass or fail). */
export async function killAll(): Promise<void> {
  await Promise.all([...live].map((worker) => worker.kill()))
}

/**
 * A barrier across processes: waits until every worker reported `readyEvent` for `gate` (an event
 * whose data has `gate`), then opens `gate` in all of them, as close together as IPC allows.
 * Resolves to the release time ({@link now}).
 */
export async function barrier(
  workers: readonly Worker[],
  readyEvent: string,
  gate: string,
  timeoutMs = 10_000,
): Promise<number> {
  const forGate = (event: WorkerEvent) => (event.data as { gate?: unknown })?.gate === gate
  await Promise.all(workers.map((worker) => worker.nextEvent(readyEvent, forGate, timeoutMs)))
  const releasedAt = now()
  for (const worker of workers) worker.release(gate)
  return releasedAt
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)),
      ms,
    )
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(error)
      },
    )
  })
}

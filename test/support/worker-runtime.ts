/**
 * The inside of a worker process started by `workers.ts`: its label, the events it reports to the
 * parent, the gates (barriers) only the parent opens, and the loop that runs the operations the
 * parent asks for over IPC. A worker exits when its IPC channel closes (the parent died).
 */
import type { FromWorker, ToWorker } from './workers.js'

export const label = process.argv[2] ?? `worker-${process.pid}`

if (process.send === undefined) {
  console.error(`${process.argv[1]} must be started with an IPC channel (child_process.fork)`)
  process.exit(2)
}
// The parent died (or dropped us): nothing left to do.
process.on('disconnect', () => process.exit(0))

function send(message: FromWorker): void {
  if (process.connected) process.send!(message)
}

/** Absolute time in ms with sub-millisecond resolution, comparable across processes. */
export function now(): number {
  return performance.timeOrigin + performance.now()
}

/** Reports an event to the parent. */
export function emit(name: string, data: unknown = {}): void {
  send({ type: 'event', name, data, at: now() })
}

// ---- gates: barriers held by the parent ----

const gates = new Map<string, { open: boolean; waiters: (() => void)[] }>()

function gateState(name: string) {
  let state = gates.get(name)
  if (state === undefined) {
    state = { open: false, waiters: [] }
    gates.set(name, state)
  }
  return state
}

/** Resolves once the parent opens `name` (at once if it already did). */
export function gate(name: string): Promise<void> {
  const state = gateState(name)
  if (state.open) return Promise.resolve()
  return new Promise((resolve) => state.waiters.push(resolve))
}

function openGate(name: string): void {
  const state = gateState(name)
  state.open = true
  for (const wake of state.waiters.splice(0)) wake()
}

/** Serves the parent's calls with `ops` and reports that the worker is up. */
export function startWorker<A>(ops: Record<string, (args: A) => Promise<unknown>>): void {
  process.on('message', (raw: unknown) => {
    const message = raw as ToWorker
    if (message.type === 'release') {
      openGate(message.gate)
      return
    }
    const op = ops[message.op]
    if (op === undefined) {
      send({ type: 'reply', id: message.id, ok: false, error: `unknown op ${message.op}` })
      return
    }
    op(message.args as A).then(
      (result) => send({ type: 'reply', id: message.id, ok: true, result }),
      (error: unknown) =>
        send({
          type: 'reply',
          id: message.id,
          ok: false,
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        }),
    )
  })
  send({ type: 'up', pid: process.pid })
}

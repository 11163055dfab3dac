/**
 * Wire format of the invalidation bus: one JSON object per pub/sub message.
 *
 * | field | meaning                                                                          |
 * | ----- | -------------------------------------------------------------------------------- |
 * | `v`   | format version, `1`                                                              |
 * | `o`   | origin: the sender's `instanceId`                                                |
 * | `e`   | epoch: random per sender start (a restart with the same `instanceId` is new)      |
 * | `s`   | message: its sequence number (1, 2, ... per origin); heartbeat: the last one used |
 * | `t`   | `d` delete, `t` tags, `p` pattern, `c` clear, `f` filled, `h` heartbeat          |
 * | `k`   | `d`: the keys (array); `f`: the key (string)                                     |
 * | `g`   | `t`: the tags                                                                    |
 * | `p`   | `p`: the glob, or `r`: `[source, flags]` of a regular expression                 |
 * | `n`   | `h`: the heartbeat's own number (1, 2, ... per origin)                           |
 *
 * e.g. `{"v":1,"o":"3f9a0c1d2e4b5a69","s":42,"t":"d","k":["product:1"]}`.
 *
 * A heartbeat carries the sender's last message sequence number, so a receiver that has not seen
 * that message learns it lost one within a heartbeat, even when the sender publishes nothing
 * else (that is how a `publish()` that gave up is noticed by the others).
 */
import { invalid } from '../errors.js'
import type { BusMessage } from './bus.js'

export const BUS_WIRE_VERSION = 1

/** A readable frame from some origin. */
export type BusFrame =
  | { kind: 'message'; origin: string; epoch: string; seq: number; message: BusMessage }
  | { kind: 'heartbeat'; origin: string; epoch: string; seq: number; beat: number }

/**
 * What a raw channel payload is: a frame; a frame whose envelope (origin, sequence number) is
 * readable but whose body is not (a peer running a newer format, or a corrupted body: a message
 * was lost); or garbage (not ours at all).
 */
export type DecodedFrame =
  | BusFrame
  | { kind: 'unreadable'; origin: string; epoch: string; seq: number; reason: string }
  | { kind: 'garbage'; reason: string }

const MAX_ORIGIN_LENGTH = 200
const MAX_EPOCH_LENGTH = 32
const REGEXP_FLAGS = /^[dgimsuvy]*$/

/** Checks a message given to `publish()` and returns it in canonical form. Throws `ValidationError`. */
export function checkMessage(message: unknown): BusMessage {
  if (typeof message !== 'object' || message === null) {
    throw invalid('message', 'must be an object with a type')
  }
  const m = message as Record<string, unknown>
  switch (m.type) {
    case 'delete':
      return { type: 'delete', keys: stringArray(m.keys, 'message.keys') }
    case 'tags':
      return { type: 'tags', tags: stringArray(m.tags, 'message.tags') }
    case 'pattern': {
      const hasGlob = m.glob !== undefined
      const hasRegexp = m.regexp !== undefined
      if (hasGlob === hasRegexp) {
        throw invalid('message', 'a pattern message needs exactly one of glob or regexp')
      }
      if (hasGlob) {
        if (typeof m.glob !== 'string') throw invalid('message.glob', 'must be a string')
        return { type: 'pattern', glob: m.glob }
      }
      const r = m.regexp as { source?: unknown; flags?: unknown } | null
      if (typeof r !== 'object' || r === null) {
        throw invalid('message.regexp', 'must be { source, flags } (a RegExp will do)')
      }
      const reason = regexpProblem(r.source, r.flags)
      if (reason !== undefined) throw invalid('message.regexp', reason)
      return { type: 'pattern', regexp: { source: r.source as string, flags: r.flags as string } }
    }
    case 'clear':
      return { type: 'clear' }
    case 'filled':
      if (typeof m.key !== 'string') throw invalid('message.key', 'must be a string')
      return { type: 'filled', key: m.key }
    default:
      throw invalid(
        'message.type',
        `must be delete, tags, pattern, clear or filled, got ${JSON.stringify(m.type)}`,
      )
  }
}

function stringArray(value: unknown, field: string): string[] {
  if (!Array.isArray(value)) throw invalid(field, 'must be an array of strings')
  for (const item of value) {
    if (typeof item !== 'string') throw invalid(field, 'must be an array of strings')
  }
  return value.slice() as string[]
}

function regexpProblem(source: unknown, flags: unknown): string | undefined {
  if (typeof source !== 'string' || typeof flags !== 'string') {
    return 'source and flags must be strings'
  }
  if (!REGEXP_FLAGS.test(flags)) return `unknown flags ${JSON.stringify(flags)}`
  try {
    new RegExp(source, flags)
  } catch (error) {
    return `does not compile: ${(error as Error).message}`
  }
  return undefined
}

/** Who sends a frame: its `instanceId` and the epoch of this run of it. */
export interface Sender {
  readonly id: string
  readonly epoch: string
}

/** Encodes a message already checked by {@link checkMessage}. */
export function encodeMessage(sender: Sender, seq: number, message: BusMessage): string {
  const head = { v: BUS_WIRE_VERSION, o: sender.id, e: sender.epoch, s: seq }
  switch (message.type) {
    case 'delete':
      return JSON.stringify({ ...head, t: 'd', k: message.keys })
    case 'tags':
      return JSON.stringify({ ...head, t: 't', g: message.tags })
    case 'pattern':
      return message.glob !== undefined
        ? JSON.stringify({ ...head, t: 'p', p: message.glob })
        : JSON.stringify({ ...head, t: 'p', r: [message.regexp!.source, message.regexp!.flags] })
    case 'clear':
      return JSON.stringify({ ...head, t: 'c' })
    case 'filled':
      return JSON.stringify({ ...head, t: 'f', k: message.key })
  }
}

export function encodeHeartbeat(sender: Sender, seq: number, beat: number): string {
  return JSON.stringify({
    v: BUS_WIRE_VERSION,
    o: sender.id,
    e: sender.epoch,
    s: seq,
    t: 'h',
    n: beat,
  })
}

function isCount(value: unknown, min: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string')
}

/** Decodes a raw payload. Never throws. */
export function decodeFrame(raw: string): DecodedFrame {
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch {
    return { kind: 'garbage', reason: 'not JSON' }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { kind: 'garbage', reason: 'not a JSON object' }
  }
  const f = parsed as Record<string, unknown>
  const origin = f.o
  if (typeof origin !== 'string' || origin.length === 0 || origin.length > MAX_ORIGIN_LENGTH) {
    return { kind: 'garbage', reason: 'no origin' }
  }
  if (!isCount(f.s, 0)) return { kind: 'garbage', reason: 'no sequence number' }
  const seq = f.s
  const epoch = typeof f.e === 'string' && f.e.length <= MAX_EPOCH_LENGTH ? f.e : ''
  const unreadable = (reason: string): DecodedFrame => ({
    kind: 'unreadable',
    origin,
    epoch,
    seq,
    reason,
  })
  if (f.v !== BUS_WIRE_VERSION) return unreadable(`format version ${JSON.stringify(f.v)}`)
  if (f.t === 'h') {
    return isCount(f.n, 1)
      ? { kind: 'heartbeat', origin, epoch, seq, beat: f.n }
      : unreadable('heartbeat without a number')
  }
  if (seq < 1) return unreadable('message sequence number 0')
  const message = (m: BusMessage): DecodedFrame => ({
    kind: 'message',
    origin,
    epoch,
    seq,
    message: m,
  })
  switch (f.t) {
    case 'd':
      return isStringArray(f.k)
        ? message({ type: 'delete', keys: f.k })
        : unreadable('delete without keys')
    case 't':
      return isStringArray(f.g)
        ? message({ type: 'tags', tags: f.g })
        : unreadable('tags without tags')
    case 'p': {
      if (typeof f.p === 'string' && f.r === undefined) {
        return message({ type: 'pattern', glob: f.p })
      }
      if (f.p === undefined && Array.isArray(f.r) && f.r.length === 2) {
        const [source, flags] = f.r as unknown[]
        const problem = regexpProblem(source, flags)
        if (problem !== undefined) return unreadable(`pattern regexp ${problem}`)
        return message({
          type: 'pattern',
          regexp: { source: source as string, flags: flags as string },
        })
      }
      return unreadable('pattern without exactly one of glob or regexp')
    }
    case 'c':
      return message({ type: 'clear' })
    case 'f':
      return typeof f.k === 'string'
        ? message({ type: 'filled', key: f.k })
        : unreadable('filled without a key')
    default:
      return unreadable(`unknown type ${JSON.stringify(f.t)}`)
  }
}

/**
 * Per-sender sequence tracking on the receiving side: tells, for each frame, whether a message of
 * that sender was lost before it. A sender is an origin in one epoch (one run of it).
 *
 * A sender heard of for the first time is new (its first message, or a heartbeat before any
 * message), or was there before this receiver subscribed (within the grace after a subscription,
 * while every live sender's first heartbeat arrives), or else it sent messages this receiver
 * never got: cut from Redis and forgotten meanwhile, or back under a new epoch. That is a gap.
 */
export class SequenceTracker {
  readonly #senders = new Map<string, { highest: number; seenAt: number }>()
  #graceUntil = 0

  get size(): number {
    return this.#senders.size
  }

  /**
   * Forgets every sender (a new subscription: what was published before it is lost by
   * construction, and the rising trust edge covers it); until `graceUntil` (epoch ms) unknown
   * senders set their baseline.
   */
  clear(graceUntil: number): void {
    this.#senders.clear()
    this.#graceUntil = graceUntil
  }

  /**
   * A message `seq`: `'gap'` when at least one earlier message never came, `'late'` when it is at
   * or below the highest seen (a retry that overtook nothing, a duplicate), `'ok'`.
   */
  message(origin: string, epoch: string, seq: number, now: number): 'ok' | 'gap' | 'late' {
    const key = `${epoch}/${origin}`
    const state = this.#senders.get(key)
    if (state === undefined) {
      this.#senders.set(key, { highest: seq, seenAt: now })
      return seq === 1 || now < this.#graceUntil ? 'ok' : 'gap'
    }
    state.seenAt = now
    if (seq <= state.highest) return 'late'
    const gap = seq > state.highest + 1
    state.highest = seq
    return gap ? 'gap' : 'ok'
  }

  /** A heartbeat saying the sender has used sequence numbers up to `seq`. */
  heartbeat(origin: string, epoch: string, seq: number, now: number): 'ok' | 'gap' {
    const key = `${epoch}/${origin}`
    const state = this.#senders.get(key)
    if (state === undefined) {
      this.#senders.set(key, { highest: seq, seenAt: now })
      return seq === 0 || now < this.#graceUntil ? 'ok' : 'gap'
    }
    state.seenAt = now
    if (seq <= state.highest) return 'ok'
    state.highest = seq
    return 'gap'
  }

  /** Forgets senders not heard from since `before` (instances that went away). */
  prune(before: number): void {
    for (const [key, state] of this.#senders) {
      if (state.seenAt < before) this.#senders.delete(key)
    }
  }
}

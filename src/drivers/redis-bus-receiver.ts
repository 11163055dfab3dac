import type { BusSignals } from './bus.js'
import { decodeFrame, SequenceTracker } from './bus-codec.js'

/**
 * The receiving side of a `RedisBus`: reads each frame on the channel, hands other instances'
 * messages to the handlers, passes our own heartbeats to the watchdog, and tracks every other
 * instance's sequence numbers. A gap in them, or a frame whose envelope is readable but whose body
 * is not, means one invalidation was lost while the path works: a trust blip (untrusted, then
 * trusted again at once), whose flush on both edges repairs exactly that. Detected with the next
 * message or heartbeat of that instance (within one heartbeat interval).
 */
export class FrameReceiver {
  readonly #instanceId: string
  readonly #signals: BusSignals
  readonly #ownHeartbeat: (beat: number) => void
  /** How long an origin may stay silent before it is taken for gone. */
  readonly #forgetAfterMs: number
  /** After a subscription, how long senders first heard of set their baseline. */
  readonly #graceMs: number
  readonly #sequences = new SequenceTracker()

  constructor(
    instanceId: string,
    heartbeatMs: number,
    signals: BusSignals,
    ownHeartbeat: (beat: number) => void,
  ) {
    this.#instanceId = instanceId
    this.#signals = signals
    this.#ownHeartbeat = ownHeartbeat
    this.#forgetAfterMs = Math.max(300_000, 30 * heartbeatMs)
    // Every live sender beats within this (at our rate, unless configured otherwise, and its own
    // reconnection after a Redis restart takes a few of its retries). One first heard of later
    // is taken for one that lost messages: a flush, never a stale read.
    this.#graceMs = Math.max(3 * heartbeatMs, 3_000)
  }

  /**
   * The subscription is (back) up. Whatever was published while we were not subscribed is gone
   * (the rising trust edge covers it): new baselines for everyone.
   */
  subscriptionConfirmed(): void {
    this.#sequences.clear(Date.now() + this.#graceMs)
  }

  /** Forgets the origins not heard from for a long while (instances that went away). */
  forgetSilentOrigins(): void {
    this.#sequences.prune(Date.now() - this.#forgetAfterMs)
  }

  /** One raw payload from the channel. */
  receive(raw: string): void {
    const frame = decodeFrame(raw)
    const now = Date.now()
    const signals = this.#signals
    switch (frame.kind) {
      case 'garbage':
        signals.stats.malformed++
        return
      case 'unreadable':
        if (frame.origin === this.#instanceId) return
        signals.stats.malformed++
        this.#sequences.message(frame.origin, frame.epoch, frame.seq, now)
        signals.blip(`unreadable message ${frame.seq} from ${frame.origin}: ${frame.reason}`)
        return
      case 'heartbeat':
        if (frame.origin === this.#instanceId) {
          this.#ownHeartbeat(frame.beat)
        } else if (this.#sequences.heartbeat(frame.origin, frame.epoch, frame.seq, now) === 'gap') {
          signals.stats.sequenceGaps++
          signals.blip(
            `sequence gap: ${frame.origin} has sent message ${frame.seq}, which never arrived`,
          )
        }
        return
      case 'message': {
        if (frame.origin === this.#instanceId) return
        const order = this.#sequences.message(frame.origin, frame.epoch, frame.seq, now)
        if (order === 'gap') {
          signals.stats.sequenceGaps++
          signals.blip(
            `sequence gap: message ${frame.seq} from ${frame.origin} came after a lost one`,
          )
        } else if (order === 'late') {
          signals.stats.outOfOrder++
        }
        signals.deliver(frame.message, frame.origin)
        return
      }
    }
  }
}

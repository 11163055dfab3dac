import { performance } from 'node:perf_hooks'

/** Most heartbeats waited for at once: the map stays bounded whatever happens to the timers. */
const MAX_UNANSWERED = 1000

/** What the watchdog asks of, and tells, its bus. */
export interface HeartbeatHooks {
  /** Whether the subscription is confirmed: heartbeats sent before that cannot come back. */
  subscribed(): boolean
  /** Time to send a heartbeat (every `intervalMs` once started). */
  tick(): void
  /**
   * Heartbeat `beat` has been unanswered for `ageMs`: trust must go. `subscriberAtFault` when
   * Redis accepted the unanswered heartbeats (the subscriber does not hear them), rather than
   * publishing them failing.
   */
  missed(beat: number, ageMs: number, subscriberAtFault: boolean): void
  /** Called right after `missed` when the subscriber is at fault: it must reconnect. */
  deaf(): void
}

/**
 * The heartbeats of a `RedisBus` and their watchdog. The bus sends one of its own heartbeats
 * every `intervalMs` and hears it back through its subscription, which proves the whole path
 * (publisher, server, subscriber):
 * - trust comes (back) only once a heartbeat numbered from the proof point on returns (the proof
 *   point moves past every heartbeat sent so far on each subscription and each loss of trust);
 * - a heartbeat unanswered for `timeoutMs` is a missing heartbeat: a subscription that died
 *   silently (half-open TCP, a proxy dropping it), or a publisher that cannot publish. The clock
 *   then starts again from the next heartbeat: one verdict per timeout period.
 */
export class HeartbeatWatchdog {
  readonly #intervalMs: number
  readonly #timeoutMs: number
  readonly #hooks: HeartbeatHooks
  /** Last heartbeat number used. */
  #beat = 0
  /** Heartbeats sent since the subscription was confirmed and not yet back: number → sent at. */
  readonly #unanswered = new Map<number, number>()
  /** Whether Redis accepted a heartbeat that has not come back (the subscriber is at fault). */
  #acceptedUnanswered = false
  /** The first heartbeat whose return proves the path again (after a loss or a subscription). */
  #proofBeat = Number.POSITIVE_INFINITY
  /** The last round trip of a heartbeat, ms: from just before its PUBLISH to its return. */
  #lastRoundTripMs: number | undefined
  #heartbeatTimer: NodeJS.Timeout | undefined
  #watchdogTimer: NodeJS.Timeout | undefined
  #closed = false

  constructor(intervalMs: number, timeoutMs: number, hooks: HeartbeatHooks) {
    this.#intervalMs = intervalMs
    this.#timeoutMs = timeoutMs
    this.#hooks = hooks
  }

  /** Starts calling `tick` every interval. */
  start(): void {
    this.#heartbeatTimer = setInterval(() => this.#hooks.tick(), this.#intervalMs)
    this.#heartbeatTimer.unref()
  }

  /** Numbers the heartbeat about to be sent and, while subscribed, waits for it to come back. */
  next(): number {
    const beat = ++this.#beat
    const sentAt = performance.now()
    if (this.#hooks.subscribed() && this.#unanswered.size < MAX_UNANSWERED) {
      this.#unanswered.set(beat, sentAt)
      this.#arm()
    }
    return beat
  }

  /**
   * The round trip of the last heartbeat that came back while it was waited for, in ms: from
   * just before its PUBLISH to its arrival on the subscription, both read on this process's
   * clock. `undefined` until one came back.
   */
  get lastRoundTripMs(): number | undefined {
    return this.#lastRoundTripMs
  }

  /** Redis accepted heartbeat `beat`: if it never comes back, the subscriber is at fault. */
  accepted(beat: number): void {
    if (this.#unanswered.has(beat)) this.#acceptedUnanswered = true
  }

  /**
   * One of our own heartbeats came back (and every earlier one with it). Returns whether it
   * proves the path, i.e. trust may come back.
   */
  answered(beat: number): boolean {
    const sentAt = this.#unanswered.get(beat)
    if (sentAt !== undefined) this.#lastRoundTripMs = performance.now() - sentAt
    for (const n of this.#unanswered.keys()) {
      if (n > beat) break
      this.#unanswered.delete(n)
    }
    if (this.#unanswered.size === 0) this.#acceptedUnanswered = false
    return this.#hooks.subscribed() && beat >= this.#proofBeat
  }

  /**
   * The subscription is confirmed: only heartbeats sent from now on can come back, and the first
   * of them proves the path.
   */
  subscriptionConfirmed(): void {
    this.forget()
    this.requireNewProof()
  }

  /** Stops waiting for the heartbeats sent so far (they cannot come back, or were judged). */
  forget(): void {
    this.#unanswered.clear()
    this.#acceptedUnanswered = false
  }

  /** Trust was lost: it comes back only with a heartbeat sent after this point. */
  requireNewProof(): void {
    this.#proofBeat = this.#beat + 1
  }

  close(): void {
    this.#closed = true
    clearInterval(this.#heartbeatTimer)
    clearTimeout(this.#watchdogTimer)
  }

  /** Arms the watchdog for the oldest unanswered heartbeat, unless it is armed already. */
  #arm(): void {
    if (this.#watchdogTimer !== undefined || this.#closed) return
    const oldest = this.#unanswered.values().next()
    if (oldest.done) return
    const due = oldest.value + this.#timeoutMs - performance.now()
    this.#watchdogTimer = setTimeout(
      () => {
        // Let the I/O that arrived meanwhile be read first: after a long event-loop stall the
        // heartbeat may be sitting in the socket, and timers run before I/O callbacks.
        setImmediate(() => {
          this.#watchdogTimer = undefined
          this.#check()
        })
      },
      Math.max(0, due),
    )
    this.#watchdogTimer.unref()
  }

  #check(): void {
    if (this.#closed || !this.#hooks.subscribed()) return
    const oldest = this.#unanswered.entries().next()
    if (oldest.done) return
    const [beat, sentAt] = oldest.value
    const age = performance.now() - sentAt
    if (age < this.#timeoutMs) {
      this.#arm()
      return
    }
    const subscriberAtFault = this.#acceptedUnanswered
    this.#hooks.missed(beat, age, subscriberAtFault)
    // Start the clock again from the next heartbeat: one verdict per timeout period.
    this.forget()
    if (subscriberAtFault) this.#hooks.deaf()
  }
}

/**
 * Ticks per timeout. Items on the deadline list expire on a coarse clock (a tick counter advanced
 * by one interval timer) instead of reading the time on every call: reading `performance.now()`
 * costs more than the rest of a call's bookkeeping. An item then expires between `timeoutMs` and
 * `timeoutMs * (1 + 1 / TICKS)` after it started, never earlier.
 */
export const TICKS = 10

/** Something timed by a {@link DeadlineClock}: a node of its deadline list, or its own timer. */
export class Deadlined {
  prev: Deadlined | undefined = undefined
  next: Deadlined | undefined = undefined
  /** The tick at which the item expires (list items only). */
  deadline = 0
  /** Own timer of an item with another timeout than the clock's (not in the list). */
  timer: NodeJS.Timeout | undefined = undefined
}

/**
 * Expires items after a timeout, cheaply enough to sit on every L2 call.
 *
 * Items with the clock's common `timeoutMs` share one deadline list and one interval timer: every
 * such item has the same timeout, so arrival order is deadline order, and the ticker only ever
 * looks at the head. The ticker runs while items are in flight (and a little after), so steady
 * traffic keeps one interval running rather than creating a timer per call. The rare items with
 * another timeout (SCANs, close) get a timer of their own, so the list stays in deadline order.
 *
 * Neither timer keeps the process alive: a driver that hangs holds a socket or a request, which
 * does; the clock alone must not.
 *
 * @example
 * ```ts
 * const clock = new DeadlineClock<Pending>(100, (item) => item.expire())
 * clock.start(item) // expires 100-110 ms from now unless...
 * clock.stop(item) // ...it is stopped first
 * ```
 */
export class DeadlineClock<T extends Deadlined> {
  readonly timeoutMs: number
  readonly #tickMs: number
  readonly #onExpire: (item: T) => void
  #head: Deadlined | undefined = undefined
  #tail: Deadlined | undefined = undefined
  #tick = 0
  #idleTicks = 0
  #ticker: NodeJS.Timeout | undefined = undefined

  /** `onExpire` is called once per expired item; it must {@link stop} the item. */
  constructor(timeoutMs: number, onExpire: (item: T) => void) {
    this.timeoutMs = timeoutMs
    this.#tickMs = Math.max(1, timeoutMs / TICKS)
    this.#onExpire = onExpire
  }

  /** Starts timing `item`: it expires `timeoutMs` from now (the clock's own by default). */
  start(item: T, timeoutMs = this.timeoutMs): void {
    item.deadline = this.#tick + TICKS + 1
    if (timeoutMs === this.timeoutMs) {
      this.#link(item)
    } else {
      item.timer = setTimeout(this.#onOwnTimer, timeoutMs, item)
      item.timer.unref()
    }
  }

  /** Stops timing `item` (it settled, or it expired and was handled). Call it once per item. */
  stop(item: T): void {
    if (item.timer === undefined) this.#unlink(item)
    else clearTimeout(item.timer)
  }

  readonly #onOwnTimer = (item: T): void => {
    this.#onExpire(item)
  }

  #link(item: Deadlined): void {
    const tail = this.#tail
    if (tail === undefined) {
      this.#head = item
      this.#tail = item
      if (this.#ticker === undefined) {
        this.#idleTicks = 0
        this.#ticker = setInterval(this.#onTick, this.#tickMs)
        this.#ticker.unref()
      }
    } else {
      item.prev = tail
      tail.next = item
      this.#tail = item
    }
  }

  #unlink(item: Deadlined): void {
    const { prev, next } = item
    if (prev === undefined) this.#head = next
    else prev.next = next
    if (next === undefined) this.#tail = prev
    else next.prev = prev
    item.prev = undefined
    item.next = undefined
  }

  readonly #onTick = (): void => {
    const tick = ++this.#tick
    let item = this.#head
    while (item !== undefined && item.deadline <= tick) {
      const next = item.next
      this.#onExpire(item as T)
      item = next
    }
    if (this.#head !== undefined) {
      this.#idleTicks = 0
    } else if (++this.#idleTicks > TICKS) {
      // Idle for a whole timeout: stop ticking until the next item.
      clearInterval(this.#ticker)
      this.#ticker = undefined
    }
  }
}

/**
 * Repeats `attempt` until it resolves `true`, pausing `pauseMs` between tries, for at most `ms`
 * (an attempt still running then is not waited for); resolves whether one succeeded.
 */
export async function retryFor(
  ms: number,
  pauseMs: number,
  attempt: () => Promise<boolean>,
): Promise<boolean> {
  const deadline = performance.now() + ms
  for (;;) {
    let timer: NodeJS.Timeout | undefined
    const ok = await Promise.race([
      attempt(),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), Math.max(0, deadline - performance.now()))
      }),
    ])
    clearTimeout(timer)
    if (ok) return true
    if (performance.now() + pauseMs >= deadline) return false
    await new Promise((resolve) => setTimeout(resolve, pauseMs))
  }
}

/**
 * The clock of freshness: when entries stop being fresh, and whether they still are.
 *
 * **One clock for every instance.** An entry says until when it is fresh, and other instances
 * read that. Measured on each host's own clock, a host running ahead would stretch every TTL it
 * writes for the others, and one running behind would shrink them (to nothing, past the TTL). So
 * freshness is measured on the servers' clock instead: this host's offset from Redis's `TIME`,
 * learned from round trips that return it (a fill's fence point), is added to `Date.now()`. Redis
 * read its time between send and reply, so a sample is off by at most half its round trip; the
 * one with the smallest round trip of the last minute is kept. Until a sample arrives (memory
 * only, or before the first fill), the offset is 0: the host's own clock.
 *
 * **Cheap on the read path.** `Date.now()` costs 70-90 ns on some virtual machines, as much as
 * the rest of an L1 hit: {@link coarseNow} reads it at most once per millisecond and serves the
 * cached value in between, the way lru-cache's `ttlResolution` does. The reset is an unref'd
 * timer, so a cached value lives until the event loop next runs timers: an entry may be served up
 * to that long past its expiry (1 ms when the loop is not blocked).
 */
let cached = 0
/** Servers' clock minus this host's, in ms. */
let offsetMs = 0
/** Half the round trip of the sample `offsetMs` comes from, and when it was taken. */
let sampleBoundMs = Number.POSITIVE_INFINITY
let sampleAt = 0
/** A sample older than this gives way to any new one (clocks drift; NTP steps them). */
const SAMPLE_LIFE_MS = 60_000

function forget(): void {
  cached = 0
}

/** Epoch milliseconds on the servers' clock, at most about 1 ms old. */
export function coarseNow(): number {
  if (cached !== 0) return cached
  cached = Date.now() + offsetMs
  setTimeout(forget, 1).unref()
  return cached
}

/** Epoch milliseconds on the servers' clock. */
export function cacheNow(): number {
  return Date.now() + offsetMs
}

/**
 * A round trip sent at `sentAt` and answered at `receivedAt` (this host's `Date.now()`) whose
 * server read its clock as `serverMs` in between.
 */
function observeServerClock(serverMs: number, sentAt: number, receivedAt: number): void {
  const bound = (receivedAt - sentAt) / 2
  if (!Number.isFinite(serverMs) || !(bound >= 0)) return
  if (bound > sampleBoundMs && receivedAt - sampleAt < SAMPLE_LIFE_MS) return
  offsetMs = serverMs - (sentAt + receivedAt) / 2
  sampleBoundMs = bound
  sampleAt = receivedAt
  cached = 0
}

/**
 * Makes a round trip whose reply carries the server's clock (`serverMsOf` reads it, epoch ms,
 * `undefined` when it does not) and samples this host's offset from it on the way.
 */
export async function sampleRoundTrip<T>(
  request: () => Promise<T>,
  serverMsOf: (reply: T) => number | undefined,
): Promise<T> {
  const sentAt = Date.now()
  const reply = await request()
  const serverMs = serverMsOf(reply)
  if (serverMs !== undefined) observeServerClock(serverMs, sentAt, Date.now())
  return reply
}

import type { BusNotice } from '../drivers/bus.js'
import type { L2WriteItem } from '../drivers/l2-driver.js'
import type { ResilientCoordination } from '../drivers/resilient-l2.js'

/** What the store needs of the second tier: {@link ResilientL2}'s never-rejecting surface. */
export interface L2Tier {
  readonly available: boolean
  get(key: string): Promise<Buffer | undefined>
  getMany(keys: readonly string[]): Promise<(Buffer | undefined)[]>
  set(key: string, value: Buffer, ttlMs: number, tags: readonly string[]): Promise<boolean>
  setMany(items: readonly L2WriteItem[]): Promise<boolean>
  delete(keys: readonly string[]): Promise<unknown>
  deleteByTags(tags: readonly string[], notice?: BusNotice): Promise<number>
  /** Whether `deleteByTags` publishes the bus notice it is given (in the same round trip). */
  readonly publishesNotices?: boolean
  /** Whether later calls see earlier ones without waiting for their replies (see `L2Driver`). */
  readonly ordered?: boolean
  deleteByPattern(pattern: string | RegExp): Promise<number>
  /** Batches of L2's keys matching a glob; `undefined` when L2 cannot list now (L1 is listed). */
  scanKeys?(pattern: string): AsyncGenerator<string[], void, undefined> | undefined
  clear(): Promise<unknown>
  /** `undefined` when L2 could not be reached: the caller falls back to memory. */
  increment(key: string, by: number, ttlMs: number): Promise<number | undefined>
  addToSet(key: string, members: readonly string[], ttlMs: number): Promise<number | undefined>
  getSet(key: string): Promise<string[] | undefined>
  close(): Promise<void>
  /** Cross-instance fences, leases and stamps, when L2 offers them. */
  readonly coordination?: ResilientCoordination | undefined
}

/** A value read from L2, fresh or stale. */
export interface L2Read {
  /** Private to this read unless `shared`. */
  value: unknown
  freshUntil: number
  native: boolean
  /** L1 now holds this very object: clone it before handing it out. */
  shared: boolean
  loadMs: number
}

/** Marks a miss in a batch read's results (`undefined` is a cacheable value). */
export const MISS: unique symbol = Symbol('miss')

/** How long to keep an entry and where. All in ms; `staleMs` extends physical life past freshness. */
export interface StorePlan {
  ttlMs: number
  staleMs: number
  localTtlMs: number | undefined
  tags: readonly string[]
}

export interface TieredStoreOptions {
  /** Strict mode (`consistency: 'strict'`): L1 copies are checked against Redis before use. */
  strict: boolean
  compressionThreshold: number
  /** Largest encoded value stored, and read back (`maxValueBytes`). */
  maxValueBytes: number
  shareReferences: boolean
  /** Cache-wide cap on L1 lifetime (`local.ttl`), applied to values promoted from L2 too. */
  localTtlMs: number | undefined
  /** Reports absorbed errors (corrupted values) to the owner, who counts and emits them. */
  onError(error: Error, operation: string, key?: string): void
}

export interface Prepared {
  copy: unknown
  /** The encoded entry, for L2; `undefined` in a cache without L2, which encodes nothing. */
  bytes: Buffer | undefined
  /** The entry's write stamp (hex). */
  stamp: string
  loadMs: number
  /** Uncompressed encoded size: what L1 bounds and `averageSize` count. */
  size: number
  freshUntil: number
  plan: StorePlan
}

/**
 * Native sets (kept in memory, or read from Redis) are only for `getSet`: `get` does not hand them
 * out (as Redis would refuse). Applies to L1 entries and L2 reads alike.
 */
export function isHiddenNative(entry: { native: boolean; value: unknown }): boolean {
  return entry.native && typeof entry.value !== 'number'
}

/**
 * Whether `entry` may be served as a fresh value at `now` (epoch ms on the servers' clock): not
 * past its freshness, and not a native set, which `get` does not return. The one freshness test
 * of every read path (L1 and L2, single and batch).
 */
export function isFresh(
  entry: { freshUntil: number; native: boolean; value: unknown },
  now: number,
): boolean {
  return entry.freshUntil > now && !isHiddenNative(entry)
}

export function nativeSize(value: number | Set<string>): number {
  if (typeof value === 'number') return 8
  let size = 0
  for (const member of value) size += member.length * 2 + 16
  return size
}

export function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b
  if (b === undefined) return a
  return Math.min(a, b)
}

// ------------------------------------------------------------------------------------------

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

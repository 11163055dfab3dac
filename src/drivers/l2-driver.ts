/**
 * The contract between the cache engine and a shared second tier (Redis, Upstash, memory).
 *
 * A driver moves bytes; it knows nothing of codecs, L1, metrics or degradation. Keys given to a
 * driver are the caller's keys: the driver applies its own prefix, so that every key it touches,
 * including its tag index, lives under that prefix and `clear()` never reaches past it.
 *
 * Every method may reject (connection refused, timeout...). The engine wraps drivers in
 * {@link ResilientL2}, which bounds each call in time, trips a circuit breaker and turns failures
 * into misses, so a driver itself stays simple and throws freely.
 */
import type { BusNotice } from './bus.js'

/**
 * Keys a driver keeps for itself (the tag index, versions) start with this, after its prefix:
 * callers' keys may not.
 */
export const RESERVED_KEY_PREFIX = '__sc:'

/**
 * Where an encoded entry carries its write stamp (see `cache/entry-format.ts`): a driver reads
 * these bytes alone (`GETRANGE`) for strict mode's check.
 */
export const ENTRY_STAMP_OFFSET = 2
export const ENTRY_STAMP_BYTES = 8

/**
 * A shared second tier: what a driver implements for `CacheOptions.l2`. It moves bytes only;
 * the cache bounds every call in time and turns failures into misses, so a driver may throw freely.
 */
export interface L2Driver {
  /** A short name for logs and metrics, e.g. `redis`. */
  readonly name: string

  /** The stored bytes, or `undefined` when absent (or expired). */
  get(key: string): Promise<Buffer | undefined>
  /** Aligned with `keys`; one round trip. */
  getMany(keys: readonly string[]): Promise<(Buffer | undefined)[]>
  /** Stores `value` with a TTL (always > 0) and records it under each tag for tag deletion. */
  set(key: string, value: Buffer, ttlMs: number, tags: readonly string[]): Promise<void>
  /** Stores many entries in one round trip. */
  setMany(items: readonly L2WriteItem[]): Promise<void>
  /** Deletes keys; resolves to how many existed. */
  delete(keys: readonly string[]): Promise<number>
  /** Deletes every entry recorded under any of `tags`; resolves to how many were removed. */
  deleteByTags(tags: readonly string[]): Promise<number>
  /**
   * Whether the driver applies calls in the order they were made (one connection to one server):
   * a read made after an invalidation was sent sees it, without waiting for its reply.
   */
  readonly ordered?: boolean
  /**
   * Deletes entries whose key (without prefix) matches: a glob (Redis `MATCH` syntax) or a
   * RegExp tested on each key found by an incremental SCAN. Never uses `KEYS`.
   */
  deleteByPattern(pattern: string | RegExp): Promise<number>
  /**
   * The keys (without prefix) of the entries whose key matches a glob (Redis `MATCH` syntax), one
   * batch per step of an incremental SCAN, sent only when the consumer asks for the batch (empty
   * when the step found none, so each `next()` is one bounded step); never the driver's own keys,
   * never `KEYS`. A key may come twice. Optional: without it, `CacheManager.scanKeys` lists the
   * keys in this process's memory (L1) alone.
   */
  scanKeys?(pattern: string): AsyncIterable<string[]>
  /** Atomic integer add on a native counter; sets the TTL when the counter is created. */
  increment(key: string, by: number, ttlMs: number): Promise<number>
  /** Adds members to a native set; sets the TTL when the set is created; resolves to members added. */
  addToSet(key: string, members: readonly string[], ttlMs: number): Promise<number>
  /** Members of a native set, `[]` when absent. */
  getSet(key: string): Promise<string[]>
  /** Removes every key under this driver's prefix, and nothing else. */
  clear(): Promise<void>
  /** A cheap round trip used by the circuit breaker's half-open probe. */
  ping(): Promise<void>
  /** Releases connections the driver opened itself; leaves a client the user passed in open. */
  close(): Promise<void>
  /**
   * Calls `onChange` whenever the server may have lost keys it acknowledged: `'recent'` when
   * redoing this instance's recent writes repairs it (a Cluster master replaced by a failover or a
   * restart), `'any'` when everything must go (a standalone server replaced: any instance's last
   * writes may be missing; evictions: any tag set or version key may be gone). Returns the
   * unwatch.
   */
  watchServer?(onChange: (reason: string, lost: 'recent' | 'any') => void): () => void
  /**
   * Whether `watchServer` may report `'recent'` (a Cluster): the cache then keeps what it
   * changed in L2 over the last seconds, to redo. Unset for a driver that only ever reports
   * `'any'`, whose writes then record nothing; a `'recent'` it reports anyway is repaired as
   * `'any'`.
   */
  readonly needsRecentChanges?: boolean

  /**
   * Cross-instance fencing, leases and write stamps, when the driver can offer them (Redis,
   * standalone or Cluster, and Upstash do; a driver without them leaves each instance fencing
   * only itself).
   */
  readonly coordination?: L2Coordination
}

/**
 * Whether {@link L2Coordination.beginFill} tries to take the key's lease: `'never'`,
 * `'if-absent'` (only when Redis holds no value: a read that doubles as the start of a fill), or
 * `'always'` (a value may be there but stale, or due for refresh).
 */
export type LeaseMode = 'never' | 'if-absent' | 'always'

/**
 * What {@link L2Coordination.storeFill} did: refused the value (an invalidation came after the
 * fill began), stored it, or stored it while fills of other instances waited for it (whose
 * instances the caller then tells, through the bus).
 */
export type StoreOutcome = 'fenced' | 'stored' | 'awaited'

/** What a fill learns before its loader runs: see {@link L2Coordination.beginFill}. */
export interface FillStart {
  /** This instance now holds the lease: it runs the loader; others wait for its value. */
  lease: boolean
  /** A value some instance stored meanwhile (then no lease is taken). */
  value: Buffer | undefined
  /**
   * The fill's fence point, opaque: its store is refused if its key, any of its tags or the
   * whole cache was invalidated at or after it.
   */
  since: string
}

/**
 * What a driver adds to make fills safe across instances: fenced stores (a value loaded before an
 * invalidation is refused) and per-key leases (one instance loads, the others wait for its value).
 */
export interface L2Coordination {
  /**
   * In one round trip: the current value, the fence point of a fill, and (per `lease`) an
   * attempt to take the key's lease for `leaseMs`.
   */
  beginFill(key: string, leaseMs: number, token: string, lease: LeaseMode): Promise<FillStart>
  /**
   * Stores a fill with `tags` unless the key, one of the tags or the whole cache was invalidated
   * since the fill's fence point `since`; releases the lease held with `token`.
   */
  storeFill(
    key: string,
    value: Buffer,
    ttlMs: number,
    tags: readonly string[],
    since: string,
    token: string,
  ): Promise<StoreOutcome>
  /** Gives up a lease (the loader failed), if still held with `token`. */
  releaseLease(key: string, token: string): Promise<void>
  /** The write stamp of the entry at `key` (8 bytes at a fixed offset, hex), `undefined` if none. */
  getStamp(key: string): Promise<string | undefined>
  /**
   * The server's clock, epoch ms (Redis `TIME`): the one clock freshness is measured on. Without
   * it, each instance measures freshness on its host's clock.
   */
  serverTime?(): Promise<number>
}

/** One entry of {@link L2Driver.setMany}. */
export interface L2WriteItem {
  /** The key to write. */
  key: string
  /** The encoded entry. */
  value: Buffer
  /** How long Redis keeps it, ms. */
  ttlMs: number
  /** The tags it carries. */
  tags: readonly string[]
}

/**
 * What `RedisDriver` adds to the driver contract: its `deleteByTags` publishes the bus notice it
 * is given in the command that applies the invalidation (on a standalone server, its script
 * publishes it once the entries are gone: one round trip, and the notice only if applied). Not
 * part of `L2Driver`, which knows nothing of the bus: the cache asks a driver for a notice only
 * when it says so (`ResilientL2.publishesNotices`, read by `BusLink.noticeFor`).
 */
export interface NoticePublishingDriver {
  readonly publishesNotices: true
  deleteByTags(tags: readonly string[], notice?: BusNotice): Promise<number>
}

/** Whether `driver` publishes the notices it is given with its tag invalidations. */
export function publishesNotices(driver: L2Driver): driver is L2Driver & NoticePublishingDriver {
  return (driver as Partial<NoticePublishingDriver>).publishesNotices === true
}

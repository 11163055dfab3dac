import type { BusNotice } from '../drivers/bus.js'
import type { L2WriteItem } from '../drivers/l2-driver.js'
import type { ResilientCoordination } from '../drivers/resilient-coordination.js'

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

/** Marks a miss in {@link TieredStore.readManyFresh} results (`undefined` is a cacheable value). */
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
  bytes: Buffer
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

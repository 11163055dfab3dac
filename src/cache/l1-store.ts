import { LRUCache } from 'lru-cache'

/** One value held in process memory. */
export interface L1Entry {
  /** The cache's private copy; callers get clones of it unless references are shared. */
  readonly value: unknown
  /** Encoded size in bytes, what `maxBytes` and `averageSize` count. */
  readonly size: number
  /** Epoch ms after which the entry is stale (only `getOrCompute` may still serve it). */
  readonly freshUntil: number
  readonly tags: readonly string[]
  /** A counter or set kept in memory because no L2 holds it; never handed out by `get` as a clone. */
  readonly native: boolean
  /** Write stamp of the L2 entry this copy came from or went to (strict mode checks it). */
  readonly stamp: string
  /** How long the loader took, in ms (XFetch's delta); 0 when unknown. */
  readonly loadMs: number
  /**
   * How hits copy the value: `undefined` before its first hit, which clones generically;
   * from the second, a function specialised to its shape (see shape-clone.ts) or the generic
   * one. Finding the shape costs a few µs, wasted on entries invalidated before a second hit.
   */
  clone: ((value: unknown) => unknown) | undefined
}

export interface L1StoreOptions {
  maxEntries: number
  maxBytes: number
}

/** The in-process tier's size and activity; see {@link CacheManager.getLocalCacheStats}. */
export interface L1Stats {
  /** Entries held. */
  entries: number
  /** Bytes held, as counted against `maxBytes`. */
  totalSize: number
  /** The entry limit (`l1.maxEntries`). */
  maxEntries: number
  /** The byte limit (`l1.maxBytes`). */
  maxBytes: number
  /** Entries pushed out to make room (not expiries or deletions). */
  evictions: number
  /** Tags that currently label at least one entry. */
  tags: number
}

/** Fixed per-entry bookkeeping cost, so that many tiny entries still count against `maxBytes`. */
const ENTRY_OVERHEAD_BYTES = 64

/**
 * The in-process tier: an LRU bounded by entry count and bytes, with a TTL per entry and an index
 * from tag to keys, so `invalidateByTag` touches only the entries that carry the tag.
 *
 * Freshness (`freshUntil`) is separate from physical expiry (the LRU TTL): an entry kept for
 * stale-while-revalidate or stale-if-error outlives its freshness.
 */
export class L1Store {
  readonly #lru: LRUCache<string, L1Entry>
  readonly #byTag = new Map<string, Set<string>>()
  readonly #options: L1StoreOptions
  #evictions = 0

  constructor(options: L1StoreOptions) {
    this.#options = options
    this.#lru = new LRUCache<string, L1Entry>({
      max: options.maxEntries,
      maxSize: options.maxBytes,
      sizeCalculation: (entry, key) => entry.size + key.length * 2 + ENTRY_OVERHEAD_BYTES,
      // Entries bigger than the whole cache are refused instead of flushing everything else.
      maxEntrySize: options.maxBytes,
      ttlAutopurge: false,
      allowStale: false,
      updateAgeOnGet: false,
      dispose: (entry, key, reason) => {
        if (reason === 'evict') this.#evictions++
        // 'set' replaces an entry: the new entry's tags are indexed by `set` itself.
        if (entry.tags.length > 0) this.#unindex(key, entry.tags)
      },
    })
  }

  /** The entry, fresh or stale, or `undefined` when absent or physically expired. */
  get(key: string): L1Entry | undefined {
    return this.#lru.get(key)
  }

  /** Like {@link get} but does not count as a use for LRU order. */
  peek(key: string): L1Entry | undefined {
    return this.#lru.peek(key)
  }

  /** Stores `entry` for `ttlMs` (physical lifetime, >= freshness). */
  set(key: string, entry: L1Entry, ttlMs: number): void {
    this.#lru.set(key, entry, { ttl: Math.max(1, Math.ceil(ttlMs)) })
    // lru-cache refuses entries over maxEntrySize silently; index only what it kept.
    if (entry.tags.length > 0 && this.#lru.peek(key) === entry) this.#index(key, entry.tags)
  }

  delete(key: string): boolean {
    return this.#lru.delete(key)
  }

  /** Removes every entry carrying any of `tags`; returns how many were removed. */
  deleteByTags(tags: readonly string[]): number {
    let removed = 0
    for (const tag of tags) {
      const keys = this.#byTag.get(tag)
      if (keys === undefined) continue
      for (const key of [...keys]) if (this.#lru.delete(key)) removed++
      this.#byTag.delete(tag)
    }
    return removed
  }

  /** Removes every entry whose key satisfies `matches`; returns how many were removed. */
  deleteWhere(matches: (key: string) => boolean): number {
    const doomed: string[] = []
    for (const key of this.#lru.keys()) if (matches(key)) doomed.push(key)
    for (const key of doomed) this.#lru.delete(key)
    return doomed.length
  }

  clear(): void {
    this.#lru.clear()
    this.#byTag.clear()
  }

  keys(): IterableIterator<string> {
    return this.#lru.keys()
  }

  stats(): L1Stats {
    return {
      entries: this.#lru.size,
      totalSize: this.#lru.calculatedSize,
      maxEntries: this.#options.maxEntries,
      maxBytes: this.#options.maxBytes,
      evictions: this.#evictions,
      tags: this.#byTag.size,
    }
  }

  #index(key: string, tags: readonly string[]): void {
    for (const tag of tags) {
      const keys = this.#byTag.get(tag)
      if (keys === undefined) this.#byTag.set(tag, new Set([key]))
      else keys.add(key)
    }
  }

  #unindex(key: string, tags: readonly string[]): void {
    for (const tag of tags) {
      const keys = this.#byTag.get(tag)
      if (keys === undefined) continue
      keys.delete(key)
      if (keys.size === 0) this.#byTag.delete(tag)
    }
  }
}

/** `CacheManager.getLocalCacheStats()`: the L1's stats, all zero when there is no L1. */
export function localCacheStats(l1: L1Store | undefined): L1Stats & { enabled: boolean } {
  if (l1 === undefined)
    return {
      enabled: false,
      entries: 0,
      totalSize: 0,
      maxEntries: 0,
      maxBytes: 0,
      evictions: 0,
      tags: 0,
    }
  return { enabled: true, ...l1.stats() }
}

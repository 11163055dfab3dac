import { CorruptedValueError } from '../errors.js'
import {
  cloneValue,
  copyValue,
  type DecodedEntry,
  decodeEntry,
  encodeEntry,
  measureEntry,
  readStamp,
  uncompressedSize,
} from './codec.js'
import { FillFence } from './fill-fence.js'
import type { L1Entry, L1Store } from './l1-store.js'
import type { CacheMetrics } from './metrics.js'
import { clonerFor } from './shape-clone.js'
import {
  cacheNow,
  type L2Read,
  type L2Tier,
  minDefined,
  nativeSize,
  type Prepared,
  type StorePlan,
  type TieredStoreOptions,
} from './store-types.js'

/**
 * Reads and writes across L1 and L2. Knows freshness, promotion, fencing and encoding; knows
 * nothing of validation, events or loaders (the facade and {@link GetOrCompute} do).
 */
export class TieredStore {
  readonly fence: FillFence
  l1: L1Store | undefined
  l2: L2Tier | undefined
  readonly #metrics: CacheMetrics
  readonly #options: TieredStoreOptions
  /**
   * While the invalidation bus is not trusted (guarantee 4), L1 may miss other instances'
   * invalidations: entries it takes then live at most this long. `undefined` when trusted.
   */
  #distrustTtlMs: number | undefined = undefined

  constructor(
    l1: L1Store | undefined,
    l2: L2Tier | undefined,
    metrics: CacheMetrics,
    options: TieredStoreOptions,
    fence = new FillFence(),
  ) {
    this.l1 = l1
    this.l2 = l2
    this.#metrics = metrics
    this.#options = options
    this.fence = fence
  }

  /** A value safe to hand to a caller: a clone of the private copy unless references are shared. */
  out(value: unknown): unknown {
    return this.#options.shareReferences ? value : cloneValue(value)
  }

  /** {@link out} for an L1 entry: from its second hit on, with its shape-specialised clone. */
  outL1(entry: L1Entry): unknown {
    if (this.#options.shareReferences) return entry.value
    const clone = entry.clone
    if (clone !== undefined) return clone(entry.value)
    entry.clone = clonerFor(entry.value) ?? cloneValue
    return cloneValue(entry.value)
  }

  /** The L1 entry for `key`, fresh or stale, or `undefined`. */
  peekL1(key: string): L1Entry | undefined {
    return this.l1?.get(key)
  }

  /**
   * Reads L2 and promotes a fresh value into L1, unless an invalidation ran while the read was
   * in flight (the promotion would resurrect what it removed).
   */
  async readL2(key: string): Promise<L2Read | undefined> {
    const l2 = this.l2
    if (l2 === undefined) return undefined
    const ticket = this.fence.acquire()
    try {
      return this.readBytes(key, await l2.get(key), ticket)
    } finally {
      this.fence.release(ticket)
    }
  }

  /**
   * What L2 returned for `key` (`undefined`: absent), decoded, and promoted into L1 when fresh and
   * no invalidation ran since `ticket` was taken (the promotion would resurrect what it removed).
   */
  readBytes(key: string, bytes: Buffer | undefined, ticket: number): L2Read | undefined {
    const entry = bytes === undefined ? undefined : this.#decode(bytes, key)
    if (entry === undefined) {
      this.#metrics.l2Misses++
      return undefined
    }
    const shared =
      !entry.native &&
      entry.freshUntil > cacheNow() &&
      this.fence.canStore(ticket, key, entry.tags) &&
      this.#promote(key, entry)
    return {
      value: entry.value,
      freshUntil: entry.freshUntil,
      native: entry.native,
      shared,
      loadMs: entry.loadMs,
    }
  }

  /**
   * Copies (and so validates) `value`, then writes it to both tiers. Returns the private copy
   * and its encoded size. Throws `SerializationError` before touching any tier.
   */
  prepare(value: unknown, plan: StorePlan, loadMs = 0): Prepared {
    const copy = copyValue(value)
    const freshUntil = cacheNow() + plan.ttlMs
    const entry = { value: copy, freshUntil, tags: plan.tags, loadMs }
    if (this.l2 === undefined) {
      // No bytes to write: checked and measured as encoded, without encoding (nor msgpackr).
      const { size, stamp } = measureEntry(entry, this.#options.maxValueBytes)
      return { copy, bytes: undefined, size, freshUntil, plan, stamp, loadMs }
    }
    // Compression only pays where the bytes go: to L2. (L1 counts the uncompressed size.)
    const bytes = encodeEntry(
      entry,
      this.#options.compressionThreshold,
      this.#options.maxValueBytes,
    )
    const size = uncompressedSize(bytes)
    return { copy, bytes, size, freshUntil, plan, stamp: readStamp(bytes), loadMs }
  }

  /** Puts a prepared value in L1 only: its L2 copy is stored by a fenced fill. */
  writeLocal(key: string, prepared: Prepared): void {
    this.#writeL1(key, prepared)
    this.#metrics.recordWrite(prepared.size)
  }

  /**
   * A value another instance stored (bytes from L2): decoded and promoted like a read. Returns the
   * private copy when fresh, `undefined` otherwise.
   */
  acceptStored(
    key: string,
    bytes: Buffer,
    ticket: number,
  ): { value: unknown; stamp: string; tags: readonly string[] } | undefined {
    const entry = this.#decode(bytes, key)
    if (entry === undefined || entry.native || entry.freshUntil <= cacheNow()) return undefined
    if (this.fence.canStore(ticket, key, entry.tags)) this.#promote(key, entry)
    return { value: entry.value, stamp: entry.stamp, tags: entry.tags }
  }

  /** Strict mode: whether the entry Redis holds now has this stamp (one small round trip). */
  async holdsStamp(key: string, stamp: string): Promise<boolean> {
    // Memory only: L1 is the only copy, nothing can replace it behind our back.
    if (this.l2 === undefined) return true
    const coordination = this.l2.coordination
    // No stamps to compare (a driver without coordination): every strict read goes to Redis.
    if (coordination === undefined) return false
    // Native values have no stamp (''), and getStamp never returns ''.
    return (await coordination.getStamp(key)) === stamp
  }

  /** Strict mode: whether L1's copy is still the entry Redis holds (one small round trip). */
  async stillCurrent(key: string, entry: L1Entry): Promise<boolean> {
    if (await this.holdsStamp(key, entry.stamp)) return true
    this.l1?.delete(key)
    return false
  }

  /** Drops L1 and caps its lifetimes while invalidations from other instances may be missed. */
  distrust(ttlMs: number, flush: boolean): void {
    this.#distrustTtlMs = ttlMs
    if (flush) this.dropL1()
  }

  /**
   * Trust is back: what L1 took meanwhile may predate missed invalidations, so drop it too (not
   * after the very first subscription: nothing was missed then that the short lifetimes of
   * entries taken before it, and L2's own fences, do not already cover).
   */
  trust(flush: boolean): void {
    this.#distrustTtlMs = undefined
    if (flush) this.dropL1()
  }

  /** Drops L1 whole, and fences its fills in flight: they may have read what is now invalid. */
  dropL1(): void {
    this.fence.touchAll()
    this.l1?.clear()
  }

  /** Writes a prepared value; the caller has already fenced or decided it may store. */
  async write(key: string, prepared: Prepared): Promise<void> {
    this.#writeL1(key, prepared)
    this.#metrics.recordWrite(prepared.size)
    const l2 = this.l2
    if (l2 === undefined) return
    const { plan } = prepared
    // A write that fails is remembered by ResilientL2 as a delete, replayed on recovery.
    await l2.set(key, prepared.bytes!, plan.ttlMs + plan.staleMs, plan.tags)
  }

  /** Writes many prepared values with one L2 round trip. */
  async writeMany(items: readonly { key: string; prepared: Prepared }[]): Promise<void> {
    for (const { key, prepared } of items) {
      this.#writeL1(key, prepared)
      this.#metrics.recordWrite(prepared.size)
    }
    const l2 = this.l2
    if (l2 === undefined || items.length === 0) return
    await l2.setMany(
      items.map(({ key, prepared: p }) => ({
        key,
        value: p.bytes!,
        ttlMs: p.plan.ttlMs + p.plan.staleMs,
        tags: p.plan.tags,
      })),
    )
  }

  /** Keeps a native value (counter, set) in L1 because no L2 can hold it. */
  writeNative(key: string, value: number | Set<string>, ttlMs: number): void {
    this.fence.touchKey(key)
    this.l1?.set(
      key,
      {
        value,
        size: nativeSize(value),
        freshUntil: cacheNow() + ttlMs,
        tags: [],
        native: true,
        stamp: '',
        loadMs: 0,
        clone: undefined,
      },
      ttlMs,
    )
  }

  #writeL1(key: string, prepared: Prepared): void {
    const l1 = this.l1
    if (l1 === undefined) return
    const { plan } = prepared
    const now = cacheNow()
    const cap = minDefined(plan.localTtlMs, this.#distrustTtlMs)
    const lifeMs = plan.ttlMs + plan.staleMs
    const ttlMs = cap === undefined ? lifeMs : Math.min(cap, lifeMs)
    const freshUntil =
      cap === undefined ? prepared.freshUntil : Math.min(prepared.freshUntil, now + cap)
    l1.set(
      key,
      {
        value: prepared.copy,
        size: prepared.size,
        freshUntil,
        tags: plan.tags,
        native: false,
        stamp: prepared.stamp,
        loadMs: prepared.loadMs,
        clone: undefined,
      },
      ttlMs,
    )
  }

  /** Copies a fresh L2 entry into L1; false when there is no L1 or nothing fresh to keep. */
  #promote(key: string, entry: DecodedEntry): boolean {
    const l1 = this.l1
    if (l1 === undefined) return false
    const now = cacheNow()
    const cap = minDefined(this.#options.localTtlMs, this.#distrustTtlMs)
    const freshUntil = cap === undefined ? entry.freshUntil : Math.min(entry.freshUntil, now + cap)
    if (freshUntil <= now) return false
    l1.set(
      key,
      {
        value: entry.value,
        size: entry.size,
        freshUntil,
        tags: entry.tags,
        native: false,
        stamp: entry.stamp,
        loadMs: entry.loadMs,
        clone: undefined,
      },
      freshUntil - now,
    )
    return true
  }

  #decode(bytes: Buffer, key: string): DecodedEntry | undefined {
    try {
      const entry = decodeEntry(bytes, key, this.#options.maxValueBytes)
      entry.size = uncompressedSize(bytes)
      return entry
    } catch (error) {
      const corrupted =
        error instanceof CorruptedValueError
          ? error
          : new CorruptedValueError(key, String(error), error)
      this.#metrics.corruptedValues++
      this.#options.onError(corrupted, 'decode', key)
      return undefined
    }
  }
}

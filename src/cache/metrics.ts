/** A point-in-time copy of the cache's counters; see {@link CacheManager.getMetrics}. */
export interface CacheMetricsSnapshot {
  /** Reads answered from any tier (fresh, or stale when `getOrCompute` chose to serve stale). */
  hits: number
  /** Reads no tier could answer. */
  misses: number
  /** `hits / (hits + misses)` in percent, 0-100; 0 before the first read. */
  hitRate: number
  /** Values written (`set`, `setBatch` items and fills). */
  sets: number
  /** Keys deleted. */
  deletes: number
  /** Average encoded size in bytes of the values written with `set`/`setBatch`/fills. */
  averageSize: number
  /** Reads L1 answered. */
  l1Hits: number
  /** Reads L1 could not answer. */
  l1Misses: number
  /** Reads L2 answered. */
  l2Hits: number
  /** Reads L2 could not answer. */
  l2Misses: number
  /** Hits served stale by stale-while-revalidate or stale-if-error. */
  staleHits: number
  /** Tag, pattern and clear invalidations requested. */
  invalidations: number
  /** Loader calls made by `getOrCompute` (fills and background refreshes). */
  loaderCalls: number
  /** Loader calls that threw. */
  loaderErrors: number
  /** Loader calls that ran past their `timeout`. */
  loaderTimeouts: number
  /** Fills whose value was not cached because an invalidation raced them (guarantee 2). */
  fencedFills: number
  /** Background refreshes started early by XFetch on a fresh hit. */
  earlyRefreshes: number
  /** Errors of every kind: L2 failures and timeouts, corrupted values, background refreshes. */
  errors: number
  /** L2 commands that did not answer in time (also counted in `errors`). */
  l2Timeouts: number
  /** Corrupted or foreign values found in a tier (also counted in `errors`). */
  corruptedValues: number
  /** Whether L2 is currently bypassed by the circuit breaker. */
  degraded: boolean
  /** Invalidations received from other instances through the bus. */
  busReceived: number
  /**
   * Invalidations this instance sent to the others through the bus: published and accepted by
   * the transport, or published by L2 with the invalidation it announces (once L2's command
   * returned). `filled` wake-ups are not counted.
   */
  busSent: number
  /**
   * The bus's last measured lag in ms: the round trip of one of its own heartbeats, published
   * and heard back through Redis (one clock, so no skew). Absent when unknown: no bus, a bus that
   * cannot measure it (the in-process `MemoryBus`), or before the first heartbeat came back.
   */
  busLagMs?: number
  /** Times the bus lost trust (subscription lost, heartbeat missing, message gap): L1 flushed. */
  busTrustLost: number
  /** Whether the bus is trusted now (`true` too when there is no bus because there is no L2). */
  busTrusted: boolean
}

/**
 * Counters as plain fields: incremented on every hit, so no maps, no closures, no allocation.
 * @internal
 */
export class CacheMetrics {
  hits = 0
  misses = 0
  sets = 0
  deletes = 0
  bytesWritten = 0
  valuesWritten = 0
  l1Hits = 0
  l1Misses = 0
  l2Hits = 0
  l2Misses = 0
  staleHits = 0
  invalidations = 0
  loaderCalls = 0
  loaderErrors = 0
  loaderTimeouts = 0
  fencedFills = 0
  earlyRefreshes = 0
  busReceived = 0
  busSent = 0
  busTrustLost = 0
  errors = 0
  l2Timeouts = 0
  corruptedValues = 0

  recordWrite(size: number): void {
    this.sets++
    this.bytesWritten += size
    this.valuesWritten++
  }

  snapshot(degraded: boolean, busTrusted = true, busLagMs?: number): CacheMetricsSnapshot {
    const reads = this.hits + this.misses
    const snapshot: CacheMetricsSnapshot = {
      hits: this.hits,
      misses: this.misses,
      hitRate: reads === 0 ? 0 : (this.hits / reads) * 100,
      sets: this.sets,
      deletes: this.deletes,
      averageSize:
        this.valuesWritten === 0 ? 0 : Math.round(this.bytesWritten / this.valuesWritten),
      l1Hits: this.l1Hits,
      l1Misses: this.l1Misses,
      l2Hits: this.l2Hits,
      l2Misses: this.l2Misses,
      staleHits: this.staleHits,
      invalidations: this.invalidations,
      loaderCalls: this.loaderCalls,
      loaderErrors: this.loaderErrors,
      loaderTimeouts: this.loaderTimeouts,
      fencedFills: this.fencedFills,
      earlyRefreshes: this.earlyRefreshes,
      errors: this.errors,
      l2Timeouts: this.l2Timeouts,
      corruptedValues: this.corruptedValues,
      degraded,
      busReceived: this.busReceived,
      busSent: this.busSent,
      busTrustLost: this.busTrustLost,
      busTrusted,
    }
    if (busLagMs !== undefined) snapshot.busLagMs = busLagMs
    return snapshot
  }
}

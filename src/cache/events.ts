import type { StrataCacheError } from '../errors.js'

/** Which tier answered a read. */
export type Tier = 'l1' | 'l2'

/** Payloads of the events {@link CacheManager} emits, by event name. */
export interface CacheEvents {
  hit: [{ key: string; tier: Tier; stale: boolean }]
  miss: [{ key: string }]
  set: [{ key: string; tags: readonly string[] }]
  /** Keys deleted here, or (`remote: true`) deleted or overwritten by another instance. */
  delete: [{ keys: readonly string[]; remote?: boolean }]
  /**
   * An invalidation made here, or (`remote: true`, `removed` then counts this L1 only) one another
   * instance made, as the bus delivered it.
   */
  invalidate: [
    | { kind: 'tag'; tags: readonly string[]; removed: number; remote?: boolean }
    | { kind: 'pattern'; pattern: string | RegExp; removed: number; remote?: boolean }
    | { kind: 'clear'; remote?: boolean },
  ]
  /** Something failed that the cache absorbed (L2 down, corrupted value, background refresh). */
  error: [{ error: StrataCacheError | Error; operation: string; key?: string }]
  /** L2 became unreachable: reads now come from L1 and loaders only. */
  degraded: [{ reason: string }]
  /** L2 answers again; invalidations missed meanwhile have been replayed. */
  recovered: [Record<string, never>]
  /**
   * The invalidation bus may be missing other instances' invalidations (subscription lost,
   * heartbeat missing): L1 was flushed and holds values only briefly until `trusted`.
   */
  untrusted: [{ reason: string }]
  /** The bus works again; L1 was flushed once more (it may predate missed invalidations). */
  trusted: [{ reason: string }]
}

export type CacheEventName = keyof CacheEvents

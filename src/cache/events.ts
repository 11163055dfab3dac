import type { StrataCacheError } from '../errors.js'

/** Which tier answered a read. */
export type Tier = 'l1' | 'l2'

/** Payloads of the events {@link CacheManager} emits, by event name. */
export interface CacheEvents {
  /** A read found the key. */
  hit: [
    {
      /** The key read. */
      key: string
      /** The tier that answered. */
      tier: Tier
      /** Whether the value served was past its TTL (stale-while-revalidate or stale-if-error). */
      stale: boolean
    },
  ]
  /** A read found the key in no tier. */
  miss: [
    {
      /** The key read. */
      key: string
    },
  ]
  /** A value was written. */
  set: [
    {
      /** The key written. */
      key: string
      /** The tags the value carries. */
      tags: readonly string[]
    },
  ]
  /** Keys deleted here, or (`remote: true`) deleted or overwritten by another instance. */
  delete: [
    {
      /** The keys deleted. */
      keys: readonly string[]
      /** True when another instance made the change and the bus delivered it. */
      remote?: boolean
    },
  ]
  /**
   * An invalidation made here, or (`remote: true`, `removed` then counts this L1 only) one another
   * instance made, as the bus delivered it.
   */
  invalidate: [
    | {
        /** Invalidation by tags. */
        kind: 'tag'
        /** The tags invalidated. */
        tags: readonly string[]
        /** Entries removed. */
        removed: number
        /** True when another instance made the invalidation. */
        remote?: boolean
      }
    | {
        /** Invalidation by key pattern. */
        kind: 'pattern'
        /** The glob or regular expression keys were matched against. */
        pattern: string | RegExp
        /** Entries removed. */
        removed: number
        /** True when another instance made the invalidation. */
        remote?: boolean
      }
    | {
        /** The whole cache was cleared. */
        kind: 'clear'
        /** True when another instance cleared it. */
        remote?: boolean
      },
  ]
  /** Something failed that the cache absorbed (L2 down, corrupted value, background refresh). */
  error: [
    {
      /** What failed. */
      error: StrataCacheError | Error
      /** The cache operation that met the failure (`get`, `set`, `refresh`...). */
      operation: string
      /** The key concerned, when there is one. */
      key?: string
    },
  ]
  /** L2 became unreachable: reads now come from L1 and loaders only. */
  degraded: [
    {
      /** Why L2 was judged unreachable. */
      reason: string
    },
  ]
  /** L2 answers again; invalidations missed meanwhile have been replayed. */
  recovered: [Record<string, never>]
  /**
   * The invalidation bus may be missing other instances' invalidations (subscription lost,
   * heartbeat missing): L1 was flushed and holds values only briefly until `trusted`.
   */
  untrusted: [
    {
      /** What made the bus untrusted. */
      reason: string
    },
  ]
  /** The bus works again; L1 was flushed once more (it may predate missed invalidations). */
  trusted: [
    {
      /** What restored trust. */
      reason: string
    },
  ]
}

export type CacheEventName = keyof CacheEvents

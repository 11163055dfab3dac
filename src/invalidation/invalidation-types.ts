import type { Duration } from '../cache/duration.js'
import type { EventEmitterLike } from './rules.js'
import type { WarmingRunSummary } from './warming.js'

// The public option and event types of CacheInvalidation (cache-invalidation.ts).

/** Options of {@link CacheInvalidation}. */
export interface CacheInvalidationOptions {
  /** The application's event bus that fires rules: node `EventEmitter`, `EventEmitter2`, ... */
  events?: EventEmitterLike
  /**
   * Most dependency edges kept before `registerDependency` throws.
   * @default 100_000
   */
  maxDependencies?: number
}

/** Options of {@link CacheInvalidation.invalidateByDependency}. */
export interface DependencyInvalidationOptions {
  /**
   * Remove the parent key itself too, not only its dependents.
   * @default true
   */
  includeParent?: boolean
}

/** Options of {@link CacheInvalidation.warmCacheEntry}. */
export interface WarmEntryOptions {
  /**
   * Lifetime of the stored value.
   * @default the cache's `ttl`
   */
  ttl?: Duration
  /** Tags stored with the value. */
  tags?: string | readonly string[]
  /**
   * Reject with `ERR_LOADER_TIMEOUT` when `compute` runs longer than this.
   * @default no limit
   */
  timeout?: Duration
}

/** Payload of the `invalidated` event: what was invalidated, and by what. */
export type InvalidatedEvent =
  | {
      /** `invalidateByTag` was called. */
      source: 'tag'
      /** The tags invalidated. */
      tags: readonly string[]
    }
  | {
      /** `invalidateByPattern` was called. */
      source: 'pattern'
      /** The glob or regular expression keys were matched against. */
      pattern: string | RegExp
      /** Entries removed. */
      removed: number
    }
  | {
      /** `invalidateByDependency` was called. */
      source: 'dependency'
      /** The keys deleted: the ones named and their dependents. */
      keys: string[]
    }
  | {
      /** A rule fired. */
      source: 'rule'
      /** The rule's id. */
      ruleId: string
      /** The event that fired the rule (the concrete name, also for EventEmitter2 wildcards). */
      event: string
      /** The rule's key pattern. */
      pattern: string | RegExp
      /** Entries removed by the pattern (as `cache.invalidateByPattern` counts them). */
      removed: number
      /** The rule's `dependencies` and their dependents, deleted. */
      keys: string[]
    }

/** Payload of the `error` event: a failure that was absorbed rather than thrown. */
export interface InvalidationErrorEvent {
  /** What failed. */
  error: unknown
  /** Whether a rule or a warming round met it. */
  operation: 'rule' | 'warming'
  /** The rule, for a rule. */
  ruleId?: string
  /** The event that fired the rule. */
  event?: string
  /** The key being warmed, for warming. */
  key?: string
}

/** Events of {@link CacheInvalidation}, by name. */
export interface CacheInvalidationEvents {
  /** Something was invalidated. */
  invalidated: [InvalidatedEvent]
  /** Emitted only while someone listens: an unheard `error` never crashes the process. */
  error: [InvalidationErrorEvent]
  /** A warming round finished. */
  warmed: [WarmingRunSummary]
}

import type { Duration } from '../cache/validate.js'

// The public types of CacheInvalidation (cache-invalidation.ts): its options and events, its rules,
// and the stats of rules and warming.

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

/** A failure as plain, JSON-serialisable data for stats. */
export interface ErrorInfo {
  /** The error's message. */
  message: string
  /** The error's `code`, when it has one. */
  code?: string
  /** Epoch ms. */
  at: number
}

/** Describes `error` for stats; keeps `code` (stratacache's and Node's errors carry one). */
export function errorInfo(error: unknown, at = Date.now()): ErrorInfo {
  const info: ErrorInfo = { message: error instanceof Error ? error.message : String(error), at }
  const code = (error as { code?: unknown } | null | undefined)?.code
  if (typeof code === 'string') info.code = code
  return info
}

/**
 * Anything that can deliver events by name: node's `EventEmitter`, NestJS's `EventEmitter2`
 * (wildcards included, since listeners are registered with its own `on`), or a hand-made bus.
 * `off` or `removeListener` lets rules be replaced and removed cleanly; without either, a removed
 * rule's listener stays attached but does nothing.
 */
export interface EventEmitterLike {
  /** Adds a listener. */
  on(event: string, listener: (...args: unknown[]) => unknown): unknown
  /** Removes a listener. */
  off?(event: string, listener: (...args: unknown[]) => unknown): unknown
  /** Removes a listener (the older name of `off`). */
  removeListener?(event: string, listener: (...args: unknown[]) => unknown): unknown
}

/**
 * An event-driven invalidation rule: when any of `triggers` is emitted, the keys
 * matching `pattern` are removed, and so are the `dependencies` keys and their registered
 * dependents.
 *
 * @example
 * ```ts
 * const rule: InvalidationRule = {
 *   id: 'product_update_rule',
 *   pattern: /^cache:product:/,
 *   triggers: ['product.updated', 'product.deleted'],
 *   dependencies: ['cache:product:list'],
 *   enabled: true,
 * }
 * ```
 */
export interface InvalidationRule {
  /** Unique name; registering the same id again replaces the rule. */
  id: string
  /** Keys to remove: a Redis-style glob (`cache:product:*`) or a RegExp tested on the key. */
  pattern: string | RegExp
  /** Event names that fire the rule; EventEmitter2 wildcards (`product.*`) work with it. */
  triggers: string[]
  /** Keys removed as well, each with its dependents (transitively). */
  dependencies?: string[]
  /**
   * A disabled rule stays registered and listening but does nothing.
   * @default true
   */
  enabled: boolean
}

/** Counters of one rule since it was (re-)registered. */
export interface RuleStats {
  /** Runs started (coalesced events count once). */
  runs: number
  /** Runs that failed; each was reported as an `error` event. */
  failures: number
  /** When the last run started (epoch ms). */
  lastRunAt?: number
  /** The last failure. */
  lastError?: ErrorInfo
}

/** Counters of one warmed key since the schedule was set up. */
export interface WarmingItemStats {
  /** Values computed and stored. */
  successes: number
  /** Computations that threw or timed out, or stores that failed. */
  failures: number
  /**
   * Values computed but not stored because the key was invalidated during the computation (twice
   * in a row), a newer value was stored meanwhile, or Redis was unreachable (kept in this
   * process's L1 only). Not failures: the cache stayed correct.
   */
  skipped: number
  /** When the last value was stored (epoch ms). */
  lastSuccessAt?: number
  /** How long the last computation took (ms). */
  lastDurationMs?: number
  /** The last failure. */
  lastError?: ErrorInfo
}

/** Totals of one warming round. */
export interface WarmingRunSummary {
  /** When it started, epoch ms. */
  startedAt: number
  /** When it finished, epoch ms. */
  finishedAt: number
  /** How long it took, ms. */
  durationMs: number
  /** Keys warmed. */
  successes: number
  /** Keys whose loader failed. */
  failures: number
  /** Values computed but not stored (an invalidation raced them, or Redis was unreachable). */
  skipped: number
}

/** What {@link CacheInvalidation.getWarmingStats} returns. Plain data, JSON-serialisable. */
export interface WarmingStats {
  /** A schedule is set up and not stopped. */
  active: boolean
  /** Rounds completed. */
  runs: number
  /** When the next round is due (epoch ms), while one is scheduled. */
  nextRunAt?: number
  /** The last round's totals. */
  lastRun?: WarmingRunSummary
  /** The last failure of any key. */
  lastError?: ErrorInfo & {
    /** The key whose warming failed. */
    key: string
  }
  /** Per key. */
  items: Record<string, WarmingItemStats>
}

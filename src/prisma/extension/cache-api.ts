/** `prisma.$cache`: invalidation by tag, for the whole client, and the figures. */

import type { CacheMetricsSnapshot } from '../../cache/metrics.js'
import { normalizeTags } from '../../cache/validate.js'
import { invalid } from '../../errors.js'
import type { ChangeFeedStatus } from '../change-feed/admin.js'
import type { QueryMetrics, QueryStats } from '../metrics/query-metrics.js'
import type { StrategyClass } from '../options.js'
import type { PrismaCache } from './prisma-cache.js'

/** What `prisma.$cache.stats()` returns. */
export interface PrismaCacheStats {
  /** Per model and operation (`Product.findUnique`): queries, hits, misses, p50/p95/p99 ms... */
  queries: QueryStats | undefined
  /** The cache's own counters (all users of the cache, not only this client). */
  cache: CacheMetricsSnapshot
  /** Writes in a transaction not started through this client, invalidated before its commit. */
  untrackedTransactionWrites: number
  /** The change feed's state, when it is on. */
  changeFeed: ChangeFeedStatus | undefined
}

/** `prisma.$cache.changeFeed`, when the feed is on. */
export interface ChangeFeedApi {
  /** Its state now: mode, role (consumer or standby), lag, counts. */
  status(): ChangeFeedStatus
  /** Resolves once it runs; rejects with the reason when it cannot (say, no logical replication). */
  ready(): Promise<ChangeFeedStatus>
  /** Stops reading (`$disconnect` does too); the slot keeps later changes for the next consumer. */
  stop(): Promise<void>
}

const STRATEGY_CLASSES: readonly StrategyClass[] = ['hot', 'aggregation', 'reference']

/** Builds the `$cache` object of one extended client. */
export function cacheApi(runtime: PrismaCache, metrics: QueryMetrics | undefined) {
  return {
    async invalidate(input: { tags: readonly string[] }): Promise<void> {
      const tags = (input as { tags?: unknown } | undefined)?.tags
      if (!Array.isArray(tags) || tags.length === 0) {
        throw invalid('input.tags', 'must be a non-empty array of tags')
      }
      // Checked here too, so that a bad tag is named as the caller wrote it (`input.tags[1]`).
      await runtime.cache.invalidateByTag(normalizeTags(tags, 'input.tags'))
    },
    invalidateAll: (): Promise<void> => runtime.invalidateAll(),
    /**
     * The strategy classes (`hot`, `aggregation`, `reference`): each one's TTL in ms and the
     * models whose cached reads it holds.
     */
    classes: () => runtime.classes(),
    /** Invalidates every cached read of the models a strategy class holds (see `classes()`). */
    async invalidateClass(name: StrategyClass): Promise<void> {
      if (!STRATEGY_CLASSES.includes(name)) {
        throw invalid('name', `must be one of ${STRATEGY_CLASSES.join(', ')}`)
      }
      await runtime.invalidateClass(name)
    },
    stats: (): PrismaCacheStats => ({
      queries: metrics?.stats(),
      cache: runtime.cache.getMetrics(),
      untrackedTransactionWrites: runtime.untrackedTransactionWrites,
      changeFeed: runtime.changeFeed?.status(),
    }),
    changeFeed: runtime.changeFeed as ChangeFeedApi | undefined,
  }
}

/** Prisma Accelerate's tag rules: letters, digits and underscores, at most 64 characters. */
const ACCELERATE_TAG = /^[A-Za-z0-9_]{1,64}$/
/** At most this many tags per `$accelerate.invalidate` call, as Accelerate allows. */
const ACCELERATE_MAX_TAGS = 5

/**
 * `prisma.$accelerate`, for code written for Prisma Accelerate: `invalidate({ tags })` with
 * Accelerate's stricter tag rules (so code that works here works there), and `invalidateAll()`.
 */
export function accelerateApi(runtime: PrismaCache) {
  return {
    async invalidate(input: { tags: readonly string[] }): Promise<void> {
      const tags = (input as { tags?: unknown } | undefined)?.tags
      if (!Array.isArray(tags) || tags.length === 0 || tags.length > ACCELERATE_MAX_TAGS) {
        throw invalid('input.tags', `must be an array of 1 to ${ACCELERATE_MAX_TAGS} tags`)
      }
      tags.forEach((tag: unknown, i) => {
        if (typeof tag !== 'string' || !ACCELERATE_TAG.test(tag)) {
          throw invalid(`input.tags[${i}]`, 'must be 1 to 64 letters, digits or underscores')
        }
      })
      await runtime.cache.invalidateByTag(tags as string[])
    },
    invalidateAll: (): Promise<void> => runtime.invalidateAll(),
  }
}

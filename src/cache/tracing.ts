/**
 * Diagnostics channels that tracing subscribes to (`instrumentOpenTelemetry`, or any
 * instrumentation of its own): one message per cache read or invalidation and per Prisma read or
 * write through `withCache`, told apart by their `kind`, published synchronously as the call ends, in the caller's async context (so a span made from it has the
 * caller's span as parent). While nobody subscribes, nothing is timed or published: one property
 * read per call.
 */
import { type Channel, channel } from 'node:diagnostics_channel'
import { performance } from 'node:perf_hooks'
import type { Tier } from './events.js'

/**
 * `stratacache:cache`: {@link CacheReadMessage}s of `get` and `getOrCompute`, and
 * {@link CacheInvalidationMessage}s of `delete`, `invalidateByTag`, `invalidateByPattern`, `clear`.
 */
export const CACHE_CHANNEL = 'stratacache:cache'
/**
 * `stratacache:prisma`: {@link PrismaReadMessage}s of the reads of clients extended with
 * `withCache`, and {@link PrismaWriteMessage}s of their writes and raw queries.
 */
export const PRISMA_CHANNEL = 'stratacache:prisma'

/** One cache read, as published on {@link CACHE_CHANNEL}. */
export interface CacheReadMessage {
  /** Tells reads and invalidations apart on the channel. */
  kind: 'read'
  /** The `CacheManager` method called. */
  operation: 'get' | 'getOrCompute'
  /** The key read. */
  key: string
  /** `hit` (fresh), `swr` (stale, served while refreshed), `miss` (loaded, or not there). */
  status: 'hit' | 'swr' | 'miss' | undefined
  /** The tier that answered a hit. */
  tier: Tier | undefined
  /** When the call began, epoch ms (fractional). */
  startTime: number
  /** How long the call took, in ms. */
  durationMs: number
  /** What the call threw; `undefined` when it succeeded. */
  error: unknown
}

/** One cached Prisma read, as published on {@link PRISMA_CHANNEL}. */
export interface PrismaReadMessage {
  /** Tells reads and writes apart on the channel. */
  kind: 'read'
  /** The Prisma model read. */
  model: string
  /** The Prisma operation (`findUnique`, `findMany`...). */
  operation: string
  /** `hit`, `swr`, `miss`, or `none` (the cache was not used). */
  cacheStatus: 'hit' | 'swr' | 'miss' | 'none'
  /** The tier that answered a hit. */
  tier: Tier | undefined
  /** When the call began, epoch ms (fractional). */
  startTime: number
  /** How long the call took, in ms. */
  durationMs: number
  /** What the call threw; `undefined` when it succeeded. */
  error: unknown
}

/**
 * One invalidation of a cache, as published on {@link CACHE_CHANNEL}. Tag values and the keys of a
 * many-key delete are left out (unbounded); `target` names the one key, tag or pattern there is.
 */
export interface CacheInvalidationMessage {
  /** Tells reads and invalidations apart on the channel. */
  kind: 'invalidation'
  /** The `CacheManager` method called. */
  operation: 'delete' | 'invalidateByTag' | 'invalidateByPattern' | 'clear'
  /** Keys (`delete`) or tags (`invalidateByTag`) named; 0 for a pattern or a clear. */
  count: number
  /** The key of a one-key delete, the tag of a one-tag invalidation, or the pattern. */
  target: string | undefined
  /** Entries removed (from the tier that held the most), when the operation tells. */
  removed: number | undefined
  /**
   * `applied`, or `deferred` when L2 is degraded as the call ends (Redis bypassed: its part is
   * queued and replayed on recovery). `undefined` on failure.
   */
  outcome: 'applied' | 'deferred' | undefined
  /** When the call began, epoch ms (fractional). */
  startTime: number
  /** How long the call took, in ms. */
  durationMs: number
  /** What the call threw; `undefined` when it succeeded. */
  error: unknown
}

/** One write or raw query through `withCache`, as published on {@link PRISMA_CHANNEL}. */
export interface PrismaWriteMessage {
  /** Tells reads and writes apart on the channel. */
  kind: 'write'
  /** `undefined` for a raw query (`$executeRaw`...). */
  model: string | undefined
  /** The Prisma operation (`update`, `createMany`, `$executeRaw`...). */
  operation: string
  /**
   * `now` (invalidated before the write resolved), `commit` (inside a transaction: when it
   * commits), or `none` (it changed nothing cached).
   */
  invalidation: 'now' | 'commit' | 'none'
  /** Tags invalidated (or to be, at commit). */
  tags: number
  /** It invalidated `now` on a strict cache: it waited (bounded) for L2 to take that. */
  strict: boolean
  /** When the call began, epoch ms (fractional). */
  startTime: number
  /** How long the call took, in ms. */
  durationMs: number
  /** What the call threw; `undefined` when it succeeded. */
  error: unknown
}

export const cacheReads = channel(CACHE_CHANNEL)
export const prismaReads = channel(PRISMA_CHANNEL)
/** The channel of {@link CacheInvalidationMessage}s: the same as {@link cacheReads}. */
export const cacheInvalidations = cacheReads
/** The channel of {@link PrismaWriteMessage}s: the same as {@link prismaReads}. */
export const prismaWrites = prismaReads

/** Epoch ms now, with `performance.now()`'s resolution. */
export function epochNow(): number {
  return performance.timeOrigin + performance.now()
}

/**
 * Runs a cache read and publishes it when it ends; `read` fills `status` and `tier` in the
 * message it is given. Only called while {@link cacheReads} has subscribers.
 */
export function traceRead<T>(
  operation: CacheReadMessage['operation'],
  key: string,
  read: (message: CacheReadMessage) => Promise<T>,
): Promise<T> {
  const message: CacheReadMessage = {
    kind: 'read',
    operation,
    key,
    status: undefined,
    tier: undefined,
    startTime: epochNow(),
    durationMs: 0,
    error: undefined,
  }
  return published(cacheReads, message, read)
}

/**
 * Runs an invalidation, and while {@link cacheInvalidations} has subscribers publishes it when it
 * ends (`run` is then given the message to fill `count`, `target` and `removed`; `degraded` tells
 * the outcome). Without subscribers `run` gets `undefined` and nothing is timed.
 */
export function traceInvalidation<T>(
  operation: CacheInvalidationMessage['operation'],
  run: (message: CacheInvalidationMessage | undefined) => Promise<T>,
  degraded: () => boolean,
): Promise<T> {
  if (!cacheInvalidations.hasSubscribers) return run(undefined)
  const message: CacheInvalidationMessage = {
    kind: 'invalidation',
    operation,
    count: 0,
    target: undefined,
    removed: undefined,
    outcome: undefined,
    startTime: epochNow(),
    durationMs: 0,
    error: undefined,
  }
  return published(cacheInvalidations, message, async (m) => {
    const result = await run(m)
    m.outcome = degraded() ? 'deferred' : 'applied'
    return result
  })
}

/** Notes the keys or tags an invalidation names in its message, if traced. */
export function traceTargets(
  message: CacheInvalidationMessage | undefined,
  targets: readonly string[],
): void {
  if (message === undefined) return
  message.count = targets.length
  if (targets.length === 1) message.target = targets[0]
}

/**
 * Runs a write through `withCache` and publishes it when it ends; `run` fills how it
 * invalidated. Only called while {@link prismaWrites} has subscribers.
 */
export function traceWrite<T>(
  model: string | undefined,
  operation: string,
  run: (message: PrismaWriteMessage) => Promise<T>,
): Promise<T> {
  const message: PrismaWriteMessage = {
    kind: 'write',
    model,
    operation,
    invalidation: 'none',
    tags: 0,
    strict: false,
    startTime: epochNow(),
    durationMs: 0,
    error: undefined,
  }
  return published(prismaWrites, message, run)
}

/** Runs `run` with `message`, then times it and publishes it on `on`, failed or not. */
async function published<M extends { startTime: number; durationMs: number; error: unknown }, T>(
  on: Channel,
  message: M,
  run: (message: M) => Promise<T>,
): Promise<T> {
  try {
    return await run(message)
  } catch (error) {
    message.error = error
    throw error
  } finally {
    message.durationMs = epochNow() - message.startTime
    on.publish(message)
  }
}

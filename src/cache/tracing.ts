/**
 * Diagnostics channels that tracing subscribes to (`instrumentOpenTelemetry`, or any
 * instrumentation of its own): one message per cache read and per cached Prisma read, published
 * synchronously as the call ends, in the caller's async context (so a span made from it has the
 * caller's span as parent). While nobody subscribes, nothing is timed or published: one property
 * read per call.
 */
import { channel } from 'node:diagnostics_channel'
import { performance } from 'node:perf_hooks'
import type { Tier } from './events.js'

/** `stratacache:cache`: {@link CacheReadMessage}s of `get` and `getOrCompute`. */
export const CACHE_CHANNEL = 'stratacache:cache'
/** `stratacache:prisma`: {@link PrismaReadMessage}s of the reads of clients extended with `withCache`. */
export const PRISMA_CHANNEL = 'stratacache:prisma'

/** One cache read, as published on {@link CACHE_CHANNEL}. */
export interface CacheReadMessage {
  operation: 'get' | 'getOrCompute'
  key: string
  /** `hit` (fresh), `swr` (stale, served while refreshed), `miss` (loaded, or not there). */
  status: 'hit' | 'swr' | 'miss' | undefined
  /** The tier that answered a hit. */
  tier: Tier | undefined
  /** When the call began, epoch ms (fractional). */
  startTime: number
  durationMs: number
  error: unknown
}

/** One cached Prisma read, as published on {@link PRISMA_CHANNEL}. */
export interface PrismaReadMessage {
  model: string
  operation: string
  /** `hit`, `swr`, `miss`, or `none` (the cache was not used). */
  cacheStatus: 'hit' | 'swr' | 'miss' | 'none'
  tier: Tier | undefined
  startTime: number
  durationMs: number
  error: unknown
}

export const cacheReads = channel(CACHE_CHANNEL)
export const prismaReads = channel(PRISMA_CHANNEL)

/** Epoch ms now, with `performance.now()`'s resolution. */
export function epochNow(): number {
  return performance.timeOrigin + performance.now()
}

/**
 * Runs a cache read and publishes it when it ends; `read` fills `status` and `tier` in the
 * message it is given. Only called while {@link cacheReads} has subscribers.
 */
export async function traceRead<T>(
  operation: CacheReadMessage['operation'],
  key: string,
  read: (message: CacheReadMessage) => Promise<T>,
): Promise<T> {
  const message: CacheReadMessage = {
    operation,
    key,
    status: undefined,
    tier: undefined,
    startTime: epochNow(),
    durationMs: 0,
    error: undefined,
  }
  try {
    return await read(message)
  } catch (error) {
    message.error = error
    throw error
  } finally {
    message.durationMs = epochNow() - message.startTime
    cacheReads.publish(message)
  }
}

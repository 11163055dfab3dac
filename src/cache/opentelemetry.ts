/**
 * `instrumentOpenTelemetry()`: OpenTelemetry spans for cache reads and invalidations and for Prisma
 * reads and writes through `withCache`, made from the diagnostics channels of `tracing.ts`. `@opentelemetry/api` is an optional peer,
 * imported only here and only when called; with nothing subscribed, reads pay nothing.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { invalid } from '../errors.js'
import {
  CACHE_CHANNEL,
  type CacheInvalidationMessage,
  type CacheReadMessage,
  PRISMA_CHANNEL,
  type PrismaReadMessage,
  type PrismaWriteMessage,
} from './tracing.js'

/** Options of {@link instrumentOpenTelemetry}. */
export interface OpenTelemetryOptions {
  /**
   * Where spans go: a `TracerProvider` of `@opentelemetry/api`.
   * @default the global provider (`trace.getTracerProvider()`), as registered by the SDK
   */
  tracerProvider?: unknown
  /** Spans for `get` and `getOrCompute` of every `CacheManager`. @default true */
  cacheReads?: boolean
  /** Spans for the reads of every client extended with `withCache`. @default true */
  prismaReads?: boolean
  /**
   * Spans for `delete`, `invalidateByTag`, `invalidateByPattern` and `clear` of every
   * `CacheManager`. @default true
   */
  cacheInvalidations?: boolean
  /** Spans for the writes and raw queries of every client extended with `withCache`. @default true */
  prismaWrites?: boolean
}

/** The attribute naming how many targets an invalidation had, by operation. */
const COUNT_ATTRIBUTE: Record<CacheInvalidationMessage['operation'], string | undefined> = {
  delete: 'stratacache.cache.key_count',
  invalidateByTag: 'stratacache.cache.tag_count',
  invalidateByPattern: undefined,
  clear: undefined,
}
/** The attribute naming an invalidation's one target, by operation. */
const TARGET_ATTRIBUTE: Record<CacheInvalidationMessage['operation'], string | undefined> = {
  delete: 'stratacache.cache.key',
  invalidateByTag: 'stratacache.cache.tag',
  invalidateByPattern: 'stratacache.cache.pattern',
  clear: undefined,
}

type Api = typeof import('@opentelemetry/api')

/**
 * Subscribes to the cache's tracing channels and makes one CLIENT span per call, child of the
 * caller's active span: `stratacache get` / `stratacache getOrCompute` (attributes
 * `db.operation.name`, `stratacache.cache.key`, `.status`, `.tier`); `stratacache delete` /
 * `invalidateByTag` / `invalidateByPattern` / `clear` (`db.operation.name`,
 * `stratacache.cache.key_count` or `.tag_count`, the one `.key`, `.tag` or `.pattern`, `.removed`,
 * `.outcome`); `prisma <Model>.<operation>` for Prisma reads (`db.system.name: postgresql`,
 * `db.collection.name`, `db.operation.name`, and the cache's status and tier) and writes (the
 * same, and `stratacache.invalidation.timing`, `.tag_count`, `.strict`); raw queries are
 * `prisma <operation>`. Errors are recorded on the span. Resolves to the function that
 * unsubscribes.
 *
 * @example
 * ```ts
 * const stop = await instrumentOpenTelemetry() // after the OpenTelemetry SDK has started
 * ```
 */
export async function instrumentOpenTelemetry(
  options: OpenTelemetryOptions = {},
): Promise<() => void> {
  if (typeof options !== 'object' || options === null) throw invalid('options', 'must be an object')
  let api: Api
  try {
    api = await import('@opentelemetry/api')
  } catch {
    throw invalid('@opentelemetry/api', 'is not installed: npm install @opentelemetry/api')
  }
  const provider = (options.tracerProvider ?? api.trace.getTracerProvider()) as {
    getTracer(name: string): ReturnType<Api['trace']['getTracer']>
  }
  if (typeof provider?.getTracer !== 'function') {
    throw invalid('options.tracerProvider', 'must be a TracerProvider (it has no getTracer)')
  }
  const tracer = provider.getTracer('stratacache')

  const span = (
    name: string,
    message: { startTime: number; durationMs: number; error: unknown },
    attributes: Record<string, string | number | boolean | undefined>,
  ) => {
    const defined = Object.fromEntries(
      Object.entries(attributes).filter(([, v]) => v !== undefined),
    )
    const started = tracer.startSpan(
      name,
      { kind: api.SpanKind.CLIENT, startTime: message.startTime, attributes: defined },
      api.context.active(),
    )
    if (message.error !== undefined) {
      started.recordException(message.error as Error)
      started.setStatus({ code: api.SpanStatusCode.ERROR })
    }
    started.end(message.startTime + message.durationMs)
  }
  const reads = options.cacheReads !== false
  const invalidations = options.cacheInvalidations !== false
  const onCache = (raw: unknown) => {
    const m = raw as CacheReadMessage | CacheInvalidationMessage
    if (m.kind === 'invalidation') {
      if (invalidations) onInvalidation(m)
      return
    }
    if (!reads) return
    span(`stratacache ${m.operation}`, m, {
      'db.operation.name': m.operation,
      'stratacache.cache.key': m.key,
      'stratacache.cache.status': m.status,
      'stratacache.cache.tier': m.tier,
    })
  }
  const onInvalidation = (m: CacheInvalidationMessage) => {
    const count = COUNT_ATTRIBUTE[m.operation]
    const target = TARGET_ATTRIBUTE[m.operation]
    span(`stratacache ${m.operation}`, m, {
      'db.operation.name': m.operation,
      ...(count === undefined ? {} : { [count]: m.count }),
      ...(target === undefined ? {} : { [target]: m.target }),
      'stratacache.cache.removed': m.removed,
      'stratacache.cache.outcome': m.outcome,
    })
  }
  const onWrite = (m: PrismaWriteMessage) => {
    span(m.model === undefined ? `prisma ${m.operation}` : `prisma ${m.model}.${m.operation}`, m, {
      'db.system.name': 'postgresql',
      'db.collection.name': m.model,
      'db.operation.name': m.operation,
      'stratacache.invalidation.timing': m.invalidation,
      'stratacache.invalidation.tag_count': m.tags,
      'stratacache.invalidation.strict': m.strict,
    })
  }
  const prismaReads = options.prismaReads !== false
  const writes = options.prismaWrites !== false
  const onPrisma = (raw: unknown) => {
    const m = raw as PrismaReadMessage | PrismaWriteMessage
    if (m.kind === 'write') {
      if (writes) onWrite(m)
      return
    }
    if (!prismaReads) return
    span(`prisma ${m.model}.${m.operation}`, m, {
      'db.system.name': 'postgresql',
      'db.collection.name': m.model,
      'db.operation.name': m.operation,
      'stratacache.cache.status': m.cacheStatus,
      'stratacache.cache.tier': m.tier,
    })
  }
  // One channel each for the cache and Prisma: subscribed when any of its spans is wanted.
  if (reads || invalidations) subscribe(CACHE_CHANNEL, onCache)
  if (prismaReads || writes) subscribe(PRISMA_CHANNEL, onPrisma)
  return () => {
    unsubscribe(CACHE_CHANNEL, onCache)
    unsubscribe(PRISMA_CHANNEL, onPrisma)
  }
}

/**
 * `instrumentOpenTelemetry()`: OpenTelemetry spans for cache reads and cached Prisma reads, made
 * from the diagnostics channels of `tracing.ts`. `@opentelemetry/api` is an optional peer,
 * imported only here and only when called; with nothing subscribed, reads pay nothing.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { invalid } from '../errors.js'
import {
  CACHE_CHANNEL,
  type CacheReadMessage,
  PRISMA_CHANNEL,
  type PrismaReadMessage,
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
}

type Api = typeof import('@opentelemetry/api')

/**
 * Subscribes to the cache's tracing channels and makes one span per read, child of the caller's
 * active span: `stratacache get` / `stratacache getOrCompute` (attributes `db.operation.name`,
 * `stratacache.cache.key`, `.status`, `.tier`), and `prisma <Model>.<operation>` for cached Prisma
 * reads (`db.system.name: postgresql`, `db.collection.name`, `db.operation.name`, and the cache's
 * status and tier). Errors are recorded on the span. Resolves to the function that unsubscribes.
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
    attributes: Record<string, string | undefined>,
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
  const onCache = (raw: unknown) => {
    const m = raw as CacheReadMessage
    span(`stratacache ${m.operation}`, m, {
      'db.operation.name': m.operation,
      'stratacache.cache.key': m.key,
      'stratacache.cache.status': m.status,
      'stratacache.cache.tier': m.tier,
    })
  }
  const onPrisma = (raw: unknown) => {
    const m = raw as PrismaReadMessage
    span(`prisma ${m.model}.${m.operation}`, m, {
      'db.system.name': 'postgresql',
      'db.collection.name': m.model,
      'db.operation.name': m.operation,
      'stratacache.cache.status': m.cacheStatus,
      'stratacache.cache.tier': m.tier,
    })
  }
  if (options.cacheReads !== false) subscribe(CACHE_CHANNEL, onCache)
  if (options.prismaReads !== false) subscribe(PRISMA_CHANNEL, onPrisma)
  return () => {
    unsubscribe(CACHE_CHANNEL, onCache)
    unsubscribe(PRISMA_CHANNEL, onPrisma)
  }
}

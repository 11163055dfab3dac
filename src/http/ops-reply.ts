/**
 * The reply model every operations endpoint and every mount shares: what a route answers (its
 * status and body, before encoding), what it reads from, and the error replies.
 */
import type { CacheManager } from '../cache/cache-manager.js'
import { StrataCacheError } from '../errors.js'

/** A reply, before it is encoded for the mount (node response, fetch `Response`). */
export interface OpsReply {
  status: number
  /** JSON unless `type` says otherwise. */
  body: unknown
  type?: 'json' | 'text' | 'html'
  contentType?: string
  headers?: Record<string, string>
}

/** What the endpoints read from: `createOpsHandler`'s options, checked. */
export interface OpsContext {
  cache: CacheManager
  prisma: { $cache: PrismaCacheApi } | undefined
  health: HealthLike | undefined
  analyzer: { analyze(query: unknown): Promise<unknown> } | undefined
  invalidation: { warmNow(): Promise<unknown> } | undefined
  metrics: false | object
  /** The Prometheus exporter, made on the first scrape. */
  exporter?: Promise<{ metrics(): Promise<string>; contentType: string }>
}

interface PrismaCacheApi {
  stats(): { queries: QueryFigures | undefined }
  classes(): Record<StrategyClass, { ttlMs: number; models: string[] }>
  invalidateClass(name: StrategyClass): Promise<void>
  /** Absent on clients from before the change feed, or when it is off. */
  changeFeed?: { status(): object } | undefined
}
type StrategyClass = 'hot' | 'aggregation' | 'reference'
interface QueryFigures {
  totals: unknown
  slowQueryCount: number
  nPlusOne: unknown[]
  since: number
}
interface HealthLike {
  check(): Promise<HealthFigures>
  generateReport(): string
}
export interface HealthFigures {
  status: 'healthy' | 'degraded' | 'unhealthy'
  connected: boolean
  responseTime: number
  reasons: string[]
  details: { connectionPool: unknown; performance: unknown }
  timestamp: Date
}

/**
 * Who may call a route: anyone (health: load balancers), anyone unless `protectStats`
 * (figures), or only with the admin token (changes something, or shows SQL and call sites).
 */
export type Access = 'public' | 'stats' | 'admin'

export interface Route {
  method: 'GET' | 'POST' | 'DELETE'
  path: string
  access: Access
  handle(context: OpsContext, body: unknown): Promise<OpsReply>
}

/** The TTL classes `L1`, `L2`, `L3` of the performance endpoints, by strategy. */
export const TIERS = { L1: 'hot', L2: 'aggregation', L3: 'reference' } as const

export const json = (body: unknown, status = 200): OpsReply => ({ status, body })

/** 404 for an endpoint whose part was not given to `createOpsHandler`. */
export function missing(option: string, what: string): OpsReply {
  const message = `no ${what}: pass ${option} to createOpsHandler`
  return { status: 404, body: { error: { code: 'ERR_NOT_CONFIGURED', message } } }
}

/** A body larger than the handler's `maxBodyBytes`: answered 413. */
export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`the body is larger than ${limit} bytes`)
  }
}

/** An error reply: `{ error: { code, message, field? } }`. */
export function failure(status: number, code: string, message: string, field?: string): OpsReply {
  return { status, body: { error: { code, message, ...(field === undefined ? {} : { field }) } } }
}

/** The reply for what a route threw: bad input is the caller's (400), the rest ours (500). */
export function errorReply(error: unknown): OpsReply {
  if (error instanceof BodyTooLarge) return failure(413, 'ERR_BODY_TOO_LARGE', error.message)
  if (error instanceof StrataCacheError && error.field !== undefined) {
    return failure(400, error.code, error.message, error.field)
  }
  const message = error instanceof Error ? error.message : String(error)
  return failure(500, error instanceof StrataCacheError ? error.code : 'ERR_INTERNAL', message)
}

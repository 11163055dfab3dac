/**
 * The options of `createOpsHandler`: their types, their checks, and the defaults read from the
 * environment (`STRATACACHE_ADMIN_TOKEN`, `STRATACACHE_DASHBOARD`, `STRATACACHE_METRICS`,
 * `STRATACACHE_PROTECT_STATS`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { CacheManager } from '../cache/cache-manager.js'
import { type Env, parseBoolean, readString } from '../config/env-parsers.js'
import { invalid } from '../errors.js'
import {
  checkBoolean,
  checkEnv,
  checkMethods,
  checkNumber,
  checkObject,
  checkString,
  describeValue,
  isRecord,
} from '../option-checks.js'
import type { OpsContext } from './ops-reply.js'
import type { MetricsExporterOptions } from './prometheus.js'

/** Options of {@link createOpsHandler}. Only `cache` is required. */
export interface OpsHandlerOptions {
  /** The cache whose state the endpoints report and whose entries they invalidate. */
  cache: CacheManager
  /**
   * A Prisma client extended with `withCache` (its `$cache`): query figures, slow queries, N+1
   * reports, and the strategy classes that `POST /api/performance/cache/clear` clears.
   */
  prisma?: object
  /** A `DatabaseHealthCheck`: the `/health/db` endpoints and the database's part of the others. */
  health?: {
    /** Runs a check. */
    check(): Promise<unknown>
    /** The last check as readable text. */
    generateReport(): string
  }
  /** A `QueryAnalyzer`: `POST /api/performance/analyze`. */
  analyzer?: {
    /** Analyzes the Prisma call the request describes. */
    analyze(query: never): Promise<unknown>
  }
  /** A `CacheInvalidation` with warming set up: `POST /api/performance/prefetch` runs a round. */
  invalidation?: {
    /** Runs a warming round now. */
    warmNow(): Promise<unknown>
  }
  /**
   * The token that the admin endpoints (every one that changes something or shows SQL) want in
   * `Authorization: Bearer <token>`, at least 16 characters. Without one they answer 403: closed,
   * never open.
   * @default process.env.STRATACACHE_ADMIN_TOKEN
   */
  adminToken?: string
  /**
   * Where the endpoints are mounted, for the listener and fetch forms (`'/ops'`: `/ops/metrics`).
   * Express and Fastify strip their own mount path; a path without it is served as is.
   * @default ''
   */
  basePath?: string
  /** Largest request body read, in bytes; a larger one is answered 413. @default 65536 */
  maxBodyBytes?: number
  /**
   * Whether the figures (`/metrics`, the status and stats endpoints) want the admin token too.
   * Health endpoints never do: load balancers call them.
   * @default process.env.STRATACACHE_PROTECT_STATS, else false
   */
  protectStats?: boolean
  /**
   * Whether `/dashboard` serves the live page; `false` answers 404 there (the endpoints it calls
   * stay).
   * @default process.env.STRATACACHE_DASHBOARD, else true
   */
  dashboard?: boolean
  /**
   * `/metrics`: options of the Prometheus exporter (`createMetricsExporter`: the user's own
   * prom-client `registry`, a metric `prefix`, `connections`, `transactions`, buckets...; `cache`,
   * `prisma` and `health` come from here, and `checkOnScrape` defaults to `true`), or `false` to
   * serve no metrics.
   * @default {}, or false when process.env.STRATACACHE_METRICS is false
   */
  metrics?: false | Omit<MetricsExporterOptions, 'cache' | 'prisma' | 'health'>
  /**
   * Where the defaults above are read (`STRATACACHE_ADMIN_TOKEN`, `STRATACACHE_DASHBOARD`,
   * `STRATACACHE_METRICS`, `STRATACACHE_PROTECT_STATS`); an option given wins over its variable.
   * @default process.env
   */
  env?: Env
}

/** The part of a Fastify instance the plugin uses (Fastify is not a dependency). */
export interface FastifyLike {
  /** The prefix the plugin is registered under. */
  prefix: string
  /** Lets the handler read raw bodies. */
  removeAllContentTypeParsers(): void
  /** Registers the raw-body parser. */
  addContentTypeParser(
    type: string,
    options: { parseAs: 'buffer'; bodyLimit: number },
    parser: (request: unknown, body: Buffer, done: (error: null, body: Buffer) => void) => void,
  ): void
  /** Routes every method of `path` to the handler. */
  all(path: string, handler: (request: FastifyRequestLike, reply: FastifyReplyLike) => void): void
}
/** The part of a Fastify request the plugin reads. */
export interface FastifyRequestLike {
  raw: IncomingMessage
  url: string
  body?: unknown
}
/** The part of a Fastify reply the plugin uses. */
export interface FastifyReplyLike {
  raw: ServerResponse
  hijack(): void
}

const OPTION_NAMES: readonly (keyof OpsHandlerOptions)[] = [
  'cache',
  'prisma',
  'health',
  'analyzer',
  'invalidation',
  'adminToken',
  'basePath',
  'maxBodyBytes',
  'protectStats',
  'dashboard',
  'env',
  'metrics',
]

function checkOptions(options: unknown): asserts options is OpsHandlerOptions {
  checkObject(options, 'options', OPTION_NAMES)
  const o = options
  if (!(o.cache instanceof CacheManager)) {
    throw invalid('options.cache', `must be a CacheManager, got ${describeValue(o.cache)}`)
  }
  if (o.prisma !== undefined && !(isRecord(o.prisma) && '$cache' in o.prisma)) {
    throw invalid(
      'options.prisma',
      `must be a Prisma client extended with withCache (it has no $cache), got ${describeValue(o.prisma)}`,
    )
  }
  checkMethods(o.health, 'options.health', ['check'], 'a DatabaseHealthCheck')
  checkMethods(o.analyzer, 'options.analyzer', ['analyze'], 'a QueryAnalyzer')
  checkMethods(o.invalidation, 'options.invalidation', ['warmNow'], 'a CacheInvalidation')
  if (typeof o.adminToken === 'string' && o.adminToken.length < 16) {
    throw invalid('options.adminToken', 'must be at least 16 characters')
  }
  checkString(o.adminToken, 'options.adminToken')
  checkString(o.basePath, 'options.basePath', {
    minLength: 0,
    pattern: /^(\/[\w.~-]+)*$/,
    what: 'empty or a path such as /ops (no trailing slash)',
  })
  checkNumber(o.maxBodyBytes, 'options.maxBodyBytes', { min: 1, max: 16_777_216, integer: true })
  checkBoolean(o.protectStats, 'options.protectStats')
  checkBoolean(o.dashboard, 'options.dashboard')
  checkEnv(o.env, 'options.env')
  // The exporter checks its own options, on the first scrape.
  if (o.metrics !== undefined && o.metrics !== false && !isRecord(o.metrics)) {
    throw invalid('options.metrics', `must be an object or false, got ${describeValue(o.metrics)}`)
  }
}

/** The options resolved: checked, with the environment's defaults applied. */
export interface ResolvedOpsOptions {
  readonly context: OpsContext
  readonly adminToken: string | undefined
  readonly protectStats: boolean
  readonly dashboard: boolean
  readonly basePath: string
  readonly maxBodyBytes: number
}

/** Checks `options` and applies the defaults; an option given wins over its variable. */
export function resolveOpsOptions(options: OpsHandlerOptions): ResolvedOpsOptions {
  checkOptions(options)
  const o = options
  const env = o.env ?? process.env
  const adminToken = o.adminToken ?? readString(env, 'STRATACACHE_ADMIN_TOKEN')
  if (adminToken !== undefined && adminToken.length < 16) {
    throw invalid('STRATACACHE_ADMIN_TOKEN', 'must be at least 16 characters')
  }
  const metricsOn = parseBoolean(env, 'STRATACACHE_METRICS') ?? true
  return {
    context: {
      cache: o.cache,
      prisma: o.prisma as OpsContext['prisma'],
      health: o.health as OpsContext['health'],
      analyzer: o.analyzer as OpsContext['analyzer'],
      invalidation: o.invalidation as OpsContext['invalidation'],
      metrics: o.metrics ?? (metricsOn ? {} : false),
    },
    adminToken,
    protectStats: o.protectStats ?? parseBoolean(env, 'STRATACACHE_PROTECT_STATS') ?? false,
    dashboard: o.dashboard ?? parseBoolean(env, 'STRATACACHE_DASHBOARD') ?? true,
    basePath: o.basePath ?? '',
    maxBodyBytes: o.maxBodyBytes ?? 65_536,
  }
}

/**
 * `createOpsHandler`: the operations endpoints (health, status, invalidation, analysis, metrics)
 * as one handler that mounts anywhere: a `node:http` listener, Express middleware, a Fastify
 * plugin, or a fetch handler (`Request` → `Response`, for Hono and edge runtimes). Routing, the
 * admin token and body limits live here; what each endpoint answers is in `ops-routes.ts`.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
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
  isPlainObject,
} from '../option-checks.js'
import { ACTIONS } from './ops-actions.js'
import {
  BodyTooLarge,
  errorReply,
  failure,
  type OpsContext,
  type OpsReply,
  type Route,
} from './ops-reply.js'
import { READ_ROUTES } from './ops-routes.js'
import { parseJson, readNodeBody, send, toResponse } from './ops-transport.js'
import type { MetricsExporterOptions } from './prometheus.js'

const ROUTES: readonly Route[] = [...READ_ROUTES, ...ACTIONS]

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

/** What {@link createOpsHandler} returns: a listener / middleware, plus the other mounts. */
export interface OpsHandler {
  /** A `node:http` listener, and Express middleware (`next()` for paths it does not serve). */
  (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void): void
  /** The fetch form: `Request` → `Response` (Hono: `app.all('/ops/*', (c) => ops.fetch(c.req.raw))`). */
  fetch(request: Request): Promise<Response>
  /** A Fastify plugin: `await app.register(ops.fastify, { prefix: '/ops' })`. */
  fastify: (instance: FastifyLike) => Promise<void>
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
interface FastifyRequestLike {
  raw: IncomingMessage
  url: string
  body?: unknown
}
interface FastifyReplyLike {
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
  if (o.prisma !== undefined && !(isPlainObject(o.prisma) && '$cache' in o.prisma)) {
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
  if (o.metrics !== undefined && o.metrics !== false && !isPlainObject(o.metrics)) {
    throw invalid('options.metrics', `must be an object or false, got ${describeValue(o.metrics)}`)
  }
}

/**
 * The operations endpoints as one handler (see the README's "Operations endpoints" for each
 * endpoint and its answer).
 *
 * @example
 * ```ts
 * const ops = createOpsHandler({ cache, prisma, health, adminToken: process.env.OPS_TOKEN })
 * http.createServer(ops).listen(9464)     // or app.use('/ops', ops), or ops.fetch(request)
 * ```
 */
export function createOpsHandler(options: OpsHandlerOptions): OpsHandler {
  checkOptions(options)
  const o = options
  const env = o.env ?? process.env
  const adminToken = o.adminToken ?? readString(env, 'STRATACACHE_ADMIN_TOKEN')
  if (adminToken !== undefined && adminToken.length < 16) {
    throw invalid('STRATACACHE_ADMIN_TOKEN', 'must be at least 16 characters')
  }
  const protectStats = o.protectStats ?? parseBoolean(env, 'STRATACACHE_PROTECT_STATS') ?? false
  const dashboard = o.dashboard ?? parseBoolean(env, 'STRATACACHE_DASHBOARD') ?? true
  const metricsOn = parseBoolean(env, 'STRATACACHE_METRICS') ?? true
  const routes = dashboard ? ROUTES : ROUTES.filter((route) => route.path !== '/dashboard')
  const context: OpsContext = {
    cache: o.cache,
    prisma: o.prisma as OpsContext['prisma'],
    health: o.health as OpsContext['health'],
    analyzer: o.analyzer as OpsContext['analyzer'],
    invalidation: o.invalidation as OpsContext['invalidation'],
    metrics: o.metrics ?? (metricsOn ? {} : false),
  }
  const basePath = o.basePath ?? ''
  const maxBodyBytes = o.maxBodyBytes ?? 65_536
  const expected = adminToken === undefined ? undefined : digest(adminToken)

  /** The route's answer, or why it is refused: the one path every mount goes through. */
  const serve = async (
    route: Route,
    authorization: string | undefined,
    body: () => Promise<Buffer | unknown>,
  ): Promise<OpsReply> => {
    const admin = route.access === 'admin' || (route.access === 'stats' && protectStats)
    if (admin) {
      if (expected === undefined) {
        return failure(
          403,
          'ERR_NO_ADMIN_TOKEN',
          'no admin token is configured (the adminToken option or STRATACACHE_ADMIN_TOKEN): admin endpoints stay closed',
        )
      }
      const given = /^Bearer (.+)$/i.exec(authorization ?? '')?.[1]
      if (given === undefined || !timingSafeEqual(digest(given), expected)) {
        return {
          ...failure(401, 'ERR_UNAUTHORIZED', 'wants Authorization: Bearer <admin token>'),
          headers: { 'www-authenticate': 'Bearer' },
        }
      }
    }
    try {
      return await route.handle(
        context,
        route.method === 'GET' ? undefined : parseJson(await body()),
      )
    } catch (error) {
      return errorReply(error)
    }
  }

  const find = (method: string, rawPath: string): Route | OpsReply | undefined => {
    let path = rawPath.startsWith(basePath) ? rawPath.slice(basePath.length) : rawPath
    if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1)
    const candidates = routes.filter((route) => route.path === path)
    if (candidates.length === 0) return undefined
    const wanted = method === 'HEAD' ? 'GET' : method
    const route = candidates.find((candidate) => candidate.method === wanted)
    if (route !== undefined) return route
    const allow = candidates.map((candidate) => candidate.method).join(', ')
    return {
      ...failure(405, 'ERR_METHOD_NOT_ALLOWED', `${path} answers ${allow}`),
      headers: { allow },
    }
  }

  const listener = ((req, res, next) => {
    const found = find(req.method ?? 'GET', (req.url ?? '/').split('?')[0]!)
    if (found === undefined) {
      if (next !== undefined) return next()
      return send(res, failure(404, 'ERR_NOT_FOUND', 'no such endpoint'), req.method === 'HEAD')
    }
    if (!('handle' in found)) return send(res, found, req.method === 'HEAD')
    void serve(found, req.headers.authorization, () => readNodeBody(req, maxBodyBytes)).then(
      (reply) => send(res, reply, req.method === 'HEAD'),
      (error: unknown) => (next === undefined ? send(res, errorReply(error), false) : next(error)),
    )
  }) as OpsHandler

  listener.fetch = async (request) => {
    const found = find(request.method, new URL(request.url).pathname)
    const head = request.method === 'HEAD'
    if (found === undefined)
      return toResponse(failure(404, 'ERR_NOT_FOUND', 'no such endpoint'), head)
    if (!('handle' in found)) return toResponse(found, head)
    const body = async () => {
      const bytes = Buffer.from(await request.arrayBuffer())
      if (bytes.length > maxBodyBytes) throw new BodyTooLarge(maxBodyBytes)
      return bytes
    }
    return toResponse(
      await serve(found, request.headers.get('authorization') ?? undefined, body),
      head,
    )
  }

  listener.fastify = async (instance) => {
    // The body as bytes, whatever its type: the handler parses and bounds it itself.
    instance.removeAllContentTypeParsers()
    instance.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: maxBodyBytes },
      (_request, body, done) => done(null, body),
    )
    const prefix = instance.prefix
    const handler = (request: FastifyRequestLike, reply: FastifyReplyLike) => {
      reply.hijack()
      const req = request.raw
      const path = (req.url ?? '/').split('?')[0]!
      const found = find(
        req.method ?? 'GET',
        path.startsWith(prefix) ? path.slice(prefix.length) || '/' : path,
      )
      const head = req.method === 'HEAD'
      if (found === undefined)
        return send(reply.raw, failure(404, 'ERR_NOT_FOUND', 'no such endpoint'), head)
      if (!('handle' in found)) return send(reply.raw, found, head)
      void serve(
        found,
        req.headers.authorization,
        async () => request.body ?? Buffer.alloc(0),
      ).then((r) => send(reply.raw, r, head))
    }
    instance.all('/', handler)
    instance.all('/*', handler)
  }
  return listener
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest()
}

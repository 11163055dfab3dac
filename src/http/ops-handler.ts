/**
 * `createOpsHandler`: the operations endpoints (health, status, invalidation, analysis, metrics)
 * as one handler that mounts anywhere: a `node:http` listener, Express middleware, a Fastify
 * plugin, or a fetch handler (`Request` → `Response`, for Hono and edge runtimes). Routing and the
 * admin token live here; the options in `ops-options.ts`, what each endpoint answers in
 * `ops-routes.ts`.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { ACTIONS } from './ops-actions.js'
import {
  type FastifyLike,
  type FastifyReplyLike,
  type FastifyRequestLike,
  type OpsHandlerOptions,
  resolveOpsOptions,
} from './ops-options.js'
import { BodyTooLarge, errorReply, failure, type OpsReply, type Route } from './ops-reply.js'
import { READ_ROUTES } from './ops-routes.js'
import { parseJson, readNodeBody, send, toResponse } from './ops-transport.js'

export type { FastifyLike, OpsHandlerOptions } from './ops-options.js'

const ROUTES: readonly Route[] = [...READ_ROUTES, ...ACTIONS]

/** What {@link createOpsHandler} returns: a listener / middleware, plus the other mounts. */
export interface OpsHandler {
  /** A `node:http` listener, and Express middleware (`next()` for paths it does not serve). */
  (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void): void
  /** The fetch form: `Request` → `Response` (Hono: `app.all('/ops/*', (c) => ops.fetch(c.req.raw))`). */
  fetch(request: Request): Promise<Response>
  /** A Fastify plugin: `await app.register(ops.fastify, { prefix: '/ops' })`. */
  fastify: (instance: FastifyLike) => Promise<void>
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
  const { context, adminToken, protectStats, dashboard, basePath, maxBodyBytes } =
    resolveOpsOptions(options)
  const routes = dashboard ? ROUTES : ROUTES.filter((route) => route.path !== '/dashboard')
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

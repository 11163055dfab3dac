/**
 * A small JSON router on `node:http`: path patterns with `:params`, JSON request bodies with a
 * size limit, JSON errors (400 with a reason, 404, 405 with `Allow`, 413, 415, 500), and the
 * `x-cache` header each response carries. Enough for the demo without a framework to learn.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http'
import type { CacheStatus } from './cache-info.js'

/** Request bodies above this size are refused (413) before they are read to the end. */
export const MAX_BODY_BYTES = 64 * 1024

export interface RouteRequest {
  readonly params: Readonly<Record<string, string>>
  readonly query: URLSearchParams
  /** The body parsed as JSON; throws an {@link HttpError} (400, 413, 415) when it is not. */
  json(): Promise<unknown>
}

export interface RouteResponse {
  readonly status?: number
  readonly body: unknown
  /** Where the main read came from; sent as `x-cache`. Writes and unknowns say `none`. */
  readonly cache?: CacheStatus
  readonly headers?: Readonly<Record<string, string>>
}

export type RouteHandler = (request: RouteRequest) => Promise<RouteResponse>

type Method = 'GET' | 'POST' | 'PATCH'

/** An error with an HTTP status and a machine-readable code, sent as `{ error, message, ... }`. */
export class HttpError extends Error {
  readonly details: Readonly<Record<string, unknown>>
  readonly headers: Readonly<Record<string, string>>

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    extra: { details?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ) {
    super(message)
    this.name = 'HttpError'
    this.details = extra.details ?? {}
    this.headers = extra.headers ?? {}
  }
}

/** What the listener reports of each answered request, for a log line. */
export interface ResponseRecord {
  readonly method: string
  readonly url: string
  readonly status: number
  readonly cache: CacheStatus
  readonly ms: number
}

export interface ListenerHooks {
  readonly onResponse?: (record: ResponseRecord) => void
  /** Errors other than {@link HttpError}: answered with a 500, reported here. */
  readonly onError?: (error: unknown) => void
}

interface Route {
  readonly method: Method
  readonly segments: readonly string[]
  readonly handler: RouteHandler
}

export class Router {
  readonly #routes: Route[] = []

  get(pattern: string, handler: RouteHandler): this {
    return this.#add('GET', pattern, handler)
  }

  post(pattern: string, handler: RouteHandler): this {
    return this.#add('POST', pattern, handler)
  }

  patch(pattern: string, handler: RouteHandler): this {
    return this.#add('PATCH', pattern, handler)
  }

  /** A `node:http` request listener serving the routes added so far. */
  listener(hooks: ListenerHooks = {}): RequestListener {
    return (req, res) => void this.#respond(req, res, hooks)
  }

  #add(method: Method, pattern: string, handler: RouteHandler): this {
    this.#routes.push({ method, segments: splitPath(pattern), handler })
    return this
  }

  async #respond(req: IncomingMessage, res: ServerResponse, hooks: ListenerHooks): Promise<void> {
    const started = performance.now()
    let response: RouteResponse
    try {
      response = await this.#dispatch(req)
    } catch (error) {
      if (!(error instanceof HttpError)) hooks.onError?.(error)
      response = errorResponse(error)
    }
    try {
      send(res, response)
    } catch (error) {
      // A body JSON cannot encode (a cycle): a bug, reported as such rather than left unanswered.
      hooks.onError?.(error)
      response = errorResponse(error)
      send(res, response)
    }
    hooks.onResponse?.({
      method: req.method ?? '?',
      url: req.url ?? '/',
      status: res.statusCode,
      cache: response.cache ?? 'none',
      ms: performance.now() - started,
    })
  }

  async #dispatch(req: IncomingMessage): Promise<RouteResponse> {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const segments = splitPath(url.pathname)
    const allowed = new Set<string>()
    // Routes are tried in the order they were added: `/products/search` before `/products/:id`.
    for (const route of this.#routes) {
      const params = match(route.segments, segments)
      if (!params) continue
      if (route.method !== req.method) {
        allowed.add(route.method)
        continue
      }
      return route.handler({ params, query: url.searchParams, json: () => readJson(req) })
    }
    if (allowed.size > 0) {
      const allow = [...allowed]
      throw new HttpError(
        405,
        'method_not_allowed',
        `${req.method} is not allowed on ${url.pathname}`,
        {
          details: { allow },
          headers: { allow: allow.join(', ') },
        },
      )
    }
    throw new HttpError(404, 'not_found', `no route for ${url.pathname}; GET / lists them`)
  }
}

function splitPath(path: string): string[] {
  return path.split('/').filter((segment) => segment !== '')
}

function match(
  pattern: readonly string[],
  path: readonly string[],
): Record<string, string> | undefined {
  if (pattern.length !== path.length) return undefined
  const params: Record<string, string> = {}
  for (const [i, part] of pattern.entries()) {
    const actual = path[i] as string
    if (part.startsWith(':')) params[part.slice(1)] = decodePathSegment(actual)
    else if (part !== actual) return undefined
  }
  return params
}

function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    throw new HttpError(400, 'invalid_path', `malformed percent-encoding in the path: ${segment}`)
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = req.headers['content-type'] ?? ''
  if (type !== '' && !/^application\/([\w.+-]+\+)?json\b/i.test(type)) {
    throw new HttpError(
      415,
      'unsupported_media_type',
      `content-type must be application/json, not ${type}`,
    )
  }
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) throw tooLarge()
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    // A chunked body has no length up front: stop as soon as it passes the limit.
    if (size > MAX_BODY_BYTES) throw tooLarge()
    chunks.push(chunk)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  if (text.trim() === '') {
    throw new HttpError(400, 'invalid_json', 'the request body is empty; expected a JSON object')
  }
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new HttpError(
      400,
      'invalid_json',
      `the request body is not valid JSON: ${(error as Error).message}`,
    )
  }
}

function tooLarge(): HttpError {
  return new HttpError(413, 'payload_too_large', `the request body exceeds ${MAX_BODY_BYTES} bytes`)
}

function errorResponse(error: unknown): RouteResponse {
  if (error instanceof HttpError) {
    return {
      status: error.status,
      body: { error: error.code, message: error.message, ...error.details },
      headers: error.headers,
    }
  }
  // The details of an unexpected error are for the server log, not for the client.
  return {
    status: 500,
    body: { error: 'internal_error', message: 'internal error; see the server log' },
  }
}

function send(res: ServerResponse, response: RouteResponse): void {
  const { status = 200, body, cache = 'none', headers = {} } = response
  const payload = `${JSON.stringify(body, jsonValue, 2)}\n`
  res.statusCode = status
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value)
  res.setHeader('content-type', 'application/json; charset=utf-8')
  res.setHeader('content-length', Buffer.byteLength(payload))
  res.setHeader('x-cache', cache)
  // A body refused half-way leaves unread bytes on the socket: close it rather than reuse it.
  if (status === 413) res.setHeader('connection', 'close')
  res.end(payload)
}

/** JSON has no BigInt; send it as a string, as Prisma's Decimal already is. */
function jsonValue(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value
}

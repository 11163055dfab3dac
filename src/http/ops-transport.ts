/**
 * Bodies in and replies out, for the `node:http` and fetch mounts of the operations handler: a
 * bounded read of a request body (or what a framework parsed already), and one encoding of a
 * reply for both.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { invalid } from '../errors.js'
import { BodyTooLarge, type OpsReply } from './ops-reply.js'

/** JSON from a body that Express or Fastify may have read (and parsed) already. */
export function parseJson(body: unknown): unknown {
  if (body === undefined) return undefined
  if (!Buffer.isBuffer(body) && typeof body !== 'string') return body // parsed by the framework
  const text = body.toString()
  if (text.trim() === '') return undefined
  try {
    return JSON.parse(text)
  } catch (error) {
    throw invalid('body', `is not JSON: ${(error as Error).message}`)
  }
}

/** The body of a node request, bounded; or what a framework's body parser left in `req.body`. */
export function readNodeBody(req: IncomingMessage, limit: number): Promise<Buffer | unknown> {
  const parsed = (req as IncomingMessage & { body?: unknown }).body
  if (parsed !== undefined || req.readableEnded) return Promise.resolve(parsed)
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        req.removeAllListeners('data')
        req.resume() // drained, not buffered: the answer is 413 whatever follows
        reject(new BodyTooLarge(limit))
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

const CONTENT_TYPES = {
  json: 'application/json; charset=utf-8',
  text: 'text/plain; charset=utf-8',
  html: 'text/html; charset=utf-8',
} as const

/** Status, headers and bytes of a reply, the same for every mount. */
function encode(reply: OpsReply): {
  status: number
  headers: Record<string, string>
  bytes: string
} {
  const type = reply.type ?? 'json'
  const bytes = type === 'json' ? JSON.stringify(reply.body) : String(reply.body)
  return {
    status: reply.status,
    bytes,
    headers: {
      'content-type': reply.contentType ?? CONTENT_TYPES[type],
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      ...reply.headers,
    },
  }
}

export function send(res: ServerResponse, reply: OpsReply, head: boolean): void {
  const { status, headers, bytes } = encode(reply)
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(bytes) })
  res.end(head ? undefined : bytes)
}

export function toResponse(reply: OpsReply, head: boolean): Response {
  const { status, headers, bytes } = encode(reply)
  return new Response(head ? null : bytes, { status, headers })
}

/**
 * A stand-in for Upstash's REST API, in front of the real Redis the tests use: no Upstash server
 * exists here, so the Upstash driver's tests talk to this. It speaks the protocol Upstash
 * documents (https://upstash.com/docs/redis/features/restapi) as far as `@upstash/redis` uses it:
 *
 * - `POST /` with the command as a JSON array (`["SET", "k", "v", "PX", 100]`): `{ result }`, or
 *   `{ error }` with status 400 when Redis refuses the command;
 * - `POST /pipeline` with an array of commands, run in order: an array of `{ result }` /
 *   `{ error }`; `POST /multi-exec`, the same inside MULTI / EXEC (atomic);
 * - `Authorization: Bearer <token>` (or `?_token=`): anything else is 401
 *   `{ "error": "WRONGPASS invalid or missing auth token" }`;
 * - with `Upstash-Encoding: base64` (which `@upstash/redis` sends by default), every string in a
 *   result is base64-encoded, except the `"OK"` reply; without it, strings are UTF-8 text.
 *
 * For fault tests: `delayMs` holds every answer that long, `stop()` closes the port (connections
 * refused) and `start()` opens it again on the same port.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Redis } from 'ioredis'
import { REDIS_URL } from './redis.js'

type RedisReply = Buffer | number | null | Error | RedisReply[]
type JsonReply = string | number | null | JsonReply[]

export interface UpstashRestServer {
  /** `http://127.0.0.1:<port>`: the REST URL to give the driver. */
  readonly url: string
  readonly token: string
  /** Every answer waits this long first (a slow server). */
  delayMs: number
  /** Commands received (name, upper case), in order, for assertions. */
  readonly commands: string[]
  /** Closes the port and every open connection: requests are refused. */
  stop(): Promise<void>
  /** Opens the same port again. */
  start(): Promise<void>
  /** Stops and closes the Redis connections. */
  close(): Promise<void>
}

function encodeReply(reply: RedisReply, base64: boolean): JsonReply {
  if (reply === null || typeof reply === 'number') return reply
  if (Array.isArray(reply)) return reply.map((r) => encodeReply(r, base64))
  if (reply instanceof Error) throw reply
  if (base64)
    return reply.length === 2 && reply.toString('latin1') === 'OK' ? 'OK' : reply.toString('base64')
  return reply.toString('utf8')
}

function isCommand(value: unknown): value is (string | number | boolean)[] {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    typeof value[0] === 'string' &&
    value.every((v) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
  )
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

/** Starts a REST server on a free port of 127.0.0.1, in front of Redis (`TEST_REDIS_URL`). */
export async function startUpstashRestServer(
  options: { token?: string; redisUrl?: string } = {},
): Promise<UpstashRestServer> {
  const token = options.token ?? 'test-rest-token'
  const redis = new Redis(options.redisUrl ?? REDIS_URL, { maxRetriesPerRequest: 1 })
  // MULTI / EXEC need a connection of their own, one transaction at a time.
  const transactions = new Redis(options.redisUrl ?? REDIS_URL, { maxRetriesPerRequest: 1 })
  let queue: Promise<unknown> = Promise.resolve()
  const commands: string[] = []

  const run = (client: Redis, command: (string | number | boolean)[]): Promise<RedisReply> => {
    const [name, ...args] = command.map(String)
    commands.push(name!.toUpperCase())
    return client.callBuffer(name!, ...args) as Promise<RedisReply>
  }

  const transaction = (list: (string | number | boolean)[][]): Promise<RedisReply[]> => {
    const done = queue.then(async () => {
      await transactions.callBuffer('MULTI')
      const queued = list.map((c) => run(transactions, c).catch((error: Error) => error))
      const replies = (await transactions.callBuffer('EXEC')) as RedisReply[]
      await Promise.all(queued)
      return replies
    })
    queue = done.catch(() => {})
    return done
  }

  const answer = (response: ServerResponse, status: number, body: unknown) => {
    response.writeHead(status, { 'content-type': 'application/json' })
    response.end(JSON.stringify(body))
  }

  const one = async (reply: Promise<RedisReply> | RedisReply, base64: boolean) => {
    try {
      return { result: encodeReply(await reply, base64) }
    } catch (error) {
      return { error: (error as Error).message }
    }
  }

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://localhost')
    const given =
      /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1] ??
      url.searchParams.get('_token')
    const body = await readBody(request)
    if (server.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, server.delayMs))
    if (given !== token) {
      answer(response, 401, { error: 'WRONGPASS invalid or missing auth token' })
      return
    }
    if (request.method !== 'POST') {
      answer(response, 405, { error: 'ERR only POST is served here' })
      return
    }
    const base64 = String(request.headers['upstash-encoding'] ?? '').toLowerCase() === 'base64'
    let parsed: unknown
    try {
      parsed = JSON.parse(body)
    } catch {
      answer(response, 400, { error: 'ERR failed to parse command' })
      return
    }
    const path = url.pathname.replace(/\/+$/, '')
    if (path === '') {
      if (!isCommand(parsed)) return answer(response, 400, { error: 'ERR failed to parse command' })
      const reply = await one(run(redis, parsed), base64)
      return answer(response, 'error' in reply ? 400 : 200, reply)
    }
    if (path === '/pipeline' || path === '/multi-exec') {
      if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every(isCommand)) {
        return answer(response, 400, { error: 'ERR failed to parse pipeline request' })
      }
      if (path === '/pipeline') {
        const replies: unknown[] = []
        for (const command of parsed) replies.push(await one(run(redis, command), base64))
        return answer(response, 200, replies)
      }
      let replies: RedisReply[]
      try {
        replies = await transaction(parsed)
      } catch (error) {
        return answer(response, 400, { error: (error as Error).message })
      }
      return answer(response, 200, await Promise.all(replies.map((r) => one(r, base64))))
    }
    answer(response, 404, { error: `ERR unknown endpoint ${path}` })
  }

  const http: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) answer(response, 500, { error: String(error) })
    })
  })
  let port = 0
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      http.once('error', reject)
      http.listen(port, '127.0.0.1', () => {
        http.off('error', reject)
        port = (http.address() as AddressInfo).port
        resolve()
      })
    })
  await listen()

  const server: UpstashRestServer = {
    url: `http://127.0.0.1:${port}`,
    token,
    delayMs: 0,
    commands,
    stop: () =>
      new Promise<void>((resolve) => {
        if (!http.listening) return resolve()
        http.close(() => resolve())
        http.closeAllConnections()
      }),
    start: () => (http.listening ? Promise.resolve() : listen()),
    close: async () => {
      await server.stop()
      redis.disconnect()
      transactions.disconnect()
    },
  }
  return server
}

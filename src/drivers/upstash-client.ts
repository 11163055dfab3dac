/**
 * The REST side of {@link UpstashDriver}: `@upstash/redis`, imported on first use (an optional peer
 * dependency: a cache that does not use Upstash never loads it), one HTTP request per command,
 * each aborted after the cache's `commandTimeout`, no retries of its own (failures go to
 * `ResilientL2`, whose circuit breaker decides), and its errors made readable.
 */
import { packageRequire } from '../module-url.js'

/** Where an Upstash database answers over REST, and the token it expects. */
export interface UpstashConnection {
  /** The REST endpoint, `https://…upstash.io` (`UPSTASH_REDIS_REST_URL`). */
  url: string
  /** The REST token (`UPSTASH_REDIS_REST_TOKEN`); never put in messages. */
  token: string
}

/** A command as sent: the name, then its arguments. */
export type RestCommand = [string, ...(string | number)[]]

/** What a command may answer, once the client has decoded its base64 strings. */
export type RestReply = string | number | null | RestReply[]

/** The one method of an `@upstash/redis` client the driver uses. */
interface RestClient {
  exec<T>(command: RestCommand): Promise<T>
}

type RestClientClass = new (config: Record<string, unknown>) => RestClient

const PACKAGE = '@upstash/redis'
const MISSING = `the Upstash driver needs the optional peer dependency ${PACKAGE} (>=1.34 <2): npm install ${PACKAGE}`

/** Whether `error` says a module could not be found (ESM or CommonJS wording). */
function isNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND'
}

/**
 * Throws at once, with the command to run, when `@upstash/redis` is not installed: a resolution
 * only (nothing is loaded), so that `new CacheManager({ upstash })` fails where it is written
 * rather than on its first command. Where resolving fails otherwise (a bundled runtime without
 * `require.resolve`), the import on first use decides. `resolve` replaces the lookup (tests).
 */
export function assertUpstashInstalled(resolve?: (id: string) => string): void {
  const lookup = resolve ?? packageRequire.resolve
  try {
    lookup(PACKAGE)
  } catch (error) {
    if (isNotFound(error)) throw new Error(MISSING, { cause: error })
  }
}

/** Imports the client class; `importer` replaces the import (tests). */
export async function loadUpstash(
  importer: () => Promise<unknown> = () => import('@upstash/redis'),
): Promise<RestClientClass> {
  let module: unknown
  try {
    module = await importer()
  } catch (error) {
    if (isNotFound(error)) throw new Error(MISSING, { cause: error })
    throw error
  }
  // CommonJS seen from ESM: the named export, or under `default`.
  const named = module as { Redis?: RestClientClass; default?: { Redis?: RestClientClass } }
  const Redis = named.Redis ?? named.default?.Redis
  if (typeof Redis !== 'function') throw new Error(`${PACKAGE} has no Redis class: ${MISSING}`)
  return Redis
}

/**
 * An error the server answered with (`{ error }`): named `ReplyError` like ioredis's when it is
 * about the command itself (`WRONGTYPE`), so that the circuit breaker does not count it.
 */
export class UpstashReplyError extends Error {
  constructor(message: string) {
    super(message)
    this.name = /^WRONGTYPE\b/.test(message) ? 'ReplyError' : 'UpstashReplyError'
  }
}

/**
 * A readable error for what the REST call threw: the server's own reply without the command the
 * client appends to it (values, sometimes large, and not for logs), a wrong token named as such,
 * a timeout or an unreachable server said in words.
 */
function restError(error: unknown, timeoutMs: number): Error {
  if (!(error instanceof Error)) return new Error(String(error))
  if (error.name === 'TimeoutError' || error.name === 'AbortError') {
    return new Error(`no answer from the Upstash REST server within ${timeoutMs} ms`, {
      cause: error,
    })
  }
  if (error.name === 'UpstashError') {
    const reply = error.message.replace(/, command was: [\s\S]*$/, '')
    if (/^(WRONGPASS|NOAUTH)\b/.test(reply) || /unauthori[sz]ed/i.test(reply)) {
      return new UpstashReplyError(
        `WRONGPASS the Upstash REST server refused the token (check upstash.token or UPSTASH_REDIS_REST_TOKEN): ${reply}`,
      )
    }
    return new UpstashReplyError(reply)
  }
  if (error.name === 'UpstashJSONParseError') {
    return new Error(`the Upstash REST server did not answer in JSON: ${error.message}`, {
      cause: error,
    })
  }
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause
  const detail = cause?.code ?? cause?.message
  if (error instanceof TypeError && detail !== undefined) {
    return new Error(`cannot reach the Upstash REST server: ${String(detail)}`, { cause: error })
  }
  return error
}

/** One `@upstash/redis` client, made on the first command, sending raw commands. */
export class UpstashRest {
  readonly #connection: UpstashConnection
  readonly #timeoutMs: number
  readonly #importer: (() => Promise<unknown>) | undefined
  #client: Promise<RestClient> | undefined

  constructor(connection: UpstashConnection, timeoutMs: number, importer?: () => Promise<unknown>) {
    this.#connection = connection
    this.#timeoutMs = timeoutMs
    this.#importer = importer
  }

  /** Sends one command; rejects with a readable error (see {@link restError}). */
  async call<T extends RestReply = RestReply>(command: RestCommand): Promise<T> {
    const client = await this.#open()
    try {
      return await client.exec<T>(command)
    } catch (error) {
      throw restError(error, this.#timeoutMs)
    }
  }

  #open(): Promise<RestClient> {
    if (this.#client === undefined) {
      const { url, token } = this.#connection
      const timeoutMs = this.#timeoutMs
      this.#client = loadUpstash(this.#importer).then(
        (Redis) =>
          new Redis({
            url,
            token,
            // ResilientL2 decides what a failure means; a retry here would only hide it.
            retry: { retries: 0 },
            // A function: a fresh deadline per request, and an aborted request rejects.
            signal: () => AbortSignal.timeout(timeoutMs),
            automaticDeserialization: false,
            enableAutoPipelining: false,
            enableTelemetry: false,
            // The default: strings come back base64-encoded, so no byte is lost on the way.
            responseEncoding: 'base64',
          }),
      )
      // A failed import is not kept: installing the package later must work without a restart.
      this.#client.catch(() => {
        this.#client = undefined
      })
    }
    return this.#client
  }
}

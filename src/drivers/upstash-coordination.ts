/**
 * What the Upstash driver adds around the Redis driver's fence (`redis-fence.ts`): values as
 * base64 text (a REST command is JSON, which carries no raw bytes), the write stamp read from
 * that text, and the checks of its options.
 */
import { invalid } from '../errors.js'
import { ENTRY_STAMP_BYTES, ENTRY_STAMP_OFFSET, type L2Coordination } from './l2-driver.js'
import { ttlArg } from './redis-driver.js'
import type { RedisFence } from './redis-fence.js'
import type { RestCommand, UpstashConnection } from './upstash-client.js'

/** The first characters of a base64 text that hold the bytes up to the end of the write stamp. */
const STAMP_CHARS = Math.ceil((ENTRY_STAMP_OFFSET + ENTRY_STAMP_BYTES) / 3) * 4

export const encodeValue = (value: Buffer): string => value.toString('base64')
export const decodeValue = (text: string): Buffer => Buffer.from(text, 'base64')
/** A value as the shared script helpers take it: its base64 text, as bytes. */
export const valueArg = (value: Buffer): Buffer => Buffer.from(encodeValue(value), 'latin1')

/** Checks `url` and `token` (named `<field>.url` / `<field>.token` in errors). */
export function assertUpstashConnection(connection: unknown, field = 'upstash'): void {
  const c = connection as Partial<UpstashConnection> | undefined
  if (typeof c !== 'object' || c === null) throw invalid(field, 'must be { url, token }')
  let url: URL | undefined
  try {
    url = typeof c.url === 'string' ? new URL(c.url) : undefined
  } catch {
    url = undefined
  }
  if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw invalid(`${field}.url`, 'must be the https:// REST URL of the database')
  }
  if (typeof c.token !== 'string' || c.token.trim().length === 0) {
    throw invalid(`${field}.token`, 'must be the non-empty REST token of the database')
  }
}

/** What the coordination needs of its driver. */
export interface CoordinationHost {
  fence: RedisFence
  /** The full name of a caller key; throws on a reserved key or a closed driver. */
  name(key: string): string
  call<T>(command: RestCommand): Promise<T>
}

/** Fencing, leases and stamps over REST: the Redis driver's scripts, values as base64 text. */
export function upstashCoordination(host: CoordinationHost): L2Coordination {
  const { fence } = host
  return {
    beginFill: async (key, leaseMs, token, lease) => {
      host.name(key)
      const start = await fence.begin(key, leaseMs, token, lease)
      const value = start.value && decodeValue(start.value.toString('latin1'))
      return { ...start, value }
    },
    storeFill: (key, value, ttlMs, tags, since, token) => {
      host.name(key)
      return fence.store(key, valueArg(value), ttlArg(ttlMs), tags, since, token)
    },
    releaseLease: (key, token) => {
      host.name(key)
      return fence.release(key, token)
    },
    serverTime: async () => {
      const [seconds, micros] = await host.call<[string, string]>(['TIME'])
      return Number(seconds) * 1000 + Number(micros) / 1000
    },
    getStamp: async (key) => {
      const command: RestCommand = ['GETRANGE', host.name(key), 0, STAMP_CHARS - 1]
      const text = await host.call<string | null>(command)
      const bytes = text === null ? Buffer.alloc(0) : decodeValue(text)
      const end = ENTRY_STAMP_OFFSET + ENTRY_STAMP_BYTES
      if (bytes.length < end) return undefined
      return bytes.subarray(ENTRY_STAMP_OFFSET, end).toString('hex')
    },
  }
}

import type { Cluster, Redis } from 'ioredis'
import { invalid } from '../errors.js'
import { nodeCrypto } from '../module-url.js'
import { integerOption } from '../option-checks.js'

/** Options of a {@link RedisBus}. */
export interface RedisBusOptions {
  /**
   * The client that publishes (an ioredis `Redis` or `Cluster`; may be the L2 driver's own). The
   * bus never closes it. Its `duplicate()` becomes the subscriber, which the bus owns.
   */
  client: Redis | Cluster
  /** The pub/sub channel, e.g. `${prefix}__sc:bus`. Every instance of an app uses the same one. */
  channel: string
  /**
   * Interval between heartbeats, in ms; at least 10.
   * @default 1000
   */
  heartbeatMs?: number
  /**
   * How long one of its own heartbeats may stay unanswered before the bus declares itself
   * untrusted ("heartbeat missing"): a dead subscription is noticed 2 to 3 heartbeat intervals
   * after it died.
   * @default 2 × `heartbeatMs`
   */
  heartbeatTimeoutMs?: number
  /**
   * Total time a `publish()` may take, retries included.
   * @default 1000
   */
  publishTimeoutMs?: number
  /**
   * Attempts per `publish()` within `publishTimeoutMs`.
   * @default 3
   */
  publishAttempts?: number
  /**
   * How long `start()` waits for trust before resolving anyway.
   * @default 2000
   */
  startTimeoutMs?: number
  /**
   * Cap of the subscriber's reconnection backoff (exponential from 50 ms, jittered).
   * @default 1000
   */
  reconnectMaxDelayMs?: number
  /**
   * This bus's id on the wire.
   * @default 16 random hex characters
   */
  instanceId?: string
}

/** {@link RedisBusOptions} validated, with defaults applied. */
export type ResolvedRedisBusOptions = Required<RedisBusOptions>

function isClient(value: unknown): value is Redis | Cluster {
  const c = value as { publish?: unknown; duplicate?: unknown } | null
  return (
    typeof c === 'object' &&
    c !== null &&
    typeof c.publish === 'function' &&
    typeof c.duplicate === 'function'
  )
}

/** Validates and applies defaults. Throws a `ValidationError` naming the first bad field. */
export function resolveRedisBusOptions(options: RedisBusOptions): ResolvedRedisBusOptions {
  if (typeof options !== 'object' || options === null) {
    throw invalid('options', 'must be an object with client and channel')
  }
  if (!isClient(options.client)) {
    throw invalid('client', 'must be an ioredis Redis or Cluster instance')
  }
  if (typeof options.channel !== 'string' || options.channel.length === 0) {
    throw invalid('channel', 'must be a non-empty string')
  }
  const heartbeatMs = integerOption(options.heartbeatMs, 'heartbeatMs', 1000, 10)
  const heartbeatTimeoutMs = integerOption(
    options.heartbeatTimeoutMs,
    'heartbeatTimeoutMs',
    2 * heartbeatMs,
    10,
  )
  const publishTimeoutMs = integerOption(options.publishTimeoutMs, 'publishTimeoutMs', 1000)
  const publishAttempts = integerOption(options.publishAttempts, 'publishAttempts', 3)
  const startTimeoutMs = integerOption(options.startTimeoutMs, 'startTimeoutMs', 2000)
  const reconnectMaxDelayMs = integerOption(
    options.reconnectMaxDelayMs,
    'reconnectMaxDelayMs',
    1000,
    10,
  )
  if (options.instanceId !== undefined) {
    if (
      typeof options.instanceId !== 'string' ||
      !/^[\x21-\x7e]{1,200}$/.test(options.instanceId)
    ) {
      throw invalid('instanceId', 'must be 1-200 printable ASCII characters without spaces')
    }
  }
  return {
    client: options.client,
    channel: options.channel,
    heartbeatMs,
    heartbeatTimeoutMs,
    publishTimeoutMs,
    publishAttempts,
    startTimeoutMs,
    reconnectMaxDelayMs,
    instanceId: options.instanceId ?? nodeCrypto().randomBytes(8).toString('hex'),
  }
}

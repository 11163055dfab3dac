import type { Cluster, Redis, RedisOptions } from 'ioredis'
import { invalid } from '../errors.js'
import { ioredis } from './ioredis.js'
import { createClusterClient, type RedisClusterConfig } from './redis-cluster-client.js'

/** How a Redis driver reaches Redis: exactly one of `url`, `options`, `client` or `cluster`. */
export interface RedisConnectionOptions extends Partial<RedisClusterConfig> {
  /** `redis://[user:password@]host:port/db` or `rediss://...`. The driver creates and owns the client. */
  url?: string
  /** ioredis options. The driver creates and owns the client; its safety defaults apply first. */
  options?: RedisOptions
  /**
   * An ioredis `Redis` or `Cluster` the application already has. It is used as it is (options
   * untouched, no listeners added) and never closed by the driver. It must not have ioredis'
   * `keyPrefix` set: use `prefix` instead.
   */
  client?: Redis | Cluster
}

/**
 * Safety defaults for a client the driver creates (a user's `options` may override any of them).
 *
 * - `connectTimeout` 2 s: a blackholed host fails the attempt instead of hanging ~2 min in SYN.
 * - `socketTimeout` 5 s: a connection that stops answering (half-open TCP after a network
 *   partition, a frozen server) is destroyed and reconnected; without it commands on a dead
 *   socket wait for TCP keepalive, i.e. many minutes.
 * - `maxRetriesPerRequest` 0: when the connection drops, every command in flight or queued is
 *   rejected at once instead of waiting for reconnection attempts.
 * - `autoResendUnfulfilledCommands` false: a command whose reply was lost is not sent again after
 *   reconnecting. The caller was already told it failed (and fell back to memory); replaying an
 *   INCRBY or an old SET later would double-count or resurrect stale data.
 * - `enableOfflineQueue`: true only until the first connection attempt ends (see
 *   {@link openClient}), so commands issued at startup wait for the first `ready` (bounded by the
 *   two timeouts above), then false for good: while reconnecting, commands fail immediately
 *   rather than pile up.
 * - `enableAutoPipelining` false: ioredis would defer every command to the next `setImmediate`
 *   to batch the commands of one event-loop turn into one socket write. Measured here, that costs
 *   about 50 µs on every sequential command (an L2 hit: 87 µs instead of 138 µs; a write's tag
 *   invalidation: 190 µs instead of 255 µs) and saves about 20 % per command only when a hundred
 *   are issued at once (25 µs instead of 31 µs per GET). Latency first: pass
 *   `enableAutoPipelining: true` in the ioredis options for throughput under heavy concurrency.
 *   Order is kept either way. Never on a `Cluster` (ioredis routes an auto-pipelined EVALSHA by
 *   its SHA instead of its keys, ioredis#2109), and {@link closeClient} guards against QUIT
 *   overtaking queued commands when it is on.
 * - `retryStrategy`: reconnect forever, exponential from 50 ms, capped at 2 s, with jitter.
 * - `reconnectOnError`: reconnect on `READONLY` (a failover turned our node into a replica).
 * - `keepAlive` 10 s: keeps idle connections through NATs and load balancers.
 * - `failoverDetector` (Sentinel only): the client listens for `+switch-master` on the
 *   sentinels and reconnects to the new master at once. Without it, a client stays on the old
 *   master, which takes writes a replica promoted in its place will never see, until Sentinel
 *   turns it into a replica (8 s or more after the switch) or a write meets `READONLY`.
 */
export const REDIS_CLIENT_DEFAULTS: Readonly<RedisOptions> = Object.freeze({
  connectTimeout: 2_000,
  socketTimeout: 5_000,
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  enableOfflineQueue: true,
  enableAutoPipelining: false,
  keepAlive: 10_000,
  retryStrategy: (attempt: number) => {
    const base = Math.min(2_000, 50 * 2 ** Math.min(attempt, 6))
    return Math.round(base * (0.8 + Math.random() * 0.4))
  },
  reconnectOnError: (error: Error) => error.message.startsWith('READONLY'),
  failoverDetector: true,
})

function isClient(value: unknown): value is Redis | Cluster {
  const c = value as { getBuffer?: unknown; scan?: unknown; evalsha?: unknown } | null
  return (
    typeof c === 'object' &&
    c !== null &&
    typeof c.getBuffer === 'function' &&
    typeof c.scan === 'function' &&
    typeof c.evalsha === 'function'
  )
}

/** Throws unless exactly one of `url`, `options`, `client`, `cluster` is given. Creates nothing. */
export function assertOneConnection({
  url,
  options,
  client,
  cluster,
}: RedisConnectionOptions): void {
  const given = [url, options, client, cluster].filter((v) => v !== undefined).length
  if (given !== 1) {
    throw invalid('url', `give exactly one of url, options, client or cluster (got ${given})`)
  }
}

/**
 * The client to use: the caller's (`owned: false`, untouched), or one created from `url` or
 * `options` with {@link REDIS_CLIENT_DEFAULTS} (`owned: true`). Validate everything else first:
 * this may open a connection.
 */
export function openClient(connection: RedisConnectionOptions): {
  client: Redis | Cluster
  owned: boolean
} {
  assertOneConnection(connection)
  const { url, options, client, cluster } = connection
  if (cluster !== undefined) {
    return { client: createClusterClient(cluster, connection.clusterOptions), owned: true }
  }
  if (client !== undefined) {
    if (!isClient(client)) throw invalid('client', 'must be an ioredis Redis or Cluster instance')
    if (client.options.keyPrefix) {
      throw invalid(
        'client',
        'has ioredis keyPrefix set; pass a client without it (e.g. client.duplicate({ keyPrefix: "" })) and use prefix',
      )
    }
    return { client, owned: false }
  }
  if (url !== undefined) {
    if (typeof url !== 'string' || !/^rediss?:\/\//.test(url)) {
      throw invalid('url', `must be a redis:// or rediss:// URL, got ${JSON.stringify(url)}`)
    }
    return {
      client: createClient((defaults) => new (ioredis().Redis)(url, defaults), {}),
      owned: true,
    }
  }
  if (typeof options !== 'object' || options === null) {
    throw invalid('options', 'must be an ioredis options object')
  }
  if (options.keyPrefix) throw invalid('options.keyPrefix', 'is not supported; use prefix')
  assertSentinelOptions(options)
  return { client: createClient((merged) => new (ioredis().Redis)(merged), options), owned: true }
}

/**
 * Sentinel options (`sentinels` and `name`) must come together: ioredis would otherwise connect to
 * localhost:6379, or ask the sentinels for a master named `mymaster`, without a word.
 */
function assertSentinelOptions(options: RedisOptions): void {
  const { sentinels, name } = options
  if (sentinels === undefined || sentinels === null) {
    if (name !== undefined) throw invalid('options.name', 'is only used with options.sentinels')
    return
  }
  if (!Array.isArray(sentinels) || sentinels.length === 0) {
    throw invalid('options.sentinels', 'must be a non-empty array of { host, port }')
  }
  if (typeof name !== 'string' || name === '') {
    throw invalid('options.name', 'must name the master the sentinels monitor (e.g. mymaster)')
  }
}

/** Creates our own client with the safety defaults; the user's explicit options win. */
function createClient(make: (options: RedisOptions) => Redis, userOptions: RedisOptions): Redis {
  const client = make({ ...REDIS_CLIENT_DEFAULTS, ...userOptions })
  // Errors reach callers as command rejections; without a listener ioredis would print every
  // reconnection failure to the console.
  client.on('error', () => {})
  if (userOptions.enableOfflineQueue === undefined) {
    // Queue only during the very first connection attempt, then fail fast forever. ioredis reads
    // this option on every command, so switching it here takes effect at once.
    const failFast = () => {
      client.options.enableOfflineQueue = false
      client.off('ready', failFast)
      client.off('close', failFast)
    }
    client.on('ready', failFast)
    client.on('close', failFast)
  }
  return client
}

/**
 * QUITs a client we created, waiting at most `timeoutMs`, then drops the socket and stops
 * reconnection whatever happened (server down or slow).
 */
export async function closeClient(client: Redis | Cluster, timeoutMs: number): Promise<void> {
  if (client.status === 'end') return
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs)
    timer.unref()
  })
  try {
    await Promise.race([quitAfterQueued(client), timeout])
  } finally {
    clearTimeout(timer)
    client.disconnect()
  }
}

async function quitAfterQueued(client: Redis | Cluster): Promise<void> {
  // QUIT is never auto-pipelined: sent at once, it would overtake commands still waiting in the
  // auto-pipeline queue (issued this turn, or behind a pipeline in flight), which would then fail
  // on the closed connection. A PING queued behind them answers once they all have.
  if (client.autoPipelineQueueSize > 0) await client.ping().catch(() => {})
  await client.quit().catch(() => {})
}

const corked = new WeakSet<object>()

/**
 * Under load, holds the client's socket writes until the current turn of the event loop is done
 * (`setImmediate`): the commands every request in flight issues meanwhile go out in one write,
 * one system call instead of one each, which under load is most of what a command costs this
 * process. Only while replies are awaited: a lone command goes out at once. Order and replies are
 * unchanged. For standalone clients the driver owns.
 */
export function coalesceWrites(client: Redis): void {
  const stream = client.stream as { cork?(): void; uncork?(): void; writable?: boolean } | undefined
  if (stream?.cork === undefined || corked.has(stream) || stream.writable !== true) return
  if (client.commandQueue.length === 0) return
  corked.add(stream)
  stream.cork()
  setImmediate(() => {
    corked.delete(stream)
    stream.uncork!()
  })
}

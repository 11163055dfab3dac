import type { Cluster, ClusterOptions } from 'ioredis'
import { invalid } from '../errors.js'
import { ioredis } from './ioredis.js'

/** One node of a Redis Cluster to start from (the client discovers the others). */
export interface RedisClusterNode {
  /** The node's host name or IP address. */
  host: string
  /** The node's port. */
  port: number
}

/** `redis: { cluster: [...] }`: the nodes to start from, and ioredis `Cluster` options. */
export interface RedisClusterConfig {
  /** The nodes to start from; at least one. */
  cluster: RedisClusterNode[]
  /**
   * ioredis `ClusterOptions`, applied over the driver's defaults: reads from masters only, no
   * auto-pipelining, quick retries on MOVED/ASK/TRYAGAIN.
   */
  clusterOptions?: ClusterOptions
}

/** Whether `value` is `{ cluster: [...] }` rather than ioredis options or a client. */
export function isClusterConfig(value: unknown): value is RedisClusterConfig {
  return typeof value === 'object' && value !== null && 'cluster' in value
}

/**
 * Throws (naming `field`, e.g. `redis.cluster[1].port`) unless `nodes` is a non-empty array of
 * `{ host, port }` with a non-empty host and a port in 1..65535.
 */
export function assertClusterNodes(nodes: unknown, field = 'cluster'): void {
  if (!Array.isArray(nodes) || nodes.length === 0) {
    throw invalid(field, 'must be a non-empty array of { host, port }')
  }
  nodes.forEach((node: unknown, i) => {
    const { host, port } = (node ?? {}) as Partial<RedisClusterNode>
    if (typeof host !== 'string' || host.trim() === '') {
      throw invalid(
        `${field}[${i}].host`,
        `must be a non-empty string, got ${JSON.stringify(host)}`,
      )
    }
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65_535) {
      throw invalid(`${field}[${i}].port`, `must be an integer in 1..65535, got ${String(port)}`)
    }
  })
}

/**
 * Defaults of a `Cluster` the driver creates, in the spirit of `REDIS_CLIENT_DEFAULTS`: bounded
 * connection attempts, no auto-pipelining (ioredis routes an auto-pipelined EVALSHA by its SHA,
 * ioredis#2109), reads from masters only (a replica may lag: strict mode and the fence read
 * versions), and a few quick retries on MOVED/ASK/TRYAGAIN during failovers and migrations.
 */
export const CLUSTER_CLIENT_DEFAULTS: Readonly<ClusterOptions> = Object.freeze({
  scaleReads: 'master',
  enableAutoPipelining: false,
  maxRedirections: 16,
  retryDelayOnFailover: 100,
  retryDelayOnClusterDown: 100,
  retryDelayOnTryAgain: 100,
  redisOptions: { connectTimeout: 2_000, keepAlive: 10_000 },
  clusterRetryStrategy: (attempt: number) => Math.min(2_000, 50 * 2 ** Math.min(attempt, 6)),
})

/** A `Cluster` on `nodes`, with {@link CLUSTER_CLIENT_DEFAULTS} under the user's options. */
export function createClusterClient(
  nodes: readonly RedisClusterNode[],
  options: ClusterOptions = {},
): Cluster {
  assertClusterNodes(nodes)
  if (options.keyPrefix) throw invalid('clusterOptions.keyPrefix', 'is not supported; use prefix')
  const client = new (ioredis().Cluster)(
    nodes.map(({ host, port }) => ({ host, port })),
    {
      ...CLUSTER_CLIENT_DEFAULTS,
      ...options,
      redisOptions: { ...CLUSTER_CLIENT_DEFAULTS.redisOptions, ...options.redisOptions },
    },
  )
  // Errors reach callers as command rejections; without a listener ioredis prints each one.
  client.on('error', () => {})
  return client
}

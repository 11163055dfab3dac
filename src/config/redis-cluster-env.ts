/**
 * `REDIS_CLUSTER_NODES`: a Redis Cluster for the L2 tier, from the environment (read by
 * `cache-env.ts`). Errors are `ERR_INVALID_ENV` naming the variable, and the entry at fault.
 */
import type { RedisClusterConfig } from '../drivers/redis-cluster-client.js'
import {
  type Env,
  type EnvVariableDoc,
  envError,
  parseHostPorts,
  readString,
} from './env-parsers.js'

export const REDIS_CLUSTER_NODES = 'REDIS_CLUSTER_NODES'

export const REDIS_CLUSTER_ENV_DOC: EnvVariableDoc = Object.freeze({
  name: REDIS_CLUSTER_NODES,
  meaning:
    'A Redis Cluster for the L2 tier: nodes to start from (the client finds the others). REDIS_PASSWORD applies to every node; not with REDIS_URL, REDIS_HOST, REDIS_PORT or REDIS_DB.',
  unit: 'host:port,host:port',
  default: 'none',
  example: '10.0.0.1:7000,10.0.0.2:7000',
})

/**
 * The cluster `REDIS_CLUSTER_NODES` describes, or `undefined` when it is not set. `others` names
 * the single-server variables that are set: with a cluster they are an error (which one is
 * meant?), except `REDIS_PASSWORD`, which every node gets.
 */
export function readRedisClusterNodes(
  env: Env,
  others: { password?: string; set: readonly string[] },
): RedisClusterConfig | undefined {
  const text = readString(env, REDIS_CLUSTER_NODES)
  if (text === undefined) return undefined
  const conflicting = others.set[0]
  if (conflicting !== undefined) {
    throw envError(
      REDIS_CLUSTER_NODES,
      `conflicts with ${conflicting}: a cluster is given by its nodes only; unset ${conflicting}`,
    )
  }
  const config: RedisClusterConfig = { cluster: parseHostPorts(REDIS_CLUSTER_NODES, text) }
  if (others.password !== undefined) {
    config.clusterOptions = { redisOptions: { password: others.password } }
  }
  return config
}

/**
 * `REDIS_SENTINELS` and `REDIS_SENTINEL_NAME`: Redis Sentinel for the L2 tier, from the
 * environment (read by `cache-env.ts`). The sentinels say which server is the master; the client
 * asks them again after every disconnection and follows a failover. Errors are `ERR_INVALID_ENV`
 * naming the variable, and the entry at fault.
 */
import type { RedisOptions } from 'ioredis'
import {
  type Env,
  type EnvVariableDoc,
  envError,
  parseHostPorts,
  quoteEnvValue,
  readString,
} from './env-parsers.js'

export const REDIS_SENTINELS = 'REDIS_SENTINELS'
export const REDIS_SENTINEL_NAME = 'REDIS_SENTINEL_NAME'
/** The port a sentinel listens on when an entry gives none. */
const DEFAULT_SENTINEL_PORT = 26_379

export const REDIS_SENTINEL_ENV_DOCS: readonly EnvVariableDoc[] = Object.freeze([
  Object.freeze({
    name: REDIS_SENTINELS,
    meaning:
      'Redis Sentinel for the L2 tier: the sentinels to ask for the master (port 26379 when an entry gives none). Needs REDIS_SENTINEL_NAME; REDIS_PASSWORD and REDIS_DB apply to the master; not with REDIS_URL, REDIS_HOST or REDIS_PORT.',
    unit: 'host:port,host:port',
    default: 'none',
    example: '10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379',
  }),
  Object.freeze({
    name: REDIS_SENTINEL_NAME,
    meaning:
      'The master name the sentinels monitor (`sentinel monitor <name> ...`), with REDIS_SENTINELS.',
    unit: '',
    default: '',
    example: 'mymaster',
  }),
])

/**
 * The Sentinel connection the environment describes, or `undefined` when `REDIS_SENTINELS` is not
 * set. `others.set` names the variables set that would say where the server is (`REDIS_URL`,
 * `REDIS_HOST`, `REDIS_PORT`, `REDIS_CLUSTER_NODES`): with sentinels they are an error, since
 * the sentinels say it. `REDIS_PASSWORD` and `REDIS_DB` go to the master.
 */
export function readRedisSentinels(
  env: Env,
  others: { password?: string; db?: number; set: readonly string[] },
): RedisOptions | undefined {
  const text = readString(env, REDIS_SENTINELS)
  const name = readString(env, REDIS_SENTINEL_NAME)
  if (text === undefined) {
    if (name !== undefined) {
      throw envError(REDIS_SENTINEL_NAME, 'is set but REDIS_SENTINELS is not; set both, or neither')
    }
    return undefined
  }
  const conflicting = others.set[0]
  if (conflicting !== undefined) {
    throw envError(
      REDIS_SENTINELS,
      `conflicts with ${conflicting}: with Sentinel the sentinels say where the master is; unset ${conflicting}`,
    )
  }
  const sentinels = parseHostPorts(REDIS_SENTINELS, text, {
    defaultPort: DEFAULT_SENTINEL_PORT,
    unique: true,
  })
  if (name === undefined) {
    throw envError(
      REDIS_SENTINEL_NAME,
      'must be set when REDIS_SENTINELS is set: the name of the master the sentinels monitor',
    )
  }
  if (/\s/.test(name)) {
    throw envError(REDIS_SENTINEL_NAME, `${quoteEnvValue(name)} contains whitespace`)
  }
  const options: RedisOptions = { sentinels, name }
  if (others.password !== undefined) options.password = others.password
  if (others.db !== undefined) options.db = others.db
  return options
}

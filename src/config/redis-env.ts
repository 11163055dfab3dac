/**
 * Where the L2 Redis is, from the environment (read by `cache-env.ts`): one server
 * (`REDIS_URL`, or `REDIS_HOST` with `REDIS_PORT`/`REDIS_PASSWORD`/`REDIS_DB`), a Redis Cluster
 * (`REDIS_CLUSTER_NODES`), or Redis Sentinel (`REDIS_SENTINELS` and `REDIS_SENTINEL_NAME`: the
 * client asks the sentinels again after every disconnection and follows a failover). Errors are
 * `ERR_INVALID_ENV` naming the variable, and the entry at fault.
 */
import type { RedisOptions } from 'ioredis'
import type { RedisClusterConfig } from '../drivers/redis-cluster-client.js'
import {
  type Env,
  type EnvVariableDoc,
  envError,
  parseNonNegativeInt,
  parsePort,
  parseUrl,
  quoteEnvValue,
  readRaw,
  readString,
} from './env-parsers.js'

/** Port ioredis connects to when none is given. */
const DEFAULT_REDIS_PORT = 6379

const REDIS_CLUSTER_NODES = 'REDIS_CLUSTER_NODES'

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
function readRedisClusterNodes(
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

const REDIS_SENTINELS = 'REDIS_SENTINELS'
const REDIS_SENTINEL_NAME = 'REDIS_SENTINEL_NAME'
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
function readRedisSentinels(
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

/**
 * The servers of a `host:port,host:port` variable (IPv6 in brackets: `[::1]:7000`), or an error
 * naming the variable and the entry at fault. `defaultPort` lets an entry leave its port out;
 * `unique` refuses an entry listed twice.
 */
function parseHostPorts(
  name: string,
  text: string,
  rules: { defaultPort?: number; unique?: boolean } = {},
): { host: string; port: number }[] {
  const seen = new Set<string>()
  return text.split(',').map((raw, index) => {
    const entry = raw.trim()
    if (entry === '') throw envError(name, `entry ${index + 1} is empty`)
    const at = `entry ${index + 1} (${quoteEnvValue(entry)})`
    const match = /^(\[[^\]]+\]|[^:[\]\s/@]+)(?::(\d+))?$/.exec(entry)
    const given = match?.[2] ?? rules.defaultPort
    if (match === null || given === undefined) throw envError(name, `${at} is not host:port`)
    const port = Number(given)
    if (!Number.isInteger(port) || port < 1 || port > 65_535) {
      throw envError(name, `${at} has port ${given}, outside 1..65535`)
    }
    const host = match[1]!.replace(/^\[(.*)\]$/, '$1')
    const key = `${host.toLowerCase()}:${port}`
    if (rules.unique && seen.has(key))
      throw envError(name, `entry ${index + 1} (${key}) is listed twice`)
    seen.add(key)
    return { host, port }
  })
}

/** The Redis settings given as separate variables; only those that are set. */
interface RedisParts {
  host?: string
  port?: number
  password?: string
  db?: number
}

function readRedisHost(env: Env): string | undefined {
  const host = readString(env, 'REDIS_HOST')
  if (host === undefined) return undefined
  // Catch the two usual slips with a message that says where the value belongs.
  if (host.includes('://')) {
    throw envError('REDIS_HOST', `${quoteEnvValue(host)} is a URL; put it in REDIS_URL instead`)
  }
  if (/^[^:[\]]+:\d+$/.test(host)) {
    throw envError(
      'REDIS_HOST',
      `${quoteEnvValue(host)} includes a port; put the port in REDIS_PORT instead`,
    )
  }
  if (/[\s/@]/.test(host)) {
    throw envError('REDIS_HOST', `${quoteEnvValue(host)} is not a host name or IP address`)
  }
  return host
}

function readRedisParts(env: Env): RedisParts {
  const parts: RedisParts = {}
  const host = readRedisHost(env)
  const port = parsePort(env, 'REDIS_PORT')
  // A password is a secret: taken as written, and never quoted in a message.
  const password = readRaw(env, 'REDIS_PASSWORD')
  const db = parseNonNegativeInt(env, 'REDIS_DB')
  if (host !== undefined) parts.host = host
  if (port !== undefined) parts.port = port
  if (password !== undefined) parts.password = password
  if (db !== undefined) parts.db = db
  return parts
}

/** `[::1]` and `::1`, `LocalHost` and `localhost` name the same host. */
const normalizeHost = (h: string) => h.replace(/^\[(.*)\]$/, '$1').toLowerCase()

/**
 * Combines `REDIS_URL` with whatever of `REDIS_HOST/PORT/PASSWORD/DB` is also set. The URL is the
 * more specific setting (one value that says everything) and is what gets used; a separate
 * variable may fill in a part the URL leaves out (a common pattern: the URL in config, the password
 * in a secret store), but one that contradicts the URL is an error naming both.
 */
function mergeRedisUrl(urlText: string, parts: RedisParts): string {
  const url = new URL(urlText)
  const conflict = (variable: string, detail: string) =>
    envError('REDIS_URL', `conflicts with ${variable}: ${detail}; set only one, or make them agree`)

  if (parts.host !== undefined && normalizeHost(parts.host) !== normalizeHost(url.hostname)) {
    throw conflict(
      'REDIS_HOST',
      `the URL's host is ${quoteEnvValue(url.hostname)} but REDIS_HOST is ${quoteEnvValue(parts.host)}`,
    )
  }
  let changed = false
  if (parts.port !== undefined) {
    if (url.port === '') {
      url.port = String(parts.port)
      changed = true
    } else if (Number(url.port) !== parts.port) {
      throw conflict('REDIS_PORT', `the URL's port is ${url.port} but REDIS_PORT is ${parts.port}`)
    }
  }
  if (parts.password !== undefined) {
    if (url.password === '') {
      url.password = encodeURIComponent(parts.password)
      changed = true
    } else if (decodeURIComponent(url.password) !== parts.password) {
      // Neither password is shown: this message ends up in logs.
      throw conflict('REDIS_PASSWORD', 'the password in the URL differs from REDIS_PASSWORD')
    }
  }
  const path = url.pathname
  const urlDb = path === '' || path === '/' ? undefined : path.slice(1)
  if (urlDb !== undefined && !/^\d+$/.test(urlDb)) {
    // ioredis reads the path as the database index; anything else would fail at connect time.
    throw envError(
      'REDIS_URL',
      `path ${quoteEnvValue(path)} is not a database index (expected e.g. redis://host:6379/0)`,
    )
  }
  if (parts.db !== undefined) {
    if (urlDb === undefined) {
      url.pathname = `/${parts.db}`
      changed = true
    } else if (Number(urlDb) !== parts.db) {
      throw conflict('REDIS_DB', `the URL's database is ${urlDb} but REDIS_DB is ${parts.db}`)
    }
  }
  // Unchanged: hand back the user's own spelling rather than a re-serialised one.
  return changed ? url.href : urlText
}

/** The L2 connection the environment describes, or `undefined` when it describes none. */
export function readRedis(env: Env): string | RedisOptions | RedisClusterConfig | undefined {
  const url = parseUrl(env, 'REDIS_URL', { protocols: ['redis', 'rediss'] })
  const parts = readRedisParts(env)
  const single = {
    REDIS_URL: url,
    REDIS_HOST: parts.host,
    REDIS_PORT: parts.port,
    REDIS_DB: parts.db,
  }
  const set = Object.keys(single).filter((k) => single[k as keyof typeof single] !== undefined)
  const sentinel = readRedisSentinels(env, {
    password: parts.password,
    db: parts.db,
    set: ['REDIS_URL', 'REDIS_HOST', 'REDIS_PORT', 'REDIS_CLUSTER_NODES'].filter(
      (name) => readString(env, name) !== undefined,
    ),
  })
  if (sentinel !== undefined) return sentinel
  const cluster = readRedisClusterNodes(env, { password: parts.password, set })
  if (cluster !== undefined) return cluster
  if (url !== undefined) return mergeRedisUrl(url, parts)
  if (parts.host !== undefined) {
    const options: RedisOptions = { host: parts.host, port: parts.port ?? DEFAULT_REDIS_PORT }
    if (parts.password !== undefined) options.password = parts.password
    if (parts.db !== undefined) options.db = parts.db
    return options
  }
  // PORT/PASSWORD/DB without a host: Redis was meant, but where? Refusing beats silently running
  // memory-only (or guessing localhost) while the operator believes Redis is in use.
  const orphan = (['port', 'password', 'db'] as const).find((k) => parts[k] !== undefined)
  if (orphan !== undefined) {
    const variable = `REDIS_${orphan.toUpperCase()}`
    throw envError(variable, 'is set but neither REDIS_URL nor REDIS_HOST is; set one of them')
  }
  return undefined
}

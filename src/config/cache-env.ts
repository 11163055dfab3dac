/**
 * `CacheOptions` from environment variables: what
 * `CacheManager.fromEnv()` reads. Every variable has a fixed unit; every bad value
 * or contradiction is a `ValidationError` with code `ERR_INVALID_ENV` whose `field` is the
 * variable, so a misconfigured deployment fails at start-up instead of running with a guess.
 */
import type { CacheOptions } from '../cache/options.js'
import {
  type Env,
  type EnvVariableDoc,
  envError,
  parseBoolean,
  parseInteger,
  parsePositiveInt,
  parseSecondsAsMs,
  parseUrl,
  quoteEnvValue,
  readSpecificOrGeneral,
  readString,
} from './env-parsers.js'
import { REDIS_CLUSTER_ENV_DOC, REDIS_SENTINEL_ENV_DOCS, readRedis } from './redis-env.js'

/** Same bound as `CacheOptions.prefix` in `options.ts`, checked here so the error names the variable. */
const MAX_PREFIX_LENGTH = 256

/**
 * The cache's environment variables, in the order a reader needs them. The table in
 * docs/CONFIGURATION.md and any `--help` output are generated from this list (see `formatEnvTable`
 * and `formatEnvHelp` in `env-parsers.ts`), and a test checks the page shows it as generated.
 */
export const CACHE_ENV_VARIABLES: readonly EnvVariableDoc[] = Object.freeze(
  [
    {
      name: 'REDIS_URL',
      meaning:
        'Redis for the L2 tier. Parts it leaves out (port, password, database) may come from REDIS_PORT, REDIS_PASSWORD, REDIS_DB; parts both give must agree.',
      unit: 'redis:// or rediss:// URL',
      default: 'memory only',
      example: 'redis://localhost:6379/0',
    },
    {
      name: 'REDIS_HOST',
      meaning: 'Redis host for the L2 tier, when REDIS_URL is not used.',
      unit: 'host name or IP',
      default: 'memory only',
      example: 'localhost',
    },
    {
      name: 'REDIS_PORT',
      meaning: 'Redis port (with REDIS_HOST or REDIS_URL).',
      unit: 'TCP port',
      default: '6379',
    },
    {
      name: 'REDIS_PASSWORD',
      meaning: 'Redis password (with REDIS_HOST or REDIS_URL). Taken verbatim, not trimmed.',
      unit: '',
      default: 'none',
    },
    {
      name: 'REDIS_DB',
      meaning: 'Redis logical database index (with REDIS_HOST or REDIS_URL).',
      unit: 'integer >= 0',
      default: '0',
    },
    REDIS_CLUSTER_ENV_DOC,
    ...REDIS_SENTINEL_ENV_DOCS,
    {
      name: 'UPSTASH_REDIS_REST_URL',
      meaning:
        'Upstash REST endpoint, for the L2 tier over HTTP (needs the optional package @upstash/redis). Needs UPSTASH_REDIS_REST_TOKEN. Ignored when a Redis server is configured (REDIS_URL, REDIS_HOST...). No invalidation bus over REST: L1 entries then live at most 1 s unless consistency is strict.',
      unit: 'https:// URL',
      default: '',
    },
    {
      name: 'UPSTASH_REDIS_REST_TOKEN',
      meaning: 'Upstash REST token, with UPSTASH_REDIS_REST_URL.',
      unit: '',
      default: '',
    },
    {
      name: 'CACHE_ENABLED',
      meaning: 'false turns the cache into a pass-through: reads miss, writes are dropped.',
      unit: 'boolean',
      default: 'true',
    },
    {
      name: 'ENABLE_LOCAL_CACHE',
      meaning: 'false turns off the in-process L1 tier (needs Redis).',
      unit: 'boolean',
      default: 'true',
    },
    {
      name: 'ENABLE_REDIS_CACHE',
      meaning:
        'false ignores the Redis settings (memory only); true requires REDIS_URL, REDIS_HOST or REDIS_SENTINELS.',
      unit: 'boolean',
      default: 'on when Redis is configured',
    },
    {
      name: 'CACHE_TTL',
      meaning: 'Default TTL of an entry. Must agree with CACHE_DEFAULT_TTL if both set.',
      unit: 'ms',
      default: '3600000',
      example: '3600000',
    },
    {
      name: 'CACHE_DEFAULT_TTL',
      meaning: 'Default TTL of an entry. Must agree with CACHE_TTL if both set.',
      unit: 'seconds',
      default: '3600',
      example: '3600',
    },
    {
      name: 'CACHE_PREFIX',
      meaning: 'Prefix of every Redis key the cache writes; clear() removes this prefix only.',
      unit: '',
      default: 'stratacache:',
      example: 'myapp:',
    },
    {
      name: 'CACHE_COMPRESSION_THRESHOLD',
      meaning: 'L2 values whose encoded size exceeds this are compressed.',
      unit: 'bytes',
      default: '16384',
    },
  ].map((v) => Object.freeze(v)),
)

/** Checks the Upstash pair; returns it when fully configured. */
function readUpstash(env: Env): { url: string; token: string } | undefined {
  const url = parseUrl(env, 'UPSTASH_REDIS_REST_URL', { protocols: ['https', 'http'] })
  const token = readString(env, 'UPSTASH_REDIS_REST_TOKEN')
  if (url !== undefined && token === undefined) {
    throw envError('UPSTASH_REDIS_REST_TOKEN', 'must be set when UPSTASH_REDIS_REST_URL is set')
  }
  if (token !== undefined && url === undefined) {
    throw envError('UPSTASH_REDIS_REST_URL', 'must be set when UPSTASH_REDIS_REST_TOKEN is set')
  }
  return url === undefined || token === undefined ? undefined : { url, token }
}

function readPrefix(env: Env): string | undefined {
  const prefix = readString(env, 'CACHE_PREFIX')
  if (prefix !== undefined && prefix.length > MAX_PREFIX_LENGTH) {
    throw envError(
      'CACHE_PREFIX',
      `${quoteEnvValue(prefix)} is ${prefix.length} characters long; at most ${MAX_PREFIX_LENGTH} allowed`,
    )
  }
  return prefix
}

/**
 * Builds {@link CacheOptions} from environment variables (listed in docs/CONFIGURATION.md). Only
 * the options the environment sets appear in the result, so it can be spread over code defaults.
 * Nothing set gives `{}`: a memory-only cache.
 *
 * Decisions on variables that overlap:
 * - `REDIS_URL` and `REDIS_HOST`/`PORT`/`PASSWORD`/`DB`: the URL is used; the others may fill in
 *   what the URL leaves out; a contradiction is an error (`field` `REDIS_URL`, message names both).
 *   `REDIS_PORT`/`PASSWORD`/`DB` without a URL or host is an error.
 * - `CACHE_TTL` (ms) and `CACHE_DEFAULT_TTL` (seconds): either sets `ttl` (in ms); both set to
 *   different durations is an error (`field` `CACHE_TTL`, message names both).
 * - `ENABLE_REDIS_CACHE=false` wins over any Redis settings (they are still validated);
 *   `ENABLE_REDIS_CACHE=true` without `REDIS_URL`/`REDIS_HOST` is an error.
 * - `UPSTASH_REDIS_REST_URL`/`TOKEN` must come as a pair; they set `upstash` (the REST driver),
 *   and are ignored when `REDIS_URL`/`REDIS_HOST` is set or `ENABLE_REDIS_CACHE=false`.
 * - `ENABLE_LOCAL_CACHE=false` with no Redis is an error: the cache would have no tier.
 *
 * @throws {ValidationError} code `ERR_INVALID_ENV`, `field` = the variable at fault.
 *
 * @example
 * ```ts
 * cacheOptionsFromEnv({ REDIS_URL: 'redis://localhost:6379', CACHE_DEFAULT_TTL: '600' })
 * // { redis: 'redis://localhost:6379', ttl: 600000 }
 * ```
 */
export function cacheOptionsFromEnv(env: Env = process.env): CacheOptions {
  const options: CacheOptions = {}

  const enabled = parseBoolean(env, 'CACHE_ENABLED')
  if (enabled !== undefined) options.enabled = enabled

  const ttl = readSpecificOrGeneral(
    env,
    { name: 'CACHE_TTL', read: (e, n) => parsePositiveInt(e, n, 'ms') },
    { name: 'CACHE_DEFAULT_TTL', read: (e, n) => parseSecondsAsMs(e, n) },
  )
  if (ttl !== undefined) options.ttl = ttl

  const prefix = readPrefix(env)
  if (prefix !== undefined) options.prefix = prefix

  const threshold = parseInteger(env, 'CACHE_COMPRESSION_THRESHOLD', { min: 0, unit: 'bytes' })
  if (threshold !== undefined) options.compressionThreshold = threshold

  // Read every Redis-related variable before deciding anything, so that a bad value is reported
  // even when a switch would make it irrelevant: a typo should not wait for the day it matters.
  const redisEnabled = parseBoolean(env, 'ENABLE_REDIS_CACHE')
  const redis = readRedis(env)
  const upstash = readUpstash(env)

  let hasRedis: boolean
  if (redisEnabled === false) {
    options.redis = false
    hasRedis = false
  } else if (redis !== undefined) {
    options.redis = redis
    hasRedis = true
  } else if (upstash !== undefined) {
    options.upstash = upstash
    hasRedis = true
  } else if (redisEnabled === true) {
    throw envError(
      'ENABLE_REDIS_CACHE',
      'is true but no Redis is configured; set REDIS_URL, REDIS_HOST or REDIS_SENTINELS',
    )
  } else {
    hasRedis = false
  }

  const localEnabled = parseBoolean(env, 'ENABLE_LOCAL_CACHE')
  if (localEnabled === false && !hasRedis) {
    const why =
      redisEnabled === false ? 'ENABLE_REDIS_CACHE is false' : 'no REDIS_URL or REDIS_HOST is set'
    throw envError(
      'ENABLE_LOCAL_CACHE',
      `is false but ${why}: the cache would have no tier left; enable one of them`,
    )
  }
  if (localEnabled !== undefined) options.local = localEnabled

  return options
}

/**
 * The connection manager's settings from environment variables (the database ones):
 * `DATABASE_URL`, `DATABASE_POOL_SIZE` (a count) and `DATABASE_CONNECTION_TIMEOUT` (ms). A bad
 * value throws `ERR_INVALID_ENV` naming the variable.
 */
import {
  type Env,
  type EnvVariableDoc,
  envError,
  parseBoolean,
  parseInteger,
  parseUrl,
} from '../../config/env-parsers.js'

/** Largest accepted pool size: far above any PostgreSQL's `max_connections` worth using. */
export const MAX_POOL_SIZE = 1_000

/** The variables {@link connectionSettingsFromEnv} reads, for README tables and `--help`. */
export const CONNECTION_ENV_VARIABLES: readonly EnvVariableDoc[] = Object.freeze(
  [
    {
      name: 'DATABASE_URL',
      meaning: 'PostgreSQL connection string of the connection manager.',
      unit: 'URL',
      default: '',
      example: 'postgresql://app:secret@db:5432/shop',
    },
    {
      name: 'DATABASE_POOL_SIZE',
      meaning: `Most connections the pool opens (1-${MAX_POOL_SIZE}).`,
      unit: 'count',
      default: '10',
    },
    {
      name: 'DATABASE_CONNECTION_TIMEOUT',
      meaning: 'Longest wait to open a connection or get one from the full pool.',
      unit: 'ms',
      default: '5000',
    },
    {
      name: 'DATABASE_LOG_QUERIES',
      meaning: 'Log every statement (SQL and duration) with console.debug.',
      unit: 'boolean',
      default: 'false',
    },
    {
      name: 'DATABASE_LOG_QUERY_PARAMS',
      meaning: 'Add a bounded summary of the parameter values to the logged statements.',
      unit: 'boolean',
      default: 'false',
    },
  ].map((v) => Object.freeze(v)),
)

/** What the environment says; only what is set. */
export interface ConnectionEnvSettings {
  /** `DATABASE_URL`. */
  url?: string
  /** `DATABASE_POOL_SIZE`. */
  poolSize?: number
  /** `DATABASE_CONNECTION_TIMEOUT`, in ms. */
  connectionTimeoutMs?: number
  /** `DATABASE_LOG_QUERIES`. */
  logQueries?: boolean
  /** `DATABASE_LOG_QUERY_PARAMS`. */
  logQueryParams?: boolean
}

/**
 * Reads the variables of {@link CONNECTION_ENV_VARIABLES}.
 *
 * @example
 * ```ts
 * connectionSettingsFromEnv({ DATABASE_URL: 'postgresql://db/shop', DATABASE_POOL_SIZE: '20' })
 * // { url: 'postgresql://db/shop', poolSize: 20 }
 * ```
 */
export function connectionSettingsFromEnv(env: Env): ConnectionEnvSettings {
  const settings: ConnectionEnvSettings = {}
  const url = parseUrl(env, 'DATABASE_URL', { protocols: ['postgresql', 'postgres'] })
  if (url !== undefined) settings.url = url
  const poolSize = parseInteger(env, 'DATABASE_POOL_SIZE', {
    min: 1,
    max: MAX_POOL_SIZE,
    unit: 'connections',
  })
  if (poolSize !== undefined) settings.poolSize = poolSize
  // setTimeout's limit: pg's timer would fire at once above it.
  const timeout = parseInteger(env, 'DATABASE_CONNECTION_TIMEOUT', {
    min: 1,
    max: 2 ** 31 - 1,
    unit: 'ms',
  })
  if (timeout !== undefined) settings.connectionTimeoutMs = timeout
  const logQueries = parseBoolean(env, 'DATABASE_LOG_QUERIES')
  const logQueryParams = parseBoolean(env, 'DATABASE_LOG_QUERY_PARAMS')
  if (logQueryParams === true && logQueries !== true) {
    throw envError(
      'DATABASE_LOG_QUERY_PARAMS',
      'needs DATABASE_LOG_QUERIES=true (it adds the values to the logged queries)',
    )
  }
  if (logQueries !== undefined) settings.logQueries = logQueries
  if (logQueryParams !== undefined) settings.logQueryParams = logQueryParams
  return settings
}

/**
 * The Prisma extension's settings from environment variables (SPEC section 5, Prisma rows), each
 * in its seed's unit: switches, TTL classes in seconds (seed 004), the slow-query threshold in ms
 * (seed 003). A bad value or a contradiction throws `ERR_INVALID_ENV` naming the variable.
 */
import {
  type Env,
  type EnvVariableDoc,
  parseBoolean,
  parsePositiveInt,
  parseSecondsAsMs,
  readSpecificOrGeneral,
} from './env-parsers.js'

export const PRISMA_ENV_VARIABLES: readonly EnvVariableDoc[] = Object.freeze(
  [
    {
      name: 'ENABLE_QUERY_CACHE',
      meaning: 'false: Prisma reads are not cached (writes still invalidate). Seed 004.',
      unit: 'boolean',
      default: 'true',
    },
    {
      name: 'DATABASE_ENABLE_QUERY_CACHE',
      meaning: 'Same as ENABLE_QUERY_CACHE (seed 003); both set must agree.',
      unit: 'boolean',
      default: 'true',
    },
    {
      name: 'CACHE_TTL_L1',
      meaning: 'TTL of the `hot` strategy (seed 004: inventory, orders).',
      unit: 'seconds',
      default: '10',
    },
    {
      name: 'CACHE_TTL_L2',
      meaning: 'TTL of the `aggregation` strategy (count, aggregate, groupBy).',
      unit: 'seconds',
      default: '60',
    },
    {
      name: 'CACHE_TTL_L3',
      meaning: 'TTL of the `reference` strategy (seed 004: users, roles, permissions).',
      unit: 'seconds',
      default: '300',
    },
    {
      name: 'DATABASE_QUERY_CACHE_TTL',
      meaning: 'TTL of reads of models given no strategy (instead of the `hot` class). Seed 003.',
      unit: 'seconds',
      default: 'the hot TTL',
    },
    {
      name: 'DATABASE_MAX_QUERY_EXECUTION_TIME',
      meaning: 'Database calls slower than this go to the slow-query log.',
      unit: 'ms',
      default: '1000',
    },
  ].map((v) => Object.freeze(v)),
)

/** What the environment says; only what is set. Durations in ms. */
export interface PrismaEnvSettings {
  enabled?: boolean
  hotTtlMs?: number
  aggregationTtlMs?: number
  referenceTtlMs?: number
  defaultTtlMs?: number
  slowQueryMs?: number
}

/**
 * Reads the variables of {@link PRISMA_ENV_VARIABLES}.
 *
 * @example
 * ```ts
 * prismaSettingsFromEnv({ CACHE_TTL_L3: '600' }) // { referenceTtlMs: 600_000 }
 * ```
 */
export function prismaSettingsFromEnv(env: Env): PrismaEnvSettings {
  const settings: PrismaEnvSettings = {}
  const enabled = readSpecificOrGeneral(
    env,
    { name: 'DATABASE_ENABLE_QUERY_CACHE', read: parseBoolean },
    { name: 'ENABLE_QUERY_CACHE', read: parseBoolean },
  )
  if (enabled !== undefined) settings.enabled = enabled
  const put = (key: keyof PrismaEnvSettings, value: number | undefined) => {
    if (value !== undefined) (settings as Record<string, number>)[key] = value
  }
  put('hotTtlMs', parseSecondsAsMs(env, 'CACHE_TTL_L1'))
  put('aggregationTtlMs', parseSecondsAsMs(env, 'CACHE_TTL_L2'))
  put('referenceTtlMs', parseSecondsAsMs(env, 'CACHE_TTL_L3'))
  put('defaultTtlMs', parseSecondsAsMs(env, 'DATABASE_QUERY_CACHE_TTL'))
  put('slowQueryMs', parsePositiveInt(env, 'DATABASE_MAX_QUERY_EXECUTION_TIME', 'ms'))
  return settings
}

/**
 * The Prisma extension's settings from environment variables, each in its own unit: switches,
 * TTL classes in seconds, the slow-query threshold in ms. A bad value or a contradiction throws
 * `ERR_INVALID_ENV` naming the variable.
 */
import {
  type Env,
  type EnvVariableDoc,
  parseBoolean,
  parseEnum,
  parsePositiveInt,
  parseSecondsAsMs,
  readSpecificOrGeneral,
} from './env-parsers.js'

export const PRISMA_ENV_VARIABLES: readonly EnvVariableDoc[] = Object.freeze(
  [
    {
      name: 'ENABLE_QUERY_CACHE',
      meaning: 'false: Prisma reads are not cached (writes still invalidate).',
      unit: 'boolean',
      default: 'true',
    },
    {
      name: 'DATABASE_ENABLE_QUERY_CACHE',
      meaning: 'Same as ENABLE_QUERY_CACHE; both set must agree.',
      unit: 'boolean',
      default: 'true',
    },
    {
      name: 'CACHE_TTL_L1',
      meaning: 'TTL of the `hot` strategy (e.g. inventory, orders).',
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
      meaning: 'TTL of the `reference` strategy (e.g. users, roles, permissions).',
      unit: 'seconds',
      default: '300',
    },
    {
      name: 'DATABASE_QUERY_CACHE_TTL',
      meaning: 'TTL of reads of models given no strategy (instead of the `hot` class).',
      unit: 'seconds',
      default: 'the hot TTL',
    },
    {
      name: 'CACHE_STRATEGY_ENTITIES',
      meaning:
        'TTL class of record reads (findUnique, findFirst) of models given no strategy: short (the hot TTL), medium (the aggregation TTL) or long (the reference TTL).',
      unit: 'short, medium or long',
      default: 'the default strategy',
    },
    {
      name: 'CACHE_STRATEGY_QUERIES',
      meaning: 'TTL class of list reads (findMany) of models given no strategy.',
      unit: 'short, medium or long',
      default: 'the default strategy',
    },
    {
      name: 'CACHE_STRATEGY_AGGREGATIONS',
      meaning: 'TTL class of count, aggregate and groupBy, for every model.',
      unit: 'short, medium or long',
      default: 'medium',
    },
    {
      name: 'CACHE_STRATEGY_USER_SESSIONS',
      meaning:
        'TTL class of the reads of models named Session or ending in Session, when given no strategy.',
      unit: 'short, medium or long',
      default: 'the default strategy',
    },
    {
      name: 'DATABASE_MAX_QUERY_EXECUTION_TIME',
      meaning: 'Database calls slower than this go to the slow-query log.',
      unit: 'ms',
      default: '1000',
    },
    {
      name: 'CACHE_CHANGE_FEED',
      meaning:
        'The change feed, when withCache is given no changeFeed option: logical (logical replication), notify (triggers and LISTEN/NOTIFY), auto (logical when the server allows it, else notify) or off. Needs DIRECT_DATABASE_URL.',
      unit: 'logical, notify, auto or off',
      default: 'off',
    },
    {
      name: 'DIRECT_DATABASE_URL',
      meaning:
        "The change feed's connection: straight to the primary, not through a pooler (replication and LISTEN need a session of their own).",
      unit: 'postgresql:// URL',
      default: 'none',
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
  /** The classes the CACHE_STRATEGY_* variables choose, by kind of read. */
  entitiesClass?: StrategyClass
  queriesClass?: StrategyClass
  aggregationsClass?: StrategyClass
  sessionsClass?: StrategyClass
}

/** The Prisma extension's TTL classes (`StrategyClass` of `withCache`'s options). */
type StrategyClass = 'hot' | 'aggregation' | 'reference'

/** `short`, `medium` and `long` are the hot, aggregation and reference classes' TTLs. */
const CLASS_OF_LENGTH: Record<'short' | 'medium' | 'long', StrategyClass> = {
  short: 'hot',
  medium: 'aggregation',
  long: 'reference',
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
  const classOf = (name: string) => {
    const length = parseEnum(env, name, ['short', 'medium', 'long'] as const)
    return length === undefined ? undefined : CLASS_OF_LENGTH[length]
  }
  const classes = {
    entitiesClass: classOf('CACHE_STRATEGY_ENTITIES'),
    queriesClass: classOf('CACHE_STRATEGY_QUERIES'),
    aggregationsClass: classOf('CACHE_STRATEGY_AGGREGATIONS'),
    sessionsClass: classOf('CACHE_STRATEGY_USER_SESSIONS'),
  }
  for (const [key, value] of Object.entries(classes)) {
    if (value !== undefined) (settings as Record<string, unknown>)[key] = value
  }
  return settings
}

/**
 * The change feed's options (`withCache({ changeFeed })`), validated when the extension is made,
 * and their defaults from the environment (`CACHE_CHANGE_FEED`, `DIRECT_DATABASE_URL`).
 */

import { type Env, envError, parseEnum, parseUrl } from '../../config/env-parsers.js'
import { invalid } from '../../errors.js'
import { checkChoice, checkNumber, checkObject, checkString } from '../../option-checks.js'

/** How the feed reads the database's changes. */
export type ChangeFeedMode = 'logical' | 'notify'

/** Options of the change feed: invalidation from every write the database commits. */
export interface ChangeFeedOptions {
  /**
   * A direct connection to the primary (not through a pooler such as PgBouncer: replication and
   * `LISTEN` need a session of their own). Required, or `DIRECT_DATABASE_URL`.
   */
  connectionString?: string
  /**
   * `logical`: PostgreSQL's logical replication (`pgoutput`), durable: a change is acknowledged
   * to the slot only once its invalidation reached Redis, so nothing committed is lost when
   * consumers crash. Needs `wal_level = logical` and the `REPLICATION` attribute.
   * `notify`: triggers and `LISTEN/NOTIFY`, for servers where logical replication is not
   * available; notices sent while no consumer listens are lost, so a consumer that (re)connects
   * invalidates every cached read first.
   * @default logical when the server allows it, else notify (the start-up log says which, and why)
   */
  mode?: ChangeFeedMode
  /**
   * The replication slot (logical mode), created on first start.
   * @default `stratacache_<namespace>`
   */
  slot?: string
  /**
   * The publication (logical mode), created on first start for the schema's tables; tables added
   * to the schema later are added to it.
   * @default `stratacache_<namespace>`
   */
  publication?: string
  /**
   * The `NOTIFY` channel and the prefix of the triggers' names (notify mode).
   * @default `stratacache_<namespace>`
   */
  channel?: string
  /**
   * The PostgreSQL schema of models without `@@schema`.
   * @default the connection string's `?schema=`, else `public`
   */
  schema?: string
  /**
   * How often a standby instance tries to become the consumer, in ms. One instance consumes
   * (it holds an advisory lock); when it dies, another takes over within about this long.
   * @default 1000
   */
  takeoverInterval?: number
  /**
   * Changed rows of one model in one transaction past which the model is invalidated as a whole
   * (a bulk load invalidates once, with two tags instead of tags per row).
   * @default 100
   */
  maxRowsPerModel?: number
  /**
   * Slot lag, in bytes of WAL, past which a warning is logged: a consumer that is down or stuck
   * makes PostgreSQL keep WAL for the slot (without bound unless `max_slot_wal_keep_size` is set).
   * @default 1 GiB
   */
  lagWarningBytes?: number
}

const OPTION_NAMES: readonly (keyof ChangeFeedOptions)[] = [
  'connectionString',
  'mode',
  'slot',
  'publication',
  'channel',
  'schema',
  'takeoverInterval',
  'maxRowsPerModel',
  'lagWarningBytes',
]
const IDENTIFIER = {
  pattern: /^[a-z_][a-z0-9_]{0,62}$/,
  what: 'a lower-case identifier of at most 63 characters',
}

/** The types and ranges of `given`; the first fault names its field (`options.changeFeed.slot`). */
function checkOptions(given: unknown): asserts given is ChangeFeedOptions {
  const at = (name: string) => `options.changeFeed.${name}`
  checkObject(given, 'options.changeFeed', OPTION_NAMES)
  checkString(given.connectionString, at('connectionString'), {
    pattern: /^postgres(ql)?:\/\//,
    what: 'a postgresql:// URL',
  })
  checkChoice(given.mode, at('mode'), ['logical', 'notify'])
  checkString(given.slot, at('slot'), IDENTIFIER)
  checkString(given.publication, at('publication'), IDENTIFIER)
  // The triggers are named `<channel>` and `<channel>_truncate`: both must fit in 63 characters.
  checkString(given.channel, at('channel'), {
    pattern: /^[a-z_][a-z0-9_]{0,53}$/,
    what: 'a lower-case identifier of at most 54 characters',
  })
  checkString(given.schema, at('schema'), { maxLength: 63 })
  checkNumber(given.takeoverInterval, at('takeoverInterval'), {
    min: 10,
    max: 600_000,
    integer: true,
  })
  checkNumber(given.maxRowsPerModel, at('maxRowsPerModel'), {
    min: 1,
    max: 1_000_000,
    integer: true,
  })
  checkNumber(given.lagWarningBytes, at('lagWarningBytes'), { min: 1, integer: true })
}

/** The options with every default filled in. */
export type ResolvedChangeFeedOptions = Required<Omit<ChangeFeedOptions, 'mode'>> & {
  mode: ChangeFeedMode | undefined
}

/**
 * The feed's options: `given` (`withCache`'s `changeFeed`), else the environment's. `undefined`
 * when there is to be no feed (`changeFeed: false`, or neither given nor `CACHE_CHANGE_FEED`).
 * A bad option throws a `ValidationError` naming it (`options.changeFeed.slot`).
 */
export function resolveChangeFeedOptions(
  given: ChangeFeedOptions | false | undefined,
  env: Env,
  namespace: string,
): ResolvedChangeFeedOptions | undefined {
  if (given === false) return undefined
  let options: ChangeFeedOptions
  if (given === undefined) {
    const mode = parseEnum(env, 'CACHE_CHANGE_FEED', ['logical', 'notify', 'auto', 'off'] as const)
    if (mode === undefined || mode === 'off') return undefined
    options = mode === 'auto' ? {} : { mode }
  } else {
    checkOptions(given)
    options = given
  }
  const connectionString =
    options.connectionString ??
    parseUrl(env, 'DIRECT_DATABASE_URL', { protocols: ['postgresql', 'postgres'] })
  if (connectionString === undefined) {
    throw given === undefined
      ? envError('DIRECT_DATABASE_URL', 'is not set; the change feed needs a direct connection')
      : invalid('options.changeFeed.connectionString', 'is required (or DIRECT_DATABASE_URL)')
  }
  const name = `stratacache_${namespace.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 63)
  return {
    connectionString,
    mode: options.mode,
    slot: options.slot ?? name,
    publication: options.publication ?? name,
    channel: options.channel ?? name.slice(0, 54),
    schema: options.schema ?? schemaOf(connectionString),
    takeoverInterval: options.takeoverInterval ?? 1000,
    maxRowsPerModel: options.maxRowsPerModel ?? 100,
    lagWarningBytes: options.lagWarningBytes ?? 1024 ** 3,
  }
}

/** The `?schema=` of a Prisma-style connection string, else `public`. */
function schemaOf(connectionString: string): string {
  try {
    return new URL(connectionString).searchParams.get('schema') ?? 'public'
  } catch {
    return 'public'
  }
}

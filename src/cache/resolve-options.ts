/**
 * What `new CacheManager(options)` and `initialize(options)` make of what they are given: the
 * types and ranges of each option checked by hand (see option-checks.ts for why not a schema
 * library), then defaults applied and durations converted to the {@link ResolvedOptions} the
 * engine reads.
 */
import type { Cluster, Redis } from 'ioredis'
import type { InvalidationBus } from '../drivers/bus.js'
import type { L2Driver } from '../drivers/l2-driver.js'
import { assertClusterNodes, isClusterConfig } from '../drivers/redis-cluster-client.js'
import { ErrorCodes, invalid } from '../errors.js'
import {
  checkBoolean,
  checkChoice,
  checkDuration,
  checkNumber,
  checkObject,
  checkString,
  describeValue,
  isRecord,
} from '../option-checks.js'
import { type CacheLogger, type CacheOptions, DEFAULTS, type ResolvedOptions } from './options.js'
import { type Duration, toMs, toMsOptional } from './validate.js'

const isObject = (v: unknown): v is object => typeof v === 'object' && v !== null
const isRedisClient = (v: unknown): v is Redis | Cluster =>
  isObject(v) && typeof (v as Redis).sendCommand === 'function'
const isL2Driver = (v: unknown): v is L2Driver =>
  isObject(v) &&
  typeof (v as L2Driver).get === 'function' &&
  typeof (v as L2Driver).getMany === 'function'

export const isBus = (v: unknown): v is InvalidationBus =>
  isObject(v) &&
  typeof (v as InvalidationBus).publish === 'function' &&
  typeof (v as InvalidationBus).onMessage === 'function'

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const

const isLogger = (v: unknown): v is CacheLogger =>
  isObject(v) &&
  LOG_LEVELS.some((level) => typeof (v as Record<string, unknown>)[level] === 'function')

const OPTION_NAMES: readonly (keyof CacheOptions)[] = [
  'enabled',
  'ttl',
  'defaultTtl',
  'prefix',
  'local',
  'redis',
  'upstash',
  'l2',
  'commandTimeout',
  'circuitBreaker',
  'maxPendingInvalidations',
  'compression',
  'enableCompression',
  'compressionThreshold',
  'maxKeyLength',
  'maxValueBytes',
  'bus',
  'consistency',
  'lease',
  'earlyRefresh',
  'fenceWindow',
  'untrustedLocalTtl',
  'clockSkew',
  'logger',
]
const POSITIVE = { min: 1, integer: true }

function checkLocal(local: unknown, at: string): void {
  if (local === undefined || typeof local === 'boolean') return
  checkObject(local, at, ['maxEntries', 'maxBytes', 'ttl', 'shareReferences'])
  checkNumber(local.maxEntries, `${at}.maxEntries`, POSITIVE)
  checkNumber(local.maxBytes, `${at}.maxBytes`, POSITIVE)
  checkDuration(local.ttl, `${at}.ttl`)
  checkBoolean(local.shareReferences, `${at}.shareReferences`)
}

function checkSecondTier(o: Record<string, unknown>, root: string): void {
  const { redis, upstash, l2 } = o
  if (typeof redis === 'string') checkString(redis, `${root}.redis`)
  else if (redis !== undefined && redis !== false && !isRedisClient(redis) && !isRecord(redis)) {
    throw invalid(
      `${root}.redis`,
      `must be a redis:// URL, ioredis options, { cluster }, an ioredis client or false, got ${describeValue(redis)}`,
    )
  }
  if (upstash !== undefined) {
    checkObject(upstash, `${root}.upstash`, ['url', 'token'])
    checkString(upstash.url, `${root}.upstash.url`, {
      pattern: /^https?:\/\/\S+$/,
      what: 'the https:// REST URL of the database',
    })
    if (typeof upstash.token !== 'string' || upstash.token.trim() === '') {
      throw invalid(`${root}.upstash.token`, 'must be a non-empty string')
    }
  }
  if (l2 !== undefined && !isL2Driver(l2)) {
    throw invalid(`${root}.l2`, 'must implement L2Driver (get, getMany, set...)')
  }
}

/**
 * Checks the types and ranges of user options; the first fault becomes a {@link ValidationError}
 * whose `field` is the option's path (e.g. `options.local.maxEntries`). Durations' values and the
 * options' combinations are checked where they are resolved ({@link resolveOptions}).
 */
export function validateOptions(input: unknown, root = 'options'): CacheOptions {
  if (input === undefined) return {}
  checkObject(input, root, OPTION_NAMES)
  const o = input
  const at = (name: string) => `${root}.${name}`
  for (const name of ['enabled', 'compression', 'enableCompression'] as const) {
    checkBoolean(o[name], at(name))
  }
  const durations = [
    'ttl',
    'defaultTtl',
    'commandTimeout',
    'fenceWindow',
    'untrustedLocalTtl',
    'clockSkew',
  ] as const
  for (const name of durations) checkDuration(o[name], at(name))
  checkString(o.prefix, at('prefix'), { maxLength: 256 })
  if (o.local !== undefined && typeof o.local !== 'boolean' && !isRecord(o.local)) {
    throw invalid(at('local'), `must be true, false or an object, got ${describeValue(o.local)}`)
  }
  checkLocal(o.local, at('local'))
  checkSecondTier(o, root)
  if (o.circuitBreaker !== undefined) {
    checkObject(o.circuitBreaker, at('circuitBreaker'), ['failureThreshold', 'openDuration'])
    checkNumber(o.circuitBreaker.failureThreshold, at('circuitBreaker.failureThreshold'), POSITIVE)
    checkDuration(o.circuitBreaker.openDuration, at('circuitBreaker.openDuration'))
  }
  checkNumber(o.maxPendingInvalidations, at('maxPendingInvalidations'), POSITIVE)
  checkNumber(o.compressionThreshold, at('compressionThreshold'), { min: 0, integer: true })
  checkNumber(o.maxKeyLength, at('maxKeyLength'), { ...POSITIVE, max: 512 * 1024 })
  checkNumber(o.maxValueBytes, at('maxValueBytes'), { ...POSITIVE, max: 512 * 1024 * 1024 })
  if (o.bus !== undefined && typeof o.bus !== 'boolean' && !isBus(o.bus)) {
    if (!isRecord(o.bus)) {
      throw invalid(at('bus'), 'must be true, false, { heartbeat } or an InvalidationBus')
    }
    checkObject(o.bus, at('bus'), ['heartbeat'])
    checkDuration(o.bus.heartbeat, at('bus.heartbeat'))
  }
  checkChoice(o.consistency, at('consistency'), ['eventual', 'strict'])
  if (o.lease !== false) checkDuration(o.lease, at('lease'))
  if (o.earlyRefresh !== false)
    checkNumber(o.earlyRefresh, at('earlyRefresh'), { min: 0, max: 100 })
  if (o.logger !== undefined && !isLogger(o.logger)) {
    throw invalid(at('logger'), 'must have debug, info, warn or error methods (pino, console)')
  }
  return input as CacheOptions
}

/** Applies defaults and converts durations; `base` is what `initialize()` merges onto. */
export function resolveOptions(input: CacheOptions, base?: CacheOptions): ResolvedOptions {
  const given = validateOptions(input)
  const o: CacheOptions = { ...base, ...given }
  // `local: true` (as presets say) means "on", not "on with default limits": keep the base's limits.
  if (given.local === true && typeof base?.local === 'object') o.local = base.local
  const ttlMs = resolveTtl(o)
  const localInput = o.local === undefined || o.local === true ? {} : o.local
  const local =
    localInput === false
      ? (false as const)
      : {
          maxEntries: localInput.maxEntries ?? DEFAULTS.maxEntries,
          maxBytes: localInput.maxBytes ?? DEFAULTS.maxBytes,
          shareReferences: localInput.shareReferences ?? false,
          ttlMs: toMsOptional(localInput.ttl, 'local.ttl'),
        }
  const redis = o.redis ?? false
  if (isClusterConfig(redis)) assertClusterNodes(redis.cluster, 'redis.cluster')
  if (o.upstash !== undefined && (redis !== false || o.l2 !== undefined)) {
    throw invalid(
      'upstash',
      `cannot be given with ${redis !== false ? 'redis' : 'l2'}: give one second tier`,
    )
  }
  if (local === false && redis === false && o.l2 === undefined && o.upstash === undefined) {
    throw invalid('local', 'cannot be false without redis or l2: the cache would have no tier')
  }
  const commandTimeoutMs = toMs(o.commandTimeout ?? DEFAULTS.commandTimeout, 'commandTimeout')
  if (commandTimeoutMs === 0) throw invalid('commandTimeout', 'must be greater than 0')
  if (
    o.compression !== undefined &&
    o.enableCompression !== undefined &&
    o.compression !== o.enableCompression
  ) {
    throw invalid('enableCompression', 'conflicts with compression; give one of them')
  }
  const compression = o.compression ?? o.enableCompression ?? true
  const fenceWindowMs = positiveMs(o.fenceWindow ?? DEFAULTS.fenceWindow, 'fenceWindow')
  // The default yields to a shorter fenceWindow; a clockSkew given must fit inside it.
  const clockSkewMs =
    o.clockSkew === undefined
      ? Math.min(Math.ceil(toMs(DEFAULTS.clockSkew, 'clockSkew')), fenceWindowMs)
      : Math.ceil(toMs(o.clockSkew, 'clockSkew'))
  if (clockSkewMs > fenceWindowMs) {
    throw invalid('clockSkew', `must be at most fenceWindow (${fenceWindowMs} ms)`)
  }
  return {
    enabled: o.enabled ?? true,
    ttlMs,
    prefix: o.prefix ?? DEFAULTS.prefix,
    local,
    redis,
    upstash: o.upstash,
    l2: o.l2,
    commandTimeoutMs,
    breaker: {
      failureThreshold: o.circuitBreaker?.failureThreshold ?? DEFAULTS.failureThreshold,
      openMs: toMs(
        o.circuitBreaker?.openDuration ?? DEFAULTS.openDuration,
        'circuitBreaker.openDuration',
      ),
    },
    maxPendingInvalidations: o.maxPendingInvalidations ?? DEFAULTS.maxPendingInvalidations,
    compressionThreshold: compression
      ? (o.compressionThreshold ?? DEFAULTS.compressionThreshold)
      : Number.POSITIVE_INFINITY,
    maxKeyLength: o.maxKeyLength ?? DEFAULTS.maxKeyLength,
    maxValueBytes: o.maxValueBytes ?? DEFAULTS.maxValueBytes,
    bus: resolveBus(o.bus),
    strict: o.consistency === 'strict',
    leaseMs: o.lease === false ? 0 : toMs(o.lease ?? DEFAULTS.lease, 'lease'),
    earlyRefreshBeta: o.earlyRefresh === false ? 0 : (o.earlyRefresh ?? DEFAULTS.earlyRefresh),
    fenceWindowMs,
    untrustedLocalTtlMs: positiveMs(
      o.untrustedLocalTtl ?? DEFAULTS.untrustedLocalTtl,
      'untrustedLocalTtl',
    ),
    clockSkewMs,
    logger: o.logger,
  }
}

function resolveTtl(o: CacheOptions): number {
  const ttl = o.ttl === undefined ? undefined : toMs(o.ttl, 'ttl')
  const defaultTtl = o.defaultTtl === undefined ? undefined : toMs(o.defaultTtl, 'defaultTtl')
  if (ttl !== undefined && defaultTtl !== undefined && ttl !== defaultTtl) {
    throw invalid(
      'defaultTtl',
      `is ${defaultTtl} ms but ttl is ${ttl} ms; give one of them`,
      ErrorCodes.INVALID_TTL,
    )
  }
  const ms = ttl ?? defaultTtl ?? toMs(DEFAULTS.ttl, 'ttl')
  if (ms === 0)
    throw invalid(
      ttl === undefined ? 'defaultTtl' : 'ttl',
      'must be greater than 0',
      ErrorCodes.INVALID_TTL,
    )
  return ms
}

function resolveBus(bus: CacheOptions['bus']): ResolvedOptions['bus'] {
  if (bus === false) return false
  if (bus === undefined || bus === true)
    return { heartbeatMs: toMs(DEFAULTS.heartbeat, 'bus.heartbeat') }
  if (isBus(bus)) return bus
  return { heartbeatMs: positiveMs(bus.heartbeat ?? DEFAULTS.heartbeat, 'bus.heartbeat') }
}

function positiveMs(value: Duration, field: string): number {
  const ms = toMs(value, field)
  if (ms === 0) throw invalid(field, 'must be greater than 0', ErrorCodes.INVALID_TTL)
  return ms
}

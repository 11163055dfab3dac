/**
 * The checks `new CacheManager(options)` and `initialize(options)` run on what they are given:
 * the types and ranges of each option, by hand (see option-checks.ts for why not a schema library).
 */
import type { Cluster, Redis } from 'ioredis'
import type { InvalidationBus } from '../drivers/bus.js'
import type { L2Driver } from '../drivers/l2-driver.js'
import { invalid } from '../errors.js'
import {
  checkBoolean,
  checkChoice,
  checkDuration,
  checkNumber,
  checkObject,
  checkString,
  describeValue,
  isPlainObject,
} from '../option-checks.js'
import type { CacheLogger, CacheOptions } from './options.js'

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
  else if (
    redis !== undefined &&
    redis !== false &&
    !isRedisClient(redis) &&
    !isPlainObject(redis)
  ) {
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
  if (o.local !== undefined && typeof o.local !== 'boolean' && !isPlainObject(o.local)) {
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
    if (!isPlainObject(o.bus)) {
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

import { RESERVED_KEY_PREFIX } from '../drivers/l2-driver.js'
import { ErrorCodes, invalid, type ValidationError } from '../errors.js'

/** A duration in milliseconds, or a string such as `'250ms'`, `'10s'`, `'5m'`, `'1h'`, `'1d'`. */
export type Duration = number | string

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }
const DURATION = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/

/**
 * Converts a {@link Duration} to milliseconds, rejecting negatives, NaN, infinities and unknown
 * units with an `ERR_INVALID_TTL` error that names `field`.
 */
export function toMs(value: Duration, field: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) {
      throw invalid(
        field,
        `must be a finite number >= 0 (ms), got ${String(value)}`,
        ErrorCodes.INVALID_TTL,
      )
    }
    return value
  }
  if (typeof value === 'string') {
    const match = DURATION.exec(value)
    if (match) return Number(match[1]) * UNIT_MS[match[2]!]!
    throw invalid(
      field,
      `"${value}" is not a duration like 500, '10s', '5m', '1h'`,
      ErrorCodes.INVALID_TTL,
    )
  }
  throw invalid(
    field,
    `must be a number of ms or a duration string, got ${typeof value}`,
    ErrorCodes.INVALID_TTL,
  )
}

/** Like {@link toMs} for an optional value: `undefined` stays `undefined`. */
export function toMsOptional(value: Duration | undefined, field: string): number | undefined {
  return value === undefined ? undefined : toMs(value, field)
}

const MAX_TAG_LENGTH = 512

function keyError(field: string, key: unknown, maxKeyLength: number): ValidationError {
  if (typeof key !== 'string') {
    return invalid(
      field,
      `must be a string, got ${key === null ? 'null' : typeof key}`,
      ErrorCodes.INVALID_KEY,
    )
  }
  if (key.length === 0) return invalid(field, 'must not be empty', ErrorCodes.INVALID_KEY)
  if (key.startsWith(RESERVED_KEY_PREFIX)) {
    return invalid(
      field,
      `must not start with "${RESERVED_KEY_PREFIX}" (reserved for the tag index)`,
      ErrorCodes.INVALID_KEY,
    )
  }
  return invalid(
    field,
    `is ${key.length} characters, longer than maxKeyLength ${maxKeyLength}`,
    ErrorCodes.INVALID_KEY,
  )
}

/** Throws `ERR_INVALID_KEY` unless `key` is a non-empty string of at most `maxKeyLength` chars. */
export function assertKey(
  key: unknown,
  maxKeyLength: number,
  field = 'key',
): asserts key is string {
  if (
    typeof key !== 'string' ||
    key.length === 0 ||
    key.length > maxKeyLength ||
    (key.charCodeAt(0) === 95 /* _ */ && key.startsWith(RESERVED_KEY_PREFIX))
  ) {
    throw keyError(field, key, maxKeyLength)
  }
}

/** Validates a list of keys, naming the position of the first bad one (`keys[3]`). */
export function assertKeys(
  keys: unknown,
  maxKeyLength: number,
  field = 'keys',
): asserts keys is string[] {
  if (!Array.isArray(keys)) throw invalid(field, 'must be an array of keys', ErrorCodes.INVALID_KEY)
  for (let i = 0; i < keys.length; i++) assertKey(keys[i], maxKeyLength, `${field}[${i}]`)
}

/** Normalises `tag | tag[] | undefined` into a deduplicated array; each tag a non-empty string. */
export function normalizeTags(tags: unknown, field = 'tags'): readonly string[] {
  if (tags === undefined) return EMPTY
  const list = typeof tags === 'string' ? [tags] : tags
  if (!Array.isArray(list)) throw invalid(field, 'must be a string or an array of strings')
  if (list.length === 0) return EMPTY
  for (let i = 0; i < list.length; i++) {
    const tag = list[i]
    if (typeof tag !== 'string' || tag.length === 0 || tag.length > MAX_TAG_LENGTH) {
      throw invalid(
        `${field}[${i}]`,
        `must be a non-empty string of at most ${MAX_TAG_LENGTH} characters`,
      )
    }
  }
  return list.length === 1 ? list : [...new Set(list as string[])]
}

/** A TTL option: absent → `fallback`; otherwise a duration > 0. */
export function ttlOrDefault(value: Duration | undefined, fallback: number, field = 'ttl'): number {
  if (value === undefined) return fallback
  const ms = toMs(value, field)
  if (ms === 0) throw invalid(field, 'must be greater than 0', ErrorCodes.INVALID_TTL)
  return ms
}

/** An options bag: absent or a plain object. */
export function assertOptionsObject(value: unknown, field: string): void {
  if (
    value !== undefined &&
    (typeof value !== 'object' || value === null || Array.isArray(value))
  ) {
    throw invalid(field, 'must be an object')
  }
}

/**
 * Throws a `ValidationError` naming `cache` unless `value` has each of `methods`: a
 * `CacheManager`, or an object that stands in for the part of it the caller uses.
 */
export function assertCacheLike(value: unknown, methods: readonly string[]): void {
  const object = value as Record<string, unknown> | null
  if (
    typeof object !== 'object' ||
    object === null ||
    methods.some((method) => typeof object[method] !== 'function')
  ) {
    throw invalid('cache', 'must be a CacheManager')
  }
}

export const EMPTY: readonly string[] = Object.freeze([])

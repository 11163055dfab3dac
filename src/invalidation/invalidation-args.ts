import type { CacheManager } from '../cache/cache-manager.js'
import type { Duration } from '../cache/validate.js'
import { assertCacheLike, assertKey, normalizeTags } from '../cache/validate.js'
import { ErrorCodes, invalid } from '../errors.js'
import type {
  CacheInvalidationOptions,
  DependencyInvalidationOptions,
  WarmEntryOptions,
} from './invalidation-types.js'
import { positiveMs } from './warming-config.js'

// Argument validation of CacheInvalidation's constructor and methods: every
// error is a ValidationError naming the argument or option at fault.

const OPTION_FIELDS = new Set(['events', 'maxDependencies'])
const CACHE_METHODS = ['set', 'delete', 'invalidateByTag', 'invalidateByPattern', 'on', 'off']
// Type, emptiness and the reserved prefix are checked here; length by the cache when it stores
// or deletes (only it knows its `maxKeyLength`).
const ANY_LENGTH = Number.MAX_SAFE_INTEGER

/** Checks the constructor's arguments; `maxDependencies` is checked by the graph itself. */
export function assertConstructorArgs(
  cache: CacheManager,
  options: CacheInvalidationOptions,
): void {
  assertCacheLike(cache, CACHE_METHODS)
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalid('options', 'must be an object { events?, maxDependencies? }')
  }
  for (const field of Object.keys(options)) {
    if (!OPTION_FIELDS.has(field)) throw invalid(field, 'is not a CacheInvalidation option')
  }
  const { events } = options
  if (
    events !== undefined &&
    (typeof events !== 'object' || events === null || typeof events.on !== 'function')
  ) {
    throw invalid('events', 'must be an event emitter with an on(event, listener) method')
  }
}

/** `key | key[]` as an array of valid keys; errors name `field` or `field[i]`. */
export function keyList(value: unknown, field: string): string[] {
  if (typeof value === 'string') {
    assertKey(value, ANY_LENGTH, field)
    return [value]
  }
  if (!Array.isArray(value)) {
    throw invalid(field, 'must be a key or an array of keys', ErrorCodes.INVALID_KEY)
  }
  value.forEach((key, i) => {
    assertKey(key, ANY_LENGTH, `${field}[${i}]`)
  })
  return [...(value as string[])]
}

/** `registerDependency`'s arguments: the dependents as a list, none of them the parent itself. */
export function dependencyEdgeArgs(
  parent: string,
  dependent: string | readonly string[],
): string[] {
  assertKey(parent, ANY_LENGTH, 'parent')
  const list = keyList(dependent, 'dependent')
  const self = list.indexOf(parent)
  if (self !== -1) {
    const field = typeof dependent === 'string' ? 'dependent' : `dependent[${self}]`
    throw invalid(field, `"${parent}" cannot depend on itself`)
  }
  return list
}

/** `unregisterDependency`'s arguments: a parent key, and a dependent key unless omitted. */
export function assertDependencyKeys(parent: string, dependent: string | undefined): void {
  assertKey(parent, ANY_LENGTH, 'parent')
  if (dependent !== undefined) assertKey(dependent, ANY_LENGTH, 'dependent')
}

/** The `includeParent` option of `invalidateByDependency`, default `true`. */
export function includeParentOption(options: DependencyInvalidationOptions): boolean {
  if (typeof options !== 'object' || options === null) throw invalid('options', 'must be an object')
  const { includeParent = true } = options
  if (typeof includeParent !== 'boolean') {
    throw invalid('options.includeParent', 'must be a boolean')
  }
  return includeParent
}

/** Validates `warmCacheEntry`'s arguments; the third is a TTL or `{ ttl?, tags?, timeout? }`. */
export function warmEntryArgs(
  key: unknown,
  compute: unknown,
  ttlOrOptions: Duration | WarmEntryOptions | undefined,
): { ttlMs: number | undefined; tags: readonly string[]; timeoutMs: number | undefined } {
  assertKey(key, ANY_LENGTH, 'key')
  if (typeof compute !== 'function') throw invalid('compute', 'must be a function')
  const options: WarmEntryOptions =
    typeof ttlOrOptions === 'object' && ttlOrOptions !== null ? ttlOrOptions : { ttl: ttlOrOptions }
  return {
    ttlMs: options.ttl === undefined ? undefined : positiveMs(options.ttl, 'ttl'),
    tags: normalizeTags(options.tags, 'tags'),
    timeoutMs: options.timeout === undefined ? undefined : positiveMs(options.timeout, 'timeout'),
  }
}

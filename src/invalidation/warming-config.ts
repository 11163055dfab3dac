import { assertKey, type Duration, normalizeTags, toMs } from '../cache/validate.js'
import { ErrorCodes, invalid } from '../errors.js'

/**
 * One entry kept warm by {@link CacheInvalidation.setupCacheWarming}.
 *
 * @example
 * ```ts
 * const item: WarmingItem = {
 *   key: 'featured-products',
 *   compute: () => prisma.product.findMany({ where: { featured: true }, take: 10 }),
 *   ttl: '1h',
 *   tags: ['products'],
 * }
 * ```
 */
export interface WarmingItem<T = unknown> {
  /** The cache key the value is stored under. */
  key: string
  /** Produces the value; may be async. Its errors are counted, never thrown into the timer. */
  compute: () => T | PromiseLike<T>
  /**
   * Lifetime of the stored value.
   * @default the cache's `ttl`
   */
  ttl?: Duration
  /** Tags stored with the value, for `invalidateByTag`. */
  tags?: string | readonly string[]
}

/**
 * The warming schedule of {@link CacheInvalidation.setupCacheWarming}.
 *
 * @example
 * ```ts
 * invalidation.setupCacheWarming({ enabled: true, interval: '5m', items, concurrency: 2 })
 * ```
 */
export interface CacheWarmingConfig {
  /**
   * `false` stops any running schedule and starts none.
   * @default true
   */
  enabled: boolean
  /** Time between the end of one warming round and the start of the next. Must be > 0. */
  interval: Duration
  /** The entries to keep warm; keys must be distinct. */
  items: readonly WarmingItem[]
  /**
   * Spread of each delay, as a fraction of `interval` (0..1): the delay is drawn uniformly from
   * `interval × (1 ± jitter)`, so that many instances started together do not hit the database in
   * lockstep.
   * @default 0.1
   */
  jitter?: number
  /**
   * Most computations running at once.
   * @default 4
   */
  concurrency?: number
  /**
   * Run a round immediately rather than after the first interval.
   * @default true
   */
  runOnStart?: boolean
  /**
   * A computation still running after this long counts as failed (`ERR_LOADER_TIMEOUT`) and its
   * late value is dropped, so that one hung query cannot stall the schedule.
   * @default interval
   */
  timeout?: Duration
}

/** A validated item. */
export interface ResolvedWarmingItem {
  key: string
  compute: () => unknown
  ttlMs: number | undefined
  tags: readonly string[]
}

/** A validated configuration, durations in ms. */
export interface ResolvedWarmingConfig {
  enabled: boolean
  intervalMs: number
  items: readonly ResolvedWarmingItem[]
  jitter: number
  concurrency: number
  runOnStart: boolean
  timeoutMs: number
}

const CONFIG_FIELDS = new Set([
  'enabled',
  'interval',
  'items',
  'jitter',
  'concurrency',
  'runOnStart',
  'timeout',
])
const ITEM_FIELDS = new Set(['key', 'compute', 'ttl', 'tags'])
// The cache checks key length against its own `maxKeyLength` when storing.
const ANY_LENGTH = Number.MAX_SAFE_INTEGER

/** A positive duration in ms; errors name `field`. */
export function positiveMs(value: Duration, field: string): number {
  const ms = toMs(value, field)
  if (ms === 0) throw invalid(field, 'must be greater than 0', ErrorCodes.INVALID_TTL)
  return ms
}

/** Validates a warming configuration; every error names its field (`config.items[2].ttl`). */
export function resolveWarmingConfig(config: unknown): ResolvedWarmingConfig {
  const c = asObject(config, 'config', CONFIG_FIELDS)
  if (c.enabled !== undefined && typeof c.enabled !== 'boolean') {
    throw invalid('config.enabled', 'must be a boolean')
  }
  if (c.interval === undefined)
    throw invalid('config.interval', 'is required', ErrorCodes.INVALID_TTL)
  const intervalMs = positiveMs(c.interval as Duration, 'config.interval')
  if (!Array.isArray(c.items)) throw invalid('config.items', 'must be an array of items')
  const seen = new Set<string>()
  const items = c.items.map((raw, i) => {
    const field = `config.items[${i}]`
    const item = asObject(raw, field, ITEM_FIELDS)
    assertKey(item.key, ANY_LENGTH, `${field}.key`)
    if (seen.has(item.key)) throw invalid(`${field}.key`, `"${item.key}" is listed twice`)
    seen.add(item.key)
    if (typeof item.compute !== 'function') throw invalid(`${field}.compute`, 'must be a function')
    return {
      key: item.key,
      compute: item.compute as () => unknown,
      ttlMs: item.ttl === undefined ? undefined : positiveMs(item.ttl as Duration, `${field}.ttl`),
      tags: normalizeTags(item.tags, `${field}.tags`),
    }
  })
  const jitter = c.jitter ?? 0.1
  if (typeof jitter !== 'number' || !(jitter >= 0 && jitter <= 1)) {
    throw invalid('config.jitter', `must be a number from 0 to 1, got ${String(jitter)}`)
  }
  const concurrency = c.concurrency ?? 4
  if (!Number.isSafeInteger(concurrency) || (concurrency as number) < 1) {
    throw invalid('config.concurrency', `must be a positive integer, got ${String(concurrency)}`)
  }
  if (c.runOnStart !== undefined && typeof c.runOnStart !== 'boolean') {
    throw invalid('config.runOnStart', 'must be a boolean')
  }
  return {
    enabled: c.enabled ?? true,
    intervalMs,
    items,
    jitter,
    concurrency: concurrency as number,
    runOnStart: c.runOnStart ?? true,
    timeoutMs:
      c.timeout === undefined ? intervalMs : positiveMs(c.timeout as Duration, 'config.timeout'),
  }
}

function asObject(
  value: unknown,
  field: string,
  allowed: ReadonlySet<string>,
): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(field, 'must be an object')
  }
  for (const key of Object.keys(value)) {
    // A misspelt option (`intervall`) would otherwise be ignored without a word.
    if (!allowed.has(key)) throw invalid(`${field}.${key}`, 'is not a known option')
  }
  return value as Record<string, unknown>
}

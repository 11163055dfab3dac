import { invalid } from '../../errors.js'
import { describeValue, isRecord } from '../../option-checks.js'
import type { NPlusOneOptions, NPlusOneReport, NPlusOneSettings } from './n-plus-one.js'
import type { SlowQueryEntry } from './slow-queries.js'

/** Options of {@link QueryMetrics}. Every one is optional and validated at construction. */
export interface QueryMetricsOptions {
  /**
   * Database calls slower than this (ms) go to the slow-query log. Default 1000. (The
   * `DATABASE_MAX_QUERY_EXECUTION_TIME` variable is read by the configuration layer, not here.)
   */
  slowQueryMs?: number
  /**
   * Slow calls kept, the latest first dropped last (a ring buffer).
   * @default 100; 0 keeps none
   */
  maxSlowQueries?: number
  /**
   * N+1 detection settings, or `false` to turn it off.
   * @default on, with the defaults below
   */
  nPlusOne?: NPlusOneOptions | false
  /** Called with each slow call, synchronously; errors it throws are ignored. */
  onSlowQuery?: (entry: SlowQueryEntry) => void
  /** Called with each N+1 report, synchronously; errors it throws are ignored. */
  onNPlusOne?: (report: NPlusOneReport) => void
}

/** @internal Options after validation and defaults. */
export interface MetricsSettings {
  slowQueryMs: number
  maxSlowQueries: number
  nPlusOne: NPlusOneSettings | undefined
  onSlowQuery: ((entry: SlowQueryEntry) => void) | undefined
  onNPlusOne: ((report: NPlusOneReport) => void) | undefined
}

const MAX_LIST = 100_000

function number(value: unknown, field: string, fallback: number, min: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw invalid(field, `must be a finite number >= ${min}, got ${describeValue(value)}`)
  }
  return value
}

function integer(value: unknown, field: string, fallback: number, min: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > MAX_LIST) {
    throw invalid(
      field,
      `must be an integer from ${min} to ${MAX_LIST}, got ${describeValue(value)}`,
    )
  }
  return value
}

function boolean(value: unknown, field: string, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean')
    throw invalid(field, `must be a boolean, got ${describeValue(value)}`)
  return value
}

function callback<F>(value: unknown, field: string): F | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'function') {
    throw invalid(field, `must be a function, got ${describeValue(value)}`)
  }
  return value as F
}

function frames(value: unknown, field: string): readonly (string | RegExp)[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) throw invalid(field, 'must be an array of strings or RegExps')
  value.forEach((item, i) => {
    if (typeof item !== 'string' && !(item instanceof RegExp)) {
      throw invalid(`${field}[${i}]`, `must be a string or a RegExp, got ${describeValue(item)}`)
    }
  })
  return [...value]
}

function nPlusOneSettings(value: unknown, field: string): NPlusOneSettings | undefined {
  if (value === false) return undefined
  if (value !== undefined && !isRecord(value)) {
    throw invalid(field, `must be an options object or false, got ${describeValue(value)}`)
  }
  const options = value ?? {}
  return {
    threshold: integer(options.threshold, `${field}.threshold`, 10, 2),
    windowMs: number(options.windowMs, `${field}.windowMs`, 50, 1),
    burst: boolean(options.burst, `${field}.burst`, true),
    maxReports: integer(options.maxReports, `${field}.maxReports`, 100, 0),
    includeCacheHits: boolean(options.includeCacheHits, `${field}.includeCacheHits`, true),
    relationHint: callback(options.relationHint, `${field}.relationHint`),
    ignoreFrames: frames(options.ignoreFrames, `${field}.ignoreFrames`),
  }
}

/**
 * Validates {@link QueryMetricsOptions} and fills in the defaults. Throws a `ValidationError`
 * (`ERR_INVALID_OPTION`) whose `field` names the bad option, e.g. `nPlusOne.threshold`, under
 * `root` when given (`options.metrics.nPlusOne.threshold` for `withCache`'s `metrics`).
 *
 * @example
 * ```ts
 * resolveMetricsOptions({ slowQueryMs: 200 }).maxSlowQueries // 100
 * ```
 */
export function resolveMetricsOptions(options: unknown, root?: string): MetricsSettings {
  const at = (name: string) => (root === undefined ? name : `${root}.${name}`)
  if (options === undefined) options = {}
  if (!isRecord(options)) {
    throw invalid(root ?? 'options', `must be an object, got ${describeValue(options)}`)
  }
  return {
    slowQueryMs: number(options.slowQueryMs, at('slowQueryMs'), 1000, 0),
    maxSlowQueries: integer(options.maxSlowQueries, at('maxSlowQueries'), 100, 0),
    nPlusOne: nPlusOneSettings(options.nPlusOne, at('nPlusOne')),
    onSlowQuery: callback(options.onSlowQuery, at('onSlowQuery')),
    onNPlusOne: callback(options.onNPlusOne, at('onNPlusOne')),
  }
}

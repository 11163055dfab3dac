import { ErrorCodes, invalid } from '../errors.js'

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

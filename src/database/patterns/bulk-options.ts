/**
 * The options every bulk operation shares (`batchSize`, `onProgress`), read from an options
 * object or from a positional batch size (`bulkUpdate(prisma.product, updates, 50)`),
 * and the batching loop's progress reporting.
 */
import { invalid } from '../../errors.js'
import { integerIn, optionalFunction, optionsObject } from './options.js'
import type { BulkProgress, ProgressCallback } from './types.js'

/** Rows per batch when none is given: a few round trips for thousands of rows. */
export const DEFAULT_BATCH_SIZE = 500
/** PostgreSQL takes at most 65535 bind parameters per statement; stay well under. */
export const MAX_BATCH_SIZE = 10_000

/** Options of every bulk operation. */
export interface BatchOptions {
  /** Rows per batch (one statement each; one transaction each for updates). Default 500. */
  batchSize?: number
  /** Called after each batch with `{ done, total, batch }`. */
  onProgress?: ProgressCallback
}

/** The bulk options in `value`: a number (the batch size) or an options object. */
export function batchOptionsOf(
  value: unknown,
  field: string,
): { settings: Record<string, unknown>; batchSize: number; onProgress?: ProgressCallback } {
  if (typeof value === 'number') {
    return { settings: {}, batchSize: integerIn(value, field, 1, MAX_BATCH_SIZE) }
  }
  const settings = optionsObject(value, field)
  const batchSize = integerIn(
    settings.batchSize,
    `${field}.batchSize`,
    1,
    MAX_BATCH_SIZE,
    DEFAULT_BATCH_SIZE,
  )
  const onProgress = optionalFunction<ProgressCallback>(settings.onProgress, `${field}.onProgress`)
  return onProgress === undefined ? { settings, batchSize } : { settings, batchSize, onProgress }
}

/** An array argument, each element an object (`rows[3]` named when one is not). */
export function arrayOfObjects(value: unknown, field: string): Record<string, unknown>[] {
  if (!Array.isArray(value)) throw invalid(field, 'must be an array')
  value.forEach((item, i) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw invalid(`${field}[${i}]`, 'must be an object')
    }
  })
  return value as Record<string, unknown>[]
}

/** Reports one finished batch (a throwing callback stops the operation, as documented). */
export function report(onProgress: ProgressCallback | undefined, progress: BulkProgress): void {
  onProgress?.(progress)
}

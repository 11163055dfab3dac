/**
 * Bulk writes in batches: inserts (`createMany` per batch), updates (`updateMany` calls, a
 * `$transaction` per batch) and deletes (by primary key, batch after batch), with the options
 * they share (`batchSize`, `onProgress`, or a positional batch size) and progress reporting.
 *
 * Each batch is atomic; batches before a failing one stay (the progress callback has said how
 * far it got). A delete reads the keys of up to `batchSize` matching rows, then deletes (or
 * soft-deletes) those rows if they still match, until none match: short statements keep locks
 * and WAL bursts small on large deletes. A soft delete sets `isDeleted: true` and/or
 * `deletedAt: <one time for the whole call>` on the rows not yet soft-deleted, so the count is
 * the rows this call deleted and earlier deletion times are kept.
 */
import { invalid } from '../../errors.js'
import { isRecord } from '../../option-checks.js'
import type { ModelNode } from '../../prisma/schema/model-graph.js'
import type { PatternContext } from './context.js'
import { allOf, notDeletedWhere, primaryKeyOf, softDeleteFieldsOf } from './fields.js'
import {
  integerIn,
  nonEmptyWhere,
  optionalBoolean,
  optionalFunction,
  optionsObject,
} from './query-patterns-options.js'
import type { BulkProgress, BulkResult, ProgressCallback, RuntimeDelegate } from './types.js'

/** Rows per batch when none is given: a few round trips for thousands of rows. */
const DEFAULT_BATCH_SIZE = 500
/** PostgreSQL takes at most 65535 bind parameters per statement; stay well under. */
const MAX_BATCH_SIZE = 10_000

/** Options of every bulk operation. */
export interface BatchOptions {
  /** Rows per batch (one statement each; one transaction each for updates). Default 500. */
  batchSize?: number
  /** Called after each batch with `{ done, total, batch }`. */
  onProgress?: ProgressCallback
}

/** The bulk options in `value`: a number (the batch size) or an options object. */
function batchOptionsOf(
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
function arrayOfObjects(value: unknown, field: string): Record<string, unknown>[] {
  if (!Array.isArray(value)) throw invalid(field, 'must be an array')
  value.forEach((item, i) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw invalid(`${field}[${i}]`, 'must be an object')
    }
  })
  return value as Record<string, unknown>[]
}

/** Reports one finished batch (a throwing callback stops the operation, as documented). */
function report(onProgress: ProgressCallback | undefined, progress: BulkProgress): void {
  onProgress?.(progress)
}

/** What {@link bulkCreate} returns; `rows` with `returnRows: true`. */
export interface BulkCreateOutcome {
  count: number
  batches: number
  rows?: unknown[]
}

/** See `QueryPatterns.bulkCreate`. */
export async function bulkCreate(
  context: PatternContext,
  delegate: unknown,
  rows: unknown,
  options: unknown,
): Promise<BulkCreateOutcome> {
  context.modelOf(delegate)
  const data = arrayOfObjects(rows, 'rows')
  const { settings, batchSize, onProgress } = batchOptionsOf(options, 'options')
  const skipDuplicates = optionalBoolean(settings.skipDuplicates, 'options.skipDuplicates')
  const returnRows = optionalBoolean(settings.returnRows, 'options.returnRows') ?? false
  const models = delegate as RuntimeDelegate
  const created: unknown[] = []
  let count = 0
  let batches = 0
  for (let start = 0; start < data.length; start += batchSize) {
    const args = {
      data: data.slice(start, start + batchSize),
      ...(skipDuplicates === undefined ? {} : { skipDuplicates }),
    }
    if (returnRows) {
      const batchRows = await models.createManyAndReturn(args)
      created.push(...batchRows)
      count += batchRows.length
    } else {
      count += (await models.createMany(args)).count
    }
    batches++
    report(onProgress, { done: start + args.data.length, total: data.length, batch: batches })
  }
  return returnRows ? { count, batches, rows: created } : { count, batches }
}

/** See `QueryPatterns.bulkUpdate`. */
export async function bulkUpdate(
  context: PatternContext,
  delegate: unknown,
  updates: unknown,
  options: unknown,
): Promise<BulkResult> {
  context.modelOf(delegate)
  const list = arrayOfObjects(updates, 'updates')
  list.forEach((update, i) => {
    nonEmptyWhere(update.where, `updates[${i}].where`)
    if (!isRecord(update.data) || Object.keys(update.data).length === 0) {
      throw invalid(`updates[${i}].data`, 'must be an object with at least one field to set')
    }
  })
  const { batchSize, onProgress } = batchOptionsOf(options, 'options')
  const models = delegate as RuntimeDelegate
  let count = 0
  let batches = 0
  for (let start = 0; start < list.length; start += batchSize) {
    const batch = list.slice(start, start + batchSize)
    const results = (await context.batch(
      batch.map((update) => models.updateMany({ where: update.where, data: update.data })),
    )) as { count: number }[]
    for (const result of results) count += result.count
    batches++
    report(onProgress, { done: start + batch.length, total: list.length, batch: batches })
  }
  return { count, batches }
}

/** See `QueryPatterns.bulkDelete`. */
export async function bulkDelete(
  context: PatternContext,
  delegate: unknown,
  where: unknown,
  options: unknown,
  batchSizeArgument: unknown,
): Promise<BulkResult> {
  const model = context.modelOf(delegate)
  const filter = nonEmptyWhere(where, 'where')
  // The positional form: bulkDelete(model, where, softDelete, batchSize).
  const positional = typeof options === 'boolean'
  const { settings, batchSize, onProgress } = positional
    ? {
        settings: { softDelete: options },
        batchSize: integerIn(batchSizeArgument, 'batchSize', 1, MAX_BATCH_SIZE, DEFAULT_BATCH_SIZE),
        onProgress: undefined,
      }
    : batchOptionsOf(options, 'options')
  const softDelete = optionalBoolean(settings.softDelete, 'options.softDelete') ?? false
  const softData = softDelete
    ? softDeleteData(model, positional ? 'softDelete' : 'options.softDelete')
    : undefined
  const matching = allOf(filter, softDelete ? notDeletedWhere(model) : undefined)
  const keyFields = primaryKeyOf(model)
  const models = delegate as RuntimeDelegate
  let total = await models.count({ where: matching })
  let count = 0
  let batches = 0
  for (;;) {
    const keys = (await models.findMany({
      where: matching,
      select: Object.fromEntries(keyFields.map((name) => [name, true])),
      orderBy: keyFields.map((name) => ({ [name]: 'asc' })),
      take: batchSize,
    })) as Record<string, unknown>[]
    if (keys.length === 0) break
    // Re-checking `matching` leaves a row that changed since it was read.
    const batchWhere = allOf(matching, keyCondition(keyFields, keys))
    const { count: deleted } =
      softData === undefined
        ? await models.deleteMany({ where: batchWhere })
        : await models.updateMany({ where: batchWhere, data: softData })
    count += deleted
    batches++
    total = Math.max(total, count)
    report(onProgress, { done: count, total, batch: batches })
  }
  return { count, batches }
}

/** The data of a soft delete on `model`, or a `ValidationError` when it has no such field. */
function softDeleteData(model: ModelNode, field: string): Record<string, unknown> {
  const fields = softDeleteFieldsOf(model)
  if (fields === undefined) {
    throw invalid(
      field,
      `${model.name} cannot be soft-deleted: it has no isDeleted (Boolean) or deletedAt (DateTime?) field`,
    )
  }
  const now = new Date()
  return {
    ...(fields.isDeleted ? { isDeleted: true } : {}),
    ...(fields.deletedAt ? { deletedAt: now } : {}),
  }
}

/** The rows with these primary keys: `{ id: { in } }`, or an OR of compound keys. */
function keyCondition(fields: readonly string[], keys: Record<string, unknown>[]): object {
  if (fields.length === 1) {
    const name = fields[0]!
    return { [name]: { in: keys.map((key) => key[name]) } }
  }
  return { OR: keys }
}

/**
 * Bulk deletes in batches by primary key: read the keys of up to `batchSize` matching rows,
 * delete (or soft-delete) those rows if they still match, repeat until none match. Short
 * statements keep locks and WAL bursts small on large deletes, and progress can be reported.
 * A soft delete sets `isDeleted: true` and/or `deletedAt: <one time for the whole call>` on the
 * rows not yet soft-deleted, so the count is the rows this call deleted and earlier deletion
 * times are kept.
 */
import { invalid } from '../../errors.js'
import type { ModelNode } from '../../prisma/schema/model-graph.js'
import { batchOptionsOf, DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE, report } from './bulk-options.js'
import type { PatternContext } from './context.js'
import { allOf, notDeletedWhere, primaryKeyOf, softDeleteFieldsOf } from './fields.js'
import { integerIn, nonEmptyWhere, optionalBoolean } from './options.js'
import type { BulkResult, RuntimeDelegate } from './types.js'

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

/**
 * Bulk updates: a list of `{ where, data }`, run as `updateMany` calls in batches, each batch in
 * one `$transaction([...])` so it applies entirely or not at all.
 */
import { invalid } from '../../errors.js'
import { isRecord } from '../../prisma/is-record.js'
import { arrayOfObjects, batchOptionsOf, report } from './bulk-options.js'
import type { PatternContext } from './context.js'
import { nonEmptyWhere } from './options.js'
import type { BulkResult, RuntimeDelegate } from './types.js'

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

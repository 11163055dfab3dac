/**
 * Bulk inserts: `createMany` per batch of rows. Each batch is one statement, so it is all in or
 * all out; batches before a failing one stay (the progress callback has said how far it got).
 */

import { arrayOfObjects, batchOptionsOf, report } from './bulk-options.js'
import type { PatternContext } from './context.js'
import { optionalBoolean } from './options.js'
import type { RuntimeDelegate } from './types.js'

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

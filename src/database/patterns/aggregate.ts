/**
 * Grouped aggregates (`groupBy`) with every field name checked: the grouping fields and the
 * fields inside `_count`, `_sum`, `_avg`, `_min`, `_max` must be scalar fields of the model (and
 * numbers for `_sum` / `_avg`), so a report endpoint cannot be made to group by a column the
 * code did not mean to expose.
 */
import { invalid } from '../../errors.js'
import { isRecord } from '../../option-checks.js'
import type { ModelNode } from '../../prisma/schema/model-graph.js'
import type { PatternContext } from './context.js'
import { type AllowedFields, allowedFieldsOf, numericField, scalarField } from './fields.js'
import { optionsObject, whereObject } from './query-patterns-options.js'
import type { RuntimeDelegate } from './types.js'

const AGGREGATES = ['_count', '_sum', '_avg', '_min', '_max'] as const
const NUMERIC_ONLY: ReadonlySet<string> = new Set(['_sum', '_avg'])

/** See `QueryPatterns.aggregate`. */
export async function aggregate(
  context: PatternContext,
  delegate: unknown,
  groupBy: unknown,
  where: unknown,
  aggregations: unknown,
  options: unknown,
): Promise<unknown[]> {
  const model = context.modelOf(delegate)
  const settings = optionsObject(options, 'options')
  const allowed = allowedFieldsOf(model, settings.allowedFields, 'options.allowedFields')
  const names = typeof groupBy === 'string' ? [groupBy] : groupBy
  if (!Array.isArray(names) || names.length === 0) {
    throw invalid('groupBy', 'must be a field name or a non-empty array of field names')
  }
  const by = names.map(
    (name, i) =>
      scalarField(model, name, typeof groupBy === 'string' ? 'groupBy' : `groupBy[${i}]`, allowed)
        .name,
  )
  const filter = whereObject(where, 'where')
  const wanted = checkAggregations(model, aggregations, allowed)
  return (delegate as RuntimeDelegate).groupBy({
    by,
    ...(filter === undefined ? {} : { where: filter }),
    ...wanted,
    orderBy: by.map((name) => ({ [name]: 'asc' })),
  })
}

function checkAggregations(
  model: ModelNode,
  aggregations: unknown,
  allowed: AllowedFields,
): Record<string, unknown> {
  if (aggregations === undefined) return { _count: true }
  if (!isRecord(aggregations)) {
    throw invalid(
      'aggregations',
      'must be an object such as { _count: true, _sum: { total: true } }',
    )
  }
  for (const [kind, fields] of Object.entries(aggregations)) {
    const at = `aggregations.${kind}`
    if (!(AGGREGATES as readonly string[]).includes(kind)) {
      throw invalid(at, `is not an aggregate (one of: ${AGGREGATES.join(', ')})`)
    }
    if (kind === '_count' && fields === true) continue
    if (!isRecord(fields) || Object.keys(fields).length === 0) {
      throw invalid(
        at,
        `must be an object of field names set to true${kind === '_count' ? ', or true' : ''}`,
      )
    }
    for (const [name, on] of Object.entries(fields)) {
      if (kind === '_count' && name === '_all') continue
      if (NUMERIC_ONLY.has(kind)) numericField(model, name, `${at}.${name}`, allowed)
      else scalarField(model, name, `${at}.${name}`, allowed)
      if (on !== true) throw invalid(`${at}.${name}`, 'must be true')
    }
  }
  return aggregations
}

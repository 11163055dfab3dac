/**
 * The advice printed with an N+1 report: which single query would replace the repeated ones. Built
 * only when a report is made, so it may allocate freely.
 */
import { isRecord } from '../../option-checks.js'
import type { ModelGraph } from '../schema/model-graph.js'

/**
 * Tells the detector which parent relation a repeated query walks, when the caller knows the
 * schema: given the model queried and its `where`, return `'Parent.relation'` (e.g.
 * `'Product.reviews'` for `review.findMany({ where: { productId } })`), or just the relation name,
 * or `undefined` when there is none.
 */
export type RelationHint = (model: string, where: Record<string, unknown>) => string | undefined

/**
 * A {@link RelationHint} answered from the schema's foreign keys: `review.findMany({ where: {
 * productId } })` run once per product walks `Product.reviews`.
 */
export function relationHintOf(graph: ModelGraph): RelationHint {
  return (model, where) => {
    const node = graph.model(model)
    if (node === undefined) return undefined
    for (const relation of node.relations.values()) {
      const key = relation.foreignKey
      if (!relation.holdsForeignKey || key.length !== 1 || !(key[0]! in where)) continue
      const parent = graph.model(relation.target)
      for (const back of parent?.relations.values() ?? []) {
        if (back.name === relation.name && back.target === model && back.field !== relation.field) {
          return `${parent!.name}.${back.field}`
        }
      }
    }
    return undefined
  }
}

const FIND_ONE = new Set(['findUnique', 'findUniqueOrThrow', 'findFirst', 'findFirstOrThrow'])
const AGGREGATES = new Set(['count', 'aggregate', 'groupBy'])
const WRITES: Record<string, string> = {
  create: 'createMany (or createManyAndReturn)',
  update: 'updateMany',
  delete: 'deleteMany',
  upsert: 'one $transaction([...]) of upserts',
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}

function delegateName(model: string): string {
  return model.charAt(0).toLowerCase() + model.slice(1)
}

/** The one field a `where` filters on by equality (`{ id: 1 }`, `{ id: { equals: 1 } }`). */
function singleEqualityField(where: Record<string, unknown>): string | undefined {
  const keys = Object.keys(where)
  if (keys.length !== 1) return undefined
  const field = keys[0]!
  if (field === 'AND' || field === 'OR' || field === 'NOT') return undefined
  const value = where[field]
  if (!isRecord(value)) return field
  const ops = Object.keys(value)
  return ops.length === 1 && ops[0] === 'equals' ? field : undefined
}

/** `include` advice from a relation hint (`'Product.reviews'` or `'reviews'`). */
function includeAdvice(hint: string): string {
  const dot = hint.indexOf('.')
  if (dot === -1) return `load the relation with the parent query: include: { ${hint}: true }`
  const parent = delegateName(hint.slice(0, dot))
  const relation = hint.slice(dot + 1)
  return `load the relation with the parent query: prisma.${parent}.findMany({ include: { ${relation}: true } })`
}

function askHint(
  hint: RelationHint | undefined,
  model: string,
  where: Record<string, unknown>,
): string | undefined {
  if (hint === undefined) return undefined
  try {
    const answer = hint(model, where)
    return typeof answer === 'string' && answer.length > 0 ? answer : undefined
  } catch {
    // A faulty hint must not break the query that triggered the report.
    return undefined
  }
}

/**
 * Advice for a query shape repeated within one request.
 *
 * @example
 * ```ts
 * suggestFix('User', 'findUnique', { where: { id: 1 } })
 * // "Load them in one query: prisma.user.findMany({ where: { id: { in: [...] } } }) or batchFindMany(prisma.user, ids)."
 * ```
 */
export function suggestFix(
  model: string | undefined,
  operation: string,
  args: unknown,
  relationHint?: RelationHint,
): string {
  if (model === undefined) {
    return 'Run one statement for every item instead of one per item (e.g. WHERE id = ANY($1)).'
  }
  const write = WRITES[operation]
  if (write !== undefined) return `Write them in one call: prisma.${delegateName(model)}.${write}.`
  const d = delegateName(model)
  const where = isRecord(args) && isRecord(args.where) ? args.where : undefined
  const field = where === undefined ? undefined : singleEqualityField(where)
  const relation = where === undefined ? undefined : askHint(relationHint, model, where)
  let text: string
  if (field === undefined) {
    text = 'fetch them in one query (findMany with an `in` or `OR` filter) instead of one per item'
  } else if (FIND_ONE.has(operation)) {
    const by = field === 'id' ? '' : `, { by: '${field}' }`
    text = `load them in one query: prisma.${d}.findMany({ where: { ${field}: { in: [...] } } }) or batchFindMany(prisma.${d}, ids${by})`
  } else if (AGGREGATES.has(operation)) {
    text = `aggregate them in one query: prisma.${d}.groupBy({ by: ['${field}'], where: { ${field}: { in: [...] } }, _count: true })`
  } else {
    text = `load them in one query: prisma.${d}.findMany({ where: { ${field}: { in: [...] } } }) and group the rows by ${field}`
  }
  // A per-parent read is best folded into the parent query, so that advice comes first.
  if (relation === undefined) return `${capitalize(text)}.`
  return `${capitalize(includeAdvice(relation))}. Or ${text}.`
}

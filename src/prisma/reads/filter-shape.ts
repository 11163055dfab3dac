/**
 * What a `where` clause of one model depends on: the fields it reads, the values some fields
 * must hold in every row it matches (its equality conjuncts), and the relation filters it
 * applies to other models. The read's tags follow from it (`read-dependencies.ts`).
 */
import { isRecord } from '../../option-checks.js'
import { valueText } from '../keys/record-identity.js'
import type { ModelGraph, ModelNode, Relation } from '../schema/model-graph.js'

/** A relation filter (`some`, `every`, `none`, `is`, `isNot`, the to-one shorthand, `null`). */
export interface RelationFilter {
  readonly relation: Relation
  readonly target: ModelNode
  readonly shape: FilterShape
}

export interface FilterShape {
  /** Scalar fields the filter reads, under any operator. */
  readonly fields: Set<string>
  /**
   * Fields (among the model's `valueFields`) whose value in every matching row is one of a known
   * set: `{ categoryId: 5 }`, `{ status: { in: [...] } }`, a boolean's `{ not: true }`, the same
   * field in every branch of an `OR`. An empty set: no row can match.
   */
  readonly equalities: Map<string, Set<string>>
  readonly relations: RelationFilter[]
  /** Something the analysis does not know: the read depends on the model as a whole. */
  opaque: boolean
}

export function emptyShape(): FilterShape {
  return { fields: new Set(), equalities: new Map(), relations: [], opaque: false }
}

type Plain = Record<string, unknown>

/** Operators of a relation filter; a to-one relation also takes a `WhereInput` directly. */
const RELATION_OPERATORS = ['some', 'every', 'none', 'is', 'isNot'] as const

/** The shape of `where`, a `WhereInput` of `node`. */
export function filterShape(graph: ModelGraph, node: ModelNode, where: unknown): FilterShape {
  const shape = emptyShape()
  addWhere(graph, node, where, shape)
  return shape
}

function addWhere(graph: ModelGraph, node: ModelNode, where: unknown, shape: FilterShape): void {
  if (!isPlain(where)) return
  for (const key in where) {
    const value = where[key]
    if (value === undefined) continue
    switch (key) {
      case 'AND':
        for (const branch of Array.isArray(value) ? value : [value]) {
          addWhere(graph, node, branch, shape)
        }
        continue
      case 'OR':
        addOr(graph, node, Array.isArray(value) ? value : [value], shape)
        continue
      case 'NOT':
        for (const branch of Array.isArray(value) ? value : [value]) {
          const negated = filterShape(graph, node, branch)
          mergeDependencies(shape, negated)
        }
        continue
    }
    const relation = node.relations.get(key)
    if (relation !== undefined) {
      addRelation(graph, relation, value, shape)
      continue
    }
    const field = node.fields.get(key)
    if (field === undefined) {
      shape.opaque = true
      continue
    }
    shape.fields.add(key)
    addFieldReferences(value, shape)
    if (!node.valueFields.has(key)) continue
    const values = equalityValues(graph, node, key, value)
    if (values !== undefined) conjoin(shape, key, values)
  }
}

/** Fields an operator compares with (`{ lt: prisma.product.fields.cost }`) are read too. */
function addFieldReferences(value: unknown, shape: FilterShape): void {
  if (!isPlain(value)) return
  for (const operand of Object.values(value)) {
    const ref = operand as { modelName?: unknown; name?: unknown } | null
    if (isRecord(ref) && typeof ref.modelName === 'string' && typeof ref.name === 'string') {
      shape.fields.add(ref.name)
    }
  }
}

/** Every branch must match: a field constrained in all branches takes the union of their values. */
function addOr(graph: ModelGraph, node: ModelNode, branches: unknown[], shape: FilterShape): void {
  const shapes = branches.map((branch) => filterShape(graph, node, branch))
  for (const branch of shapes) mergeDependencies(shape, branch)
  if (shapes.length === 0) return
  for (const [field, first] of shapes[0]!.equalities) {
    const union = new Set(first)
    let everywhere = true
    for (const other of shapes.slice(1)) {
      const values = other.equalities.get(field)
      if (values === undefined) {
        everywhere = false
        break
      }
      for (const value of values) union.add(value)
    }
    if (everywhere) conjoin(shape, field, union)
  }
}

/** Fields, relations and opacity of `other` (not its equalities). */
function mergeDependencies(shape: FilterShape, other: FilterShape): void {
  for (const field of other.fields) shape.fields.add(field)
  shape.relations.push(...other.relations)
  if (other.opaque) shape.opaque = true
}

/** A conjunct: the values already known for `field` narrowed to `values`. */
function conjoin(shape: FilterShape, field: string, values: Set<string>): void {
  const known = shape.equalities.get(field)
  if (known === undefined) {
    shape.equalities.set(field, values)
    return
  }
  for (const value of known) if (!values.has(value)) known.delete(value)
}

function addRelation(
  graph: ModelGraph,
  relation: Relation,
  value: unknown,
  shape: FilterShape,
): void {
  const target = graph.model(relation.target)
  if (target === undefined) {
    shape.opaque = true
    return
  }
  // Which rows match depends on this row's foreign key when it holds it.
  for (const field of relation.foreignKey) shape.fields.add(field)
  const inner: unknown[] = []
  if (isPlain(value)) {
    let wrapped = false
    for (const op of RELATION_OPERATORS) {
      if (op in value) {
        wrapped = true
        inner.push(value[op])
      }
    }
    if (!wrapped) inner.push(value)
  }
  const targetShape = emptyShape()
  for (const where of inner) addWhere(graph, target, where, targetShape)
  shape.relations.push({ relation, target, shape: targetShape })
}

/**
 * The values a filter on `field` (`value` as written) leaves a matching row, as texts, or
 * `undefined` when it does not pin them (ranges, `contains`, case-insensitive modes...).
 */
function equalityValues(
  graph: ModelGraph,
  node: ModelNode,
  field: string,
  value: unknown,
): Set<string> | undefined {
  const definition = node.fields.get(field)!
  const text = (v: unknown) => valueText(definition, v)
  if (!isPlain(value)) return single(text(value))
  if (value.mode === 'insensitive') return undefined
  if ('equals' in value) return single(text(value.equals))
  if (Array.isArray(value.in)) {
    const texts = value.in.map(text)
    return texts.every((t) => t !== undefined) ? new Set(texts as string[]) : undefined
  }
  // `not` and `notIn` pin a value only where the values are few: booleans and enums.
  const domain =
    definition.type === 'Boolean'
      ? ['true', 'false']
      : definition.kind === 'enum'
        ? graph.enumValues(definition.type).map((v) => JSON.stringify(v))
        : undefined
  if (domain === undefined || domain.length === 0) return undefined
  const excluded =
    'not' in value ? [value.not] : Array.isArray(value.notIn) ? value.notIn : undefined
  if (excluded === undefined || excluded.some((v) => v === null || isPlain(v))) return undefined
  const out = new Set(excluded.map(text))
  return new Set(domain.filter((v) => !out.has(v)))
}

function single(text: string | undefined): Set<string> | undefined {
  return text === undefined ? undefined : new Set([text])
}

/** Plain objects of an arguments tree: operators and nested arguments, not values (`Date`...). */
export function isPlain(value: unknown): value is Plain {
  if (!isRecord(value)) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/**
 * The equality conjunct new rows are matched by: one field every row of the read must hold a
 * known value of, the most selective kind first (a unique key, a foreign key, then by type).
 */
export function bestEquality(node: ModelNode, shape: FilterShape): string | undefined {
  let best: string | undefined
  let bestRank = Number.POSITIVE_INFINITY
  for (const field of shape.equalities.keys()) {
    const rank = selectivity(node, field)
    if (rank < bestRank) {
      best = field
      bestRank = rank
    }
  }
  return best
}

/** Lower is more selective: a single-field unique key, a foreign key, other, an enum, a boolean. */
function selectivity(node: ModelNode, field: string): number {
  if (node.uniqueKeys.some((key) => key.fields.length === 1 && key.fields[0] === field)) return 0
  for (const relation of node.relations.values()) {
    if (relation.foreignKey.includes(field)) return 1
  }
  const definition = node.fields.get(field)
  if (definition?.kind === 'enum') return 3
  return definition?.type === 'Boolean' ? 4 : 2
}

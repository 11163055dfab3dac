/**
 * What PostgreSQL changes beyond the rows a write names: rows of other tables deleted or updated
 * by the foreign keys' referential actions (`onDelete: Cascade`, `SetNull`, `SetDefault`;
 * `onUpdate` when a referenced key changes). Which rows is never known, but their foreign key's
 * old value is, when the parents' values are.
 */
import type { ModelGraph, ModelNode } from '../schema/model-graph.js'
import type { RowValues, WriteEffects } from './write-effects.js'

/**
 * Rows of `model` were deleted (`parents`: what is known of them): follow `onDelete` actions,
 * transitively.
 */
export function deleteCascades(
  graph: ModelGraph,
  model: string,
  effects: WriteEffects,
  parents: readonly RowValues[] = [],
  followed: Set<string> = new Set([model]),
): void {
  const node = graph.model(model)
  if (node === undefined) return
  for (const ref of node.referrers) {
    const children = childValues(ref, parents)
    if (ref.onDelete === 'Cascade') {
      effects.deleted(ref.model, undefined, children)
      // Each model's own cascades are followed once (self-relations, cycles).
      if (followed.has(ref.model)) continue
      followed.add(ref.model)
      deleteCascades(graph, ref.model, effects, [], followed)
    } else if (ref.onDelete === 'SetNull' || ref.onDelete === 'SetDefault') {
      const rows = ref.onDelete === 'SetNull' ? [nulls(ref.foreignKey)] : []
      effects.updated(ref.model, undefined, ref.foreignKey, rows)
    }
  }
}

/**
 * Fields of `model` that other models' foreign keys reference changed: follow `onUpdate`. A
 * cascaded key change changes the referencing rows' own key fields, which others may reference
 * in turn, so it is followed transitively.
 */
export function updateCascades(
  graph: ModelGraph,
  model: string,
  changed: readonly string[],
  effects: WriteEffects,
  followed: Set<string> = new Set(),
): void {
  const node = graph.model(model)
  if (node === undefined) return
  for (const ref of node.referrers) {
    if (ref.onUpdate === 'Restrict' || ref.onUpdate === 'NoAction') continue
    if (!ref.references.some((field) => changed.includes(field))) continue
    const rows = ref.onUpdate === 'SetNull' ? [nulls(ref.foreignKey)] : []
    effects.updated(ref.model, undefined, ref.foreignKey, rows)
    const step = `${ref.model}:${ref.foreignKey.join(',')}`
    if (followed.has(step)) continue
    followed.add(step)
    updateCascades(graph, ref.model, ref.foreignKey, effects, followed)
  }
}

/**
 * Follows the `onUpdate` actions of the fields an update of `node` wrote (`fields`), if some
 * foreign key references one of them.
 */
export function keyChangeCascades(
  graph: ModelGraph,
  node: ModelNode,
  fields: readonly string[],
  effects: WriteEffects,
): void {
  if (node.referenced.size === 0) return
  const changed = fields.filter((field) => node.referenced.has(field))
  if (changed.length > 0) updateCascades(graph, node.name, changed, effects)
}

/** The foreign key values of the children of `parents`, where each parent's key is known. */
function childValues(
  ref: { foreignKey: readonly string[]; references: readonly string[] },
  parents: readonly RowValues[],
): RowValues[] {
  const rows: RowValues[] = []
  for (const parent of parents) {
    const row: Record<string, unknown> = {}
    ref.foreignKey.forEach((fk, i) => {
      const referenced = ref.references[i]
      if (referenced !== undefined && parent[referenced] !== undefined) row[fk] = parent[referenced]
    })
    if (Object.keys(row).length !== ref.foreignKey.length) return []
    rows.push(row)
  }
  return rows
}

function nulls(fields: readonly string[]): RowValues {
  return Object.fromEntries(fields.map((field) => [field, null]))
}

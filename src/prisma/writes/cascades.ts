/**
 * What PostgreSQL changes beyond the rows a write names: rows of other tables deleted or updated
 * by the foreign keys' referential actions (`onDelete: Cascade`, `SetNull`, `SetDefault`;
 * `onUpdate` when a referenced key changes). Which rows is never known, so each model reached
 * loses all its records.
 */
import type { ModelGraph } from '../schema/model-graph.js'
import type { WriteEffects } from './write-effects.js'

/** Records of `model` were deleted: follow `onDelete` actions, transitively. */
export function deleteCascades(
  graph: ModelGraph,
  model: string,
  effects: WriteEffects,
  followed: Set<string> = new Set([model]),
): void {
  const node = graph.model(model)
  if (node === undefined) return
  for (const ref of node.referrers) {
    if (ref.onDelete === 'Cascade') {
      effects.allRecords(ref.model)
      // Each model's own cascades are followed once (self-relations, cycles).
      if (followed.has(ref.model)) continue
      followed.add(ref.model)
      deleteCascades(graph, ref.model, effects, followed)
    } else if (ref.onDelete === 'SetNull' || ref.onDelete === 'SetDefault') {
      effects.allRecords(ref.model)
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
    effects.allRecords(ref.model)
    const step = `${ref.model}:${ref.foreignKey.join(',')}`
    if (followed.has(step)) continue
    followed.add(step)
    updateCascades(graph, ref.model, ref.foreignKey, effects, followed)
  }
}

/** The scalar fields `data` assigns that some foreign key references (usually the primary key). */
export function referencedFieldsIn(graph: ModelGraph, model: string, data: unknown): string[] {
  const node = graph.model(model)
  if (node === undefined || typeof data !== 'object' || data === null) return []
  const referenced = new Set(node.referrers.flatMap((ref) => ref.references))
  return Object.keys(data).filter((field) => referenced.has(field))
}

/**
 * Makes a write return the fields that identify its records. A write by one unique key (or by a
 * filter) still changes reads of the same record by its other unique keys (`findUnique` by email
 * after an update by id), so the extension asks for every unique field, reads the identities off
 * the result, and hands the caller the result it asked for.
 */
import { isRecord } from '../is-record.js'
import type { ModelNode } from '../schema/model-graph.js'

/**
 * `args` with the model's unique fields added to its `select` (or taken out of its `omit`), and
 * the fields added, to strip from the result. Without either, every scalar field comes back
 * already. Never mutates `args`.
 */
export function withUniqueFields(
  node: ModelNode,
  args: unknown,
): { args: unknown; added: readonly string[] } {
  if (!isRecord(args)) return { args, added: [] }
  const added: string[] = []
  if (isRecord(args.select)) {
    const select = { ...args.select }
    for (const field of node.uniqueFields) {
      if (select[field] !== true) {
        select[field] = true
        added.push(field)
      }
    }
    return added.length === 0 ? { args, added } : { args: { ...args, select }, added }
  }
  if (isRecord(args.omit)) {
    const omit = { ...args.omit }
    for (const field of node.uniqueFields) {
      if (omit[field] === true) {
        omit[field] = false
        added.push(field)
      }
    }
    return added.length === 0 ? { args, added } : { args: { ...args, omit }, added }
  }
  return { args, added }
}

/** Removes the fields {@link withUniqueFields} added from a result row or list of rows. */
export function stripAdded(result: unknown, added: readonly string[]): void {
  if (added.length === 0) return
  const rows = Array.isArray(result) ? result : [result]
  for (const row of rows) {
    if (!isRecord(row)) continue
    for (const field of added) delete row[field]
  }
}

/**
 * What a write's arguments say of the rows it changes: the fields it writes, the values it sets,
 * the values its filter pins. Values a write computes in the database (`{ increment: 1 }`, a
 * default function) are unknown here; a returned row says them when there is one.
 */
import { isRecord } from '../../option-checks.js'
import { isPlain } from '../reads/filter-shape.js'
import type { ModelNode } from '../schema/model-graph.js'
import type { RowValues } from './write-effects.js'

/** The scalar values `data` (a create or update of `node`) sets, foreign keys by `connect`. */
export function dataValues(node: ModelNode, data: unknown): Record<string, unknown> {
  const values: Record<string, unknown> = {}
  if (!isRecord(data)) return values
  for (const [key, value] of Object.entries(data)) {
    if (value === undefined) continue
    const relation = node.relations.get(key)
    if (relation !== undefined) {
      if (relation.holdsForeignKey && isPlain(value)) connectedKey(relation, value, values)
      continue
    }
    if (!node.fields.has(key)) continue
    if (!isPlain(value)) values[key] = value
    else if ('set' in value) values[key] = value.set
  }
  return values
}

/** A foreign key a relation operation sets: `connect` by the referenced field, `disconnect`. */
function connectedKey(
  relation: { foreignKey: readonly string[]; references: readonly string[] },
  operation: Record<string, unknown>,
  values: Record<string, unknown>,
): void {
  const [fk] = relation.foreignKey
  const [referenced] = relation.references
  if (fk === undefined || referenced === undefined || relation.foreignKey.length !== 1) return
  if (operation.disconnect === true) values[fk] = null
  const where = operation.connect
  if (isPlain(where) && where[referenced] !== undefined && !isPlain(where[referenced])) {
    values[fk] = where[referenced]
  }
}

/** A created row as far as known: `data`'s values over the static defaults. */
export function createdValues(node: ModelNode, data: unknown): Record<string, unknown> {
  const values = dataValues(node, data)
  for (const [field, value] of node.defaults) if (!(field in values)) values[field] = value
  return values
}

/**
 * The fields `data` (an update of `node`) writes: its scalar fields, the foreign keys of the
 * relations it connects, disconnects or creates, and the `@updatedAt` fields Prisma sets.
 */
export function writtenFields(node: ModelNode, data: unknown): string[] {
  const fields = new Set<string>(node.updatedAt)
  if (isRecord(data)) {
    for (const [key, value] of Object.entries(data)) {
      if (value === undefined) continue
      const relation = node.relations.get(key)
      if (relation === undefined) {
        if (node.fields.has(key)) fields.add(key)
        continue
      }
      if (!relation.holdsForeignKey || !isPlain(value)) continue
      const sets = Object.keys(value).some((op) => op !== 'update')
      if (sets) for (const fk of relation.foreignKey) fields.add(fk)
    }
  }
  return [...fields]
}

/**
 * The values a filter pins at its top level (`{ productId: 5, status: { in: [...] } }` pins
 * `productId`), what rows a `deleteMany` or `updateMany` changed hold.
 */
export function whereValues(node: ModelNode, where: unknown): RowValues {
  const values: Record<string, unknown> = {}
  if (!isPlain(where)) return values
  for (const [key, value] of Object.entries(where)) {
    if (!node.fields.has(key) || value === undefined) continue
    if (!isPlain(value)) values[key] = value
    else if (Object.keys(value).length === 1 && 'equals' in value && !isPlain(value.equals)) {
      values[key] = value.equals
    }
  }
  return values
}

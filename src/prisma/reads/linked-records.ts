/**
 * The one-to-one children a record read includes, named by the parent's key. `product.findUnique(
 * { where: { id: 5 }, include: { inventory: true } })` reads the Inventory whose `productId` is 5,
 * if there is one: the read depends on that record alone, not on every inventory row, so writes
 * to other inventories keep it cached (and a create of that one, which names it, does not).
 */
import { identityOf, type PinnedKey } from '../keys/record-identity.js'
import { type ModelGraph, type ModelNode, sameFields } from '../schema/model-graph.js'

/** A child record a read includes: its model and identity, by the parent's relation field. */
export interface LinkedRecord {
  readonly model: string
  readonly identity: string
}

/**
 * The children of `node`'s record (pinned by `pinned`) that `args` includes or selects through
 * a one-to-one relation whose foreign key, unique in the child, references fields of the pinned
 * key. Relations not so named are left to the model tag.
 */
export function linkedRecords(
  graph: ModelGraph,
  node: ModelNode,
  pinned: PinnedKey,
  args: unknown,
): Map<string, LinkedRecord> {
  const found = new Map<string, LinkedRecord>()
  const { include, select } = (args ?? {}) as { include?: unknown; select?: unknown }
  for (const projection of [include, select]) {
    if (typeof projection !== 'object' || projection === null) continue
    for (const [field, value] of Object.entries(projection)) {
      if (value === false || value === undefined) continue
      const linked = linkedRecord(graph, node, pinned, field)
      if (linked !== undefined) found.set(field, linked)
    }
  }
  return found
}

function linkedRecord(
  graph: ModelGraph,
  node: ModelNode,
  pinned: PinnedKey,
  field: string,
): LinkedRecord | undefined {
  const relation = node.relations.get(field)
  if (relation === undefined || relation.isList || relation.holdsForeignKey) return undefined
  const child = graph.model(relation.target)
  const back = relation.inverse === undefined ? undefined : child?.relations.get(relation.inverse)
  if (child === undefined || back === undefined || !back.holdsForeignKey) return undefined
  const key = child.linkedKeys.find((candidate) => sameFields(candidate.fields, back.foreignKey))
  if (key === undefined) return undefined
  const values = key.fields.map(
    (fk) => pinned.values[back.references[back.foreignKey.indexOf(fk)] ?? ''],
  )
  if (values.some((value) => value === undefined)) return undefined
  const identity = identityOf(child, key, values)
  return identity === undefined ? undefined : { model: child.name, identity }
}

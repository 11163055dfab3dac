/**
 * The effects of the relation operations inside a write's `data`: nested `create`, `createMany`,
 * `connect`, `connectOrCreate`, `disconnect`, `set`, `update`, `updateMany`, `upsert`, `delete`,
 * `deleteMany`, at any depth. Each touches the related model's lists; those that change existing
 * rows of it name them when they can (a single-key model addressed by that key) and otherwise
 * reach all its records; deletes and key changes follow the schema's referential actions.
 */
import { isRecord } from '../is-record.js'
import { identityOfWhere } from '../keys/record-identity.js'
import type { ModelGraph, ModelNode, Relation } from '../schema/model-graph.js'
import { deleteCascades, referencedFieldsIn, updateCascades } from './cascades.js'
import type { WriteEffects } from './write-effects.js'

const list = (value: unknown): unknown[] =>
  Array.isArray(value) ? value : value === undefined ? [] : [value]

/**
 * The identities of the records `wheres` address, when they name every way the model's records
 * can be read by key: only a model with a single unique key qualifies (a record of a model with
 * two, say `id` and `email`, may be cached under the one the write did not use).
 */
export function namedRecords(node: ModelNode, wheres: readonly unknown[]): string[] | undefined {
  if (node.uniqueKeys.length !== 1) return undefined
  const identities: string[] = []
  for (const where of wheres) {
    const identity = identityOfWhere(node, where)
    if (identity === undefined) return undefined
    identities.push(identity)
  }
  return identities
}

/**
 * Whether `data` (a create or update of `node`) changes a field of some unique key: directly, or
 * through a relation whose foreign key is part of one (`review.update({ data: { product: {
 * connect } } })` changes `productId` of `@@unique([productId, userId])`).
 */
export function changedUniqueKeys(node: ModelNode, data: unknown): string[] {
  if (!isRecord(data)) return []
  const changed = new Set<string>()
  for (const key of Object.keys(data)) {
    const relation = node.relations.get(key)
    const fields = relation?.holdsForeignKey ? relation.foreignKey : [key]
    for (const field of fields) if (node.uniqueFields.has(field)) changed.add(field)
  }
  return node.uniqueKeys
    .filter((key) => key.fields.some((field) => changed.has(field)))
    .map((key) => key.name)
}

/** Walks the relation operations in the `data` of writes, adding what they change to `effects`. */
export class NestedWrites {
  readonly #graph: ModelGraph
  readonly #effects: WriteEffects

  constructor(graph: ModelGraph, effects: WriteEffects) {
    this.#graph = graph
    this.#effects = effects
  }

  /** The `data` of a create or update of `node`. */
  data(node: ModelNode, data: unknown): void {
    if (!isRecord(data)) return
    for (const key of Object.keys(data)) {
      const relation = node.relations.get(key)
      if (relation !== undefined) this.#relation(relation, data[key])
    }
  }

  #relation(relation: Relation, operations: unknown): void {
    const target = this.#graph.model(relation.target)
    if (target === undefined || !isRecord(operations)) return
    this.#effects.touch(target.name)
    // A one-to-one child created under an existing parent fills a place a cached parent read saw
    // empty (`linked-records.ts`); its key comes from the parent, not named here.
    const creates = ['create', 'createMany', 'connectOrCreate', 'upsert'].some(
      (op) => op in operations,
    )
    if (creates && target.linkedKeys.length > 0) this.#effects.allRecords(target.name)
    for (const [operation, value] of Object.entries(operations)) {
      if (value === undefined) continue
      switch (operation) {
        case 'create':
          for (const item of list(value)) this.data(target, item)
          break
        case 'createMany':
          break // rows of the target created: touched, no nested relations allowed
        case 'connectOrCreate':
          for (const item of list(value)) {
            if (!isRecord(item)) continue
            this.#link(relation, target, [item.where])
            this.data(target, item.create)
          }
          break
        case 'connect':
          this.#link(relation, target, list(value))
          break
        case 'disconnect':
          if (value === true || !relation.isList) this.#linkUnknown(relation, target)
          else this.#link(relation, target, list(value))
          break
        case 'set':
          this.#linkUnknown(relation, target)
          break
        case 'update':
          for (const item of list(value)) this.#update(relation, target, item)
          break
        case 'upsert':
          for (const item of list(value)) {
            if (!isRecord(item)) continue
            this.#update(relation, target, { where: item.where, data: item.update })
            this.data(target, item.create)
          }
          break
        case 'updateMany':
          for (const item of list(value)) {
            this.#effects.allRecords(target.name)
            if (isRecord(item)) this.#keyChange(target, item.data)
          }
          break
        case 'delete':
          this.#delete(
            target,
            relation.isList ? namedRecords(target, list(value)) : namedRecords(target, [value]),
          )
          break
        case 'deleteMany':
          this.#delete(target, undefined)
          break
        default:
          // An operation this version does not know: be safe.
          this.#effects.allRecords(target.name)
      }
    }
  }

  /**
   * `connect` / `disconnect` by unique wheres. Only when the foreign key is in the target's rows
   * do those rows change; a key in the parent's row is the parent's own change, and an implicit
   * many-to-many join row changes no model row (reads across it carry both models' tags).
   */
  #link(relation: Relation, target: ModelNode, wheres: readonly unknown[]): void {
    if (relation.holdsForeignKey || relation.joinTable !== undefined) return
    const named = namedRecords(target, wheres)
    if (named === undefined) this.#effects.allRecords(target.name)
    else this.#effects.records(target.name, named)
  }

  /** `disconnect: true`, `set`: the target rows losing their link are not named. */
  #linkUnknown(relation: Relation, target: ModelNode): void {
    if (relation.holdsForeignKey || relation.joinTable !== undefined) return
    this.#effects.allRecords(target.name)
  }

  /** A nested `update` (`{ where, data }` on a list, the data itself or `{ data }` on a to-one). */
  #update(relation: Relation, target: ModelNode, item: unknown): void {
    if (!isRecord(item)) return
    const wrapped = relation.isList || 'data' in item
    const data = wrapped ? item.data : item
    const named = relation.isList ? namedRecords(target, [item.where]) : undefined
    if (named === undefined || changedUniqueKeys(target, data).length > 0) {
      this.#effects.allRecords(target.name)
    } else {
      this.#effects.records(target.name, named)
    }
    this.#keyChange(target, data)
    this.data(target, data)
  }

  #keyChange(target: ModelNode, data: unknown): void {
    const referenced = referencedFieldsIn(this.#graph, target.name, data)
    if (referenced.length > 0) updateCascades(this.#graph, target.name, referenced, this.#effects)
  }

  #delete(target: ModelNode, named: string[] | undefined): void {
    if (named === undefined) this.#effects.allRecords(target.name)
    else this.#effects.records(target.name, named)
    deleteCascades(this.#graph, target.name, this.#effects)
  }
}

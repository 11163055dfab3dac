/**
 * The effects of the relation operations inside a write's `data`: nested `create`, `createMany`,
 * `connect`, `connectOrCreate`, `disconnect`, `set`, `update`, `updateMany`, `upsert`, `delete`,
 * `deleteMany`, at any depth. Rows of the related model are named where the operation names them
 * (a single-key model addressed by that key) and, where the foreign key is theirs, known to hang
 * off the parent's key value when the parent's row is known; deletes and key changes follow the
 * schema's referential actions.
 */
import { isRecord } from '../../option-checks.js'
import { identityOf, identityOfWhere } from '../keys/record-identity.js'
import {
  type Link,
  linkOf,
  type ModelGraph,
  type ModelNode,
  type Relation,
} from '../schema/model-graph.js'
import { deleteCascades, keyChangeCascades } from './cascades.js'
import type { RowValues, WriteEffects } from './write-effects.js'
import { createdValues, dataValues, whereValues, writtenFields } from './write-values.js'

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
 * The unique keys of `node` an update writing `fields` (from `writtenFields`) changes: directly,
 * or through a relation whose foreign key is part of one (`review.update({ data: { product: {
 * connect } } })` changes `productId` of `@@unique([productId, userId])`).
 */
export function changedUniqueKeys(node: ModelNode, fields: readonly string[]): string[] {
  if (!fields.some((field) => node.uniqueFields.has(field))) return []
  return node.uniqueKeys
    .filter((key) => key.fields.some((field) => fields.includes(field)))
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

  /** The `data` of a create or update of `node`; `parent`: what is known of its row. */
  data(node: ModelNode, data: unknown, parent: RowValues | undefined): void {
    if (!isRecord(data)) return
    for (const key of Object.keys(data)) {
      const relation = node.relations.get(key)
      const target = relation === undefined ? undefined : this.#graph.model(relation.target)
      if (relation !== undefined && target !== undefined && isRecord(data[key])) {
        this.#relation(relation, target, data[key] as Record<string, unknown>, parent)
      }
    }
  }

  #relation(
    relation: Relation,
    target: ModelNode,
    operations: Record<string, unknown>,
    parent: RowValues | undefined,
  ): void {
    const effects = this.#effects
    const link = linkOf(this.#graph, relation)
    // The foreign key is the target's: its rows hang off the parent's value (when known).
    const childKey = relation.holdsForeignKey ? undefined : link
    const linkValue = childKey === undefined ? undefined : parent?.[childKey.parentField]
    const withLink = (row: Record<string, unknown>): RowValues => {
      if (childKey !== undefined && linkValue !== undefined) row[childKey.field] = linkValue
      return row
    }
    if (relation.joinTable !== undefined) {
      const relinks = ['connect', 'connectOrCreate', 'disconnect', 'set', 'create', 'delete']
      if (relinks.some((op) => op in operations)) {
        effects.linked(relation.joinTable, [target.name, ...this.#modelsLinking(relation)])
      }
    }
    for (const [operation, value] of Object.entries(operations)) {
      if (value === undefined) continue
      switch (operation) {
        case 'create':
          for (const item of list(value))
            this.#create(target, withLink(createdValues(target, item)), item)
          break
        case 'createMany': {
          const rows = isRecord(value) ? list(value.data) : []
          effects.created(
            target.name,
            rows.map((row) => withLink(createdValues(target, row))),
          )
          break
        }
        case 'connectOrCreate':
          for (const item of list(value)) {
            if (!isRecord(item)) continue
            this.#relink(childKey, target, [item.where], linkValue)
            this.#create(target, withLink(createdValues(target, item.create)), item.create)
          }
          break
        case 'connect':
          this.#relink(childKey, target, list(value), linkValue)
          break
        case 'disconnect':
          if (value === true || !relation.isList) this.#relink(childKey, target, undefined, null)
          else this.#relink(childKey, target, list(value), null)
          break
        case 'set':
          this.#relink(childKey, target, undefined, undefined)
          break
        case 'update':
          for (const item of list(value)) this.#update(relation, target, link, item, parent)
          break
        case 'upsert':
          for (const item of list(value)) {
            if (!isRecord(item)) continue
            this.#update(relation, target, link, { where: item.where, data: item.update }, parent)
            this.#create(target, withLink(createdValues(target, item.create)), item.create)
          }
          break
        case 'updateMany':
          for (const item of list(value)) {
            const data = isRecord(item) ? item.data : undefined
            const fields = writtenFields(target, data)
            effects.updated(target.name, undefined, fields, [dataValues(target, data)])
            keyChangeCascades(this.#graph, target, fields, effects)
          }
          break
        case 'delete': {
          const wheres = relation.isList ? list(value) : [undefined]
          const named = relation.isList
            ? namedRecords(target, wheres)
            : this.#toOne(target, link, relation, parent)
          this.#delete(target, named, [withLink({})])
          break
        }
        case 'deleteMany':
          for (const item of list(value))
            this.#delete(target, undefined, [withLink({ ...whereValues(target, item) })])
          break
        default:
          // An operation this version does not know: be safe.
          effects.unknown(target.name)
      }
    }
  }

  /** The model on the other side of a many-to-many relation (its inverse's target). */
  #modelsLinking(relation: Relation): string[] {
    const target = this.#graph.model(relation.target)
    const back =
      relation.inverse === undefined ? undefined : target?.relations.get(relation.inverse)
    return back === undefined ? [] : [back.target]
  }

  #create(target: ModelNode, row: RowValues, data: unknown): void {
    this.#effects.created(target.name, [row])
    this.data(target, data, row)
  }

  /**
   * `connect` / `disconnect` / `set` of rows whose foreign key is theirs (`childKey`): they get
   * `value` (the parent's key, `null`, or `undefined` when not known); `wheres` name them, if
   * given. A key in the parent's row is the parent's own change, and a join table changes no row.
   */
  #relink(
    childKey: Link | undefined,
    target: ModelNode,
    wheres: readonly unknown[] | undefined,
    value: unknown,
  ): void {
    if (childKey === undefined) return
    const named = wheres === undefined ? undefined : namedRecords(target, wheres)
    const rows = value === undefined ? [] : [{ [childKey.field]: value }]
    this.#effects.updated(target.name, named, [childKey.field, ...target.updatedAt], rows)
  }

  /** A nested `update` (`{ where, data }` on a list, the data itself or `{ data }` on a to-one). */
  #update(
    relation: Relation,
    target: ModelNode,
    link: Link | undefined,
    item: unknown,
    parent: RowValues | undefined,
  ): void {
    if (!isRecord(item)) return
    const wrapped = relation.isList || 'data' in item
    const data = wrapped ? item.data : item
    let named = relation.isList
      ? namedRecords(target, [item.where])
      : this.#toOne(target, link, relation, parent)
    const fields = writtenFields(target, data)
    if (changedUniqueKeys(target, fields).length > 0) named = undefined
    this.#effects.updated(target.name, named, fields, [dataValues(target, data)])
    keyChangeCascades(this.#graph, target, fields, this.#effects)
    this.data(target, data, undefined)
  }

  /** The identity of a to-one relation's row, when the parent's side of the link is known. */
  #toOne(
    target: ModelNode,
    link: Link | undefined,
    relation: Relation,
    parent: RowValues | undefined,
  ): string[] | undefined {
    const [key] = target.uniqueKeys
    const value = link === undefined ? undefined : parent?.[link.parentField]
    if (relation.isList || key === undefined || target.uniqueKeys.length !== 1) return undefined
    if (key.fields.length !== 1 || key.fields[0] !== link?.field || value === undefined)
      return undefined
    const identity = identityOf(target, key, [value])
    return identity === undefined ? undefined : [identity]
  }

  #delete(target: ModelNode, named: string[] | undefined, rows: RowValues[]): void {
    this.#effects.deleted(target.name, named, rows)
    deleteCascades(this.#graph, target.name, this.#effects, rows)
  }
}

/**
 * What one model write invalidates. Planned before the write runs (the arguments say which model,
 * which records by key, which nested operations), completed after it from the records it
 * returned (the other unique keys of the records it changed), and applied after commit.
 */
import {
  identitiesOfFilter,
  identitiesOfRecord,
  identityOf,
  identityOfWhere,
} from '../keys/record-identity.js'
import type { ModelGraph, ModelNode } from '../schema/model-graph.js'
import { deleteCascades, referencedFieldsIn, updateCascades } from './cascades.js'
import { changedUniqueKeys, NestedWrites } from './nested-writes.js'
import { stripAdded, withUniqueFields } from './returning.js'
import { WriteEffects } from './write-effects.js'

/** The model write operations (`create` … `deleteMany`), as Prisma's query hook names them. */
export const WRITE_OPERATION_NAMES = [
  'create',
  'createMany',
  'createManyAndReturn',
  'update',
  'updateMany',
  'updateManyAndReturn',
  'upsert',
  'delete',
  'deleteMany',
] as const

/** {@link WRITE_OPERATION_NAMES}, for lookups. */
export const WRITE_OPERATIONS: ReadonlySet<string> = new Set(WRITE_OPERATION_NAMES)

type Plain = Record<string, unknown>

/** The identities of the rows of a `createMany` under the model's linked keys, if all are given. */
function linkedIdentitiesOfRows(node: ModelNode, data: unknown): string[] | undefined {
  const rows = Array.isArray(data) ? data : [data]
  const identities: string[] = []
  for (const row of rows) {
    for (const key of node.linkedKeys) {
      const identity = identityOf(
        node,
        key,
        key.fields.map((field) => (row as Plain | undefined)?.[field]),
      )
      if (identity === undefined) return undefined
      identities.push(identity)
    }
  }
  return identities
}
const plain = (value: unknown): Plain =>
  typeof value === 'object' && value !== null ? (value as Plain) : {}

export class WritePlan {
  /** The arguments to run the write with (unique fields added to a narrow `select`). */
  readonly args: unknown
  readonly #effects = new WriteEffects()
  readonly #node: ModelNode
  readonly #added: readonly string[]
  /** Identities of the records, known before the write (`where` by unique key). */
  readonly #known: string[] = []
  /** Whether the result names the changed records (`update`, `delete`, `…AndReturn`). */
  readonly #fromResult: boolean
  /** The write may change unique keys whose old values nobody can name: reach every record. */
  readonly #unnamed: boolean

  constructor(graph: ModelGraph, node: ModelNode, operation: string, args: unknown) {
    this.#node = node
    const a = plain(args)
    const effects = this.#effects.touch(node.name)
    const nested = new NestedWrites(graph, effects)
    let fromResult = false
    let unnamed = false
    switch (operation) {
      case 'create':
        nested.data(node, a.data)
        // A new record changes no cached record read, except a one-to-one child's absence seen
        // through its parent (`linked-records.ts`): the result names it under its linked keys.
        fromResult = node.linkedKeys.length > 0
        break
      case 'createManyAndReturn':
        fromResult = node.linkedKeys.length > 0
        break
      case 'createMany':
        if (node.linkedKeys.length > 0) {
          const named = linkedIdentitiesOfRows(node, a.data)
          if (named === undefined) unnamed = true
          else this.#known.push(...named)
        }
        break
      case 'update':
      case 'upsert': {
        const where = identityOfWhere(node, a.where)
        if (where !== undefined) this.#known.push(where)
        const data = operation === 'update' ? a.data : a.update
        // A unique key the write changes, other than the one it is addressed by: its old value,
        // under which the record may be cached, is known to nobody.
        const pinned = where?.slice(0, where.indexOf('='))
        unnamed = changedUniqueKeys(node, data).some((key) => key !== pinned)
        this.#keyChange(graph, data)
        nested.data(node, data)
        if (operation === 'upsert') nested.data(node, a.create)
        fromResult = true
        break
      }
      case 'updateMany':
      case 'updateManyAndReturn': {
        const pinned = identitiesOfFilter(node, a.where)
        if (pinned === undefined) unnamed = true
        else this.#known.push(...pinned)
        if (operation === 'updateManyAndReturn' && changedUniqueKeys(node, a.data).length === 0) {
          unnamed = false
          fromResult = true
        }
        this.#keyChange(graph, a.data)
        break
      }
      case 'delete': {
        const where = identityOfWhere(node, a.where)
        if (where !== undefined) this.#known.push(where)
        fromResult = true
        deleteCascades(graph, node.name, effects)
        break
      }
      case 'deleteMany': {
        const pinned = identitiesOfFilter(node, a.where)
        if (pinned === undefined) unnamed = true
        else this.#known.push(...pinned)
        deleteCascades(graph, node.name, effects)
        break
      }
      default:
        unnamed = true
    }
    this.#fromResult = fromResult && !unnamed
    this.#unnamed = unnamed
    const returning = this.#fromResult ? withUniqueFields(node, args) : { args, added: [] }
    this.args = returning.args
    this.#added = returning.added
  }

  /**
   * The effects once the write returned `result`: the identities it reports are added, and the
   * fields added to its `select` are removed from it (the caller gets what it asked for).
   */
  completed(result: unknown): WriteEffects {
    const effects = this.#effects
    const model = this.#node.name
    if (this.#unnamed) return effects.allRecords(model)
    effects.records(model, this.#known)
    if (this.#fromResult) {
      const rows = Array.isArray(result) ? result : [result]
      for (const row of rows) {
        const identities = identitiesOfRecord(this.#node, row)
        if (identities === undefined) return effects.allRecords(model)
        effects.records(model, identities)
      }
    }
    stripAdded(result, this.#added)
    return effects
  }

  /**
   * The effects of a write that failed. It most likely changed nothing (Prisma rolls its
   * statements back), but a failure after commit (a lost connection) cannot be told apart: reach
   * what the write may have changed, without the identities only a result would have named.
   */
  failed(): WriteEffects {
    const effects = this.#effects
    if (this.#unnamed || this.#fromResult) return effects.allRecords(this.#node.name)
    return effects.records(this.#node.name, this.#known)
  }

  #keyChange(graph: ModelGraph, data: unknown): void {
    const referenced = referencedFieldsIn(graph, this.#node.name, data)
    if (referenced.length > 0) updateCascades(graph, this.#node.name, referenced, this.#effects)
  }
}

/**
 * What one model write invalidates. The arguments say which model, which rows by key, which
 * fields and values, which nested operations; the returned rows complete it (their other unique
 * keys, the values the database computed); it is applied after commit.
 */
import { isRecord } from '../../option-checks.js'
import { identitiesOfFilter, identitiesOfRecord, identityOfWhere } from '../keys/record-identity.js'
import type { ModelGraph, ModelNode } from '../schema/model-graph.js'
import { deleteCascades, keyChangeCascades } from './cascades.js'
import { changedUniqueKeys, NestedWrites } from './nested-writes.js'
import { type RowValues, WriteEffects } from './write-effects.js'
import { createdValues, dataValues, whereValues, writtenFields } from './write-values.js'

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

/** Operations whose result names the rows they changed. */
const RETURNING: ReadonlySet<string> = new Set([
  'create',
  'createManyAndReturn',
  'update',
  'updateManyAndReturn',
  'upsert',
  'delete',
])

type Plain = Record<string, unknown>
const plain = (value: unknown): Plain => (isRecord(value) ? value : {})

export class WritePlan {
  /** The arguments to run the write with (unique fields added to a narrow `select`). */
  readonly args: unknown
  readonly #graph: ModelGraph
  readonly #node: ModelNode
  readonly #operation: string
  readonly #given: Plain
  readonly #added: readonly string[]

  constructor(graph: ModelGraph, node: ModelNode, operation: string, args: unknown) {
    this.#graph = graph
    this.#node = node
    this.#operation = operation
    this.#given = plain(args)
    const returning = RETURNING.has(operation) ? withUniqueFields(node, args) : { args, added: [] }
    this.args = returning.args
    this.#added = returning.added
  }

  /**
   * The effects once the write returned `result`; the fields added to its `select` are removed
   * from it (the caller gets what it asked for).
   */
  completed(result: unknown): WriteEffects {
    // `createMany`, `updateMany` and `deleteMany` return `{ count }`, which is no row: taken for
    // one, it named no record and no value, and the write reached every row of the model.
    const returning = RETURNING.has(this.#operation)
    const effects = this.#effects(returning ? rowsOf(result) : undefined)
    stripAdded(result, this.#added)
    return effects
  }

  /**
   * The effects of a write that failed. It most likely changed nothing (Prisma rolls its
   * statements back), but a failure after commit (a lost connection) cannot be told apart: reach
   * what the write may have changed, without what only a result would have said.
   */
  failed(): WriteEffects {
    return this.#effects(undefined)
  }

  /** `returned`: the rows the write returned, `undefined` when it returned none or failed. */
  #effects(returned: RowValues[] | undefined): WriteEffects {
    const effects = new WriteEffects()
    const graph = this.#graph
    const node = this.#node
    const model = node.name
    const a = this.#given
    const nested = new NestedWrites(graph, effects)
    switch (this.#operation) {
      case 'create': {
        const row = { ...createdValues(node, a.data), ...returned?.[0] }
        effects.created(model, [row])
        nested.data(node, a.data, row)
        break
      }
      case 'createMany':
      case 'createManyAndReturn':
        effects.created(
          model,
          returned ?? rowsOf(a.data)?.map((row) => createdValues(node, row)) ?? [],
        )
        break
      case 'update':
      case 'upsert': {
        const data = this.#operation === 'update' ? a.data : a.update
        const row = returned?.[0]
        const fields = writtenFields(node, data)
        const values =
          row !== undefined && fields.every((field) => field in row)
            ? row
            : { ...dataValues(node, data), ...row }
        effects.updated(model, this.#updatedRows(a.where, fields, row), fields, [values])
        keyChangeCascades(graph, node, fields, effects)
        nested.data(node, data, row ?? whereValues(node, a.where))
        if (this.#operation === 'upsert') {
          const created = { ...createdValues(node, a.create), ...row }
          effects.created(model, [created])
          nested.data(node, a.create, created)
        }
        break
      }
      case 'updateMany':
      case 'updateManyAndReturn': {
        const fields = writtenFields(node, a.data)
        const rekeyed = changedUniqueKeys(node, fields).length > 0
        const identities =
          returned !== undefined && !rekeyed
            ? identitiesOfRows(node, returned)
            : identitiesOfFilter(node, a.where)
        // The filter's values are the rows' old ones: of a field written, only `data` says the new.
        const rows = returned ?? [dataValues(node, a.data)]
        effects.updated(model, rekeyed ? undefined : identities, fields, rows)
        keyChangeCascades(graph, node, fields, effects)
        break
      }
      case 'delete': {
        const row = returned?.[0]
        const identities =
          row === undefined ? namedByWhere(node, a.where) : identitiesOfRecord(node, row)
        const rows = [row ?? whereValues(node, a.where)]
        effects.deleted(model, identities, rows)
        deleteCascades(graph, model, effects, rows)
        break
      }
      case 'deleteMany': {
        const rows = [whereValues(node, a.where)]
        effects.deleted(model, identitiesOfFilter(node, a.where), rows)
        deleteCascades(graph, model, effects, rows)
        break
      }
      default:
        effects.unknown(model)
    }
    return effects
  }

  /**
   * The rows an update changed, by every key they are read by: from its result, plus the key it
   * was addressed by (its old value, should the update change it). `undefined` when the update
   * changes a unique key whose old value nobody knows.
   */
  #updatedRows(
    where: unknown,
    fields: readonly string[],
    row: RowValues | undefined,
  ): string[] | undefined {
    const node = this.#node
    const addressed = identityOfWhere(node, where)
    const pinned = addressed?.slice(0, addressed.indexOf('='))
    if (changedUniqueKeys(node, fields).some((key) => key !== pinned)) return undefined
    if (row === undefined) return namedByWhere(node, where)
    const identities = identitiesOfRecord(node, row)
    if (identities === undefined) return undefined
    if (addressed !== undefined && !identities.includes(addressed)) identities.push(addressed)
    return identities
  }
}

/** The rows of a result: a row, a list of rows, or none (a count, `null`). */
function rowsOf(result: unknown): RowValues[] | undefined {
  if (Array.isArray(result)) return result.filter(isRecord)
  return isRecord(result) ? [result] : undefined
}

/** Identities of returned rows, `undefined` when one lacks a unique field. */
function identitiesOfRows(node: ModelNode, rows: readonly RowValues[]): string[] | undefined {
  const identities: string[] = []
  for (const row of rows) {
    const found = identitiesOfRecord(node, row)
    if (found === undefined) return undefined
    identities.push(...found)
  }
  return identities
}

/** The row a `WhereUniqueInput` names, when it is the only key the model's rows are read by. */
function namedByWhere(node: ModelNode, where: unknown): string[] | undefined {
  const identity = node.uniqueKeys.length === 1 ? identityOfWhere(node, where) : undefined
  return identity === undefined ? undefined : [identity]
}

/**
 * Makes a write return the fields that identify its records: a write by one unique key (or by a
 * filter) still changes reads of the same record by its other unique keys (`findUnique` by email
 * after an update by id), so the extension asks for every unique field and reads the identities
 * off the result.
 *
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

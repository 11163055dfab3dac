/**
 * The models a read depends on besides its root: every model it reaches through `include`,
 * nested `select`, `_count`, relation filters (`some`, `every`, `none`, `is`, `isNot`, and the
 * to-one shorthand) in `where` at any depth, and relation `orderBy`. A write to any of them may
 * change the read's result.
 */
import { isRecord } from '../is-record.js'
import type { ModelGraph, ModelNode } from '../schema/model-graph.js'

type Plain = Record<string, unknown>

/** An arguments object to walk: a `Date` in a filter is a value, not one. */
const isPlain = (value: unknown): value is Plain => isRecord(value) && !(value instanceof Date)

/** Walks one read's arguments; `reached` collects model names (the root only when re-entered). */
export class ReachedModels {
  readonly #graph: ModelGraph
  readonly reached = new Set<string>()

  constructor(graph: ModelGraph) {
    this.#graph = graph
  }

  /**
   * The arguments of a read of `model` (`where`, `include`, `select`, `orderBy`, `cursor`).
   * `named`: relations of `model` whose record the caller names itself (`linked-records.ts`):
   * their models are not marked reached, what they include further is.
   */
  args(model: ModelNode, args: unknown, named?: ReadonlySet<string>): void {
    if (!isPlain(args)) return
    this.where(model, args.where)
    this.where(model, args.cursor)
    this.projection(model, args.include, named)
    this.projection(model, args.select, named)
    this.orderBy(model, args.orderBy)
  }

  /** A `WhereInput` of `model`: boolean combinators, relation filters, scalar filters (skipped). */
  where(model: ModelNode, where: unknown): void {
    if (Array.isArray(where)) {
      for (const item of where) this.where(model, item)
      return
    }
    if (!isPlain(where)) return
    for (const key in where) {
      const value = where[key]
      if (key === 'AND' || key === 'OR' || key === 'NOT') {
        this.where(model, value)
        continue
      }
      const relation = model.relations.get(key)
      if (relation === undefined) continue
      const target = this.#reach(relation.target)
      if (target === undefined || !isPlain(value)) continue
      // `{ some | every | none | is | isNot: WhereInput }`, or the to-one shorthand `{ field: … }`.
      let wrapped = false
      for (const op of ['some', 'every', 'none', 'is', 'isNot'] as const) {
        if (op in value) {
          wrapped = true
          this.where(target, value[op])
        }
      }
      if (!wrapped) this.where(target, value)
    }
  }

  /** An `include` or `select` of `model`: relation fields and `_count`. */
  projection(model: ModelNode, projection: unknown, named?: ReadonlySet<string>): void {
    if (!isPlain(projection)) return
    for (const key in projection) {
      const value = projection[key]
      if (value === false || value === undefined) continue
      if (key === '_count') {
        this.#count(model, value)
        continue
      }
      const relation = model.relations.get(key)
      if (relation === undefined) continue
      const target =
        named?.has(key) === true ? this.#graph.model(relation.target) : this.#reach(relation.target)
      if (target !== undefined) this.args(target, value)
    }
  }

  /** `_count: true` counts every list relation; `_count: { select: { rel: true | { where } } }` some. */
  #count(model: ModelNode, value: unknown): void {
    const select = isPlain(value) ? value.select : undefined
    for (const relation of model.relations.values()) {
      if (!relation.isList) continue
      const chosen = isPlain(select) ? select[relation.field] : value === true ? true : undefined
      if (chosen === undefined || chosen === false) continue
      const target = this.#reach(relation.target)
      if (target !== undefined && isPlain(chosen)) this.where(target, chosen.where)
    }
  }

  /** `orderBy` by a related model's field (to-one) or by its `_count` (to-many). */
  orderBy(model: ModelNode, orderBy: unknown): void {
    if (Array.isArray(orderBy)) {
      for (const item of orderBy) this.orderBy(model, item)
      return
    }
    if (!isPlain(orderBy)) return
    for (const key in orderBy) {
      const relation = model.relations.get(key)
      if (relation === undefined) continue
      const target = this.#reach(relation.target)
      if (target !== undefined) this.orderBy(target, orderBy[key])
    }
  }

  #reach(name: string): ModelNode | undefined {
    this.reached.add(name)
    return this.#graph.model(name)
  }
}

/**
 * What a cached read depends on, as tags (see `keys/tags.ts` for their meaning): the tags its
 * arguments name (filters, orders, windows, aggregated fields, the record it asks for, the
 * relations it reaches), and a {@link RowSpec} for those only its result names (the rows it
 * returned, the parents whose children it counted). A write then invalidates the reads it can
 * change: one to a field a read neither returns nor filters, sorts or counts by, or to a row it
 * did not return, or a new row its filter cannot match, leaves it cached.
 */
import type { PinnedKey } from '../keys/record-identity.js'
import { TagNaming, UNKNOWN_VALUE } from '../keys/tags.js'
import {
  type Link,
  linkOf,
  type ModelGraph,
  type ModelNode,
  type Relation,
} from '../schema/model-graph.js'
import { bestEquality, type FilterShape, filterShape, isPlain } from './filter-shape.js'
import { type ChildSpec, type RowSpec, withFields } from './row-spec.js'

type Plain = Record<string, unknown>

/** One level of a read: rows of a model, by a filter, in an order, through a window. */
interface Level {
  /** At most one row can match (`findUnique`, a to-one relation): order and window do not matter. */
  unique?: boolean
  /** A window is implied (`findFirst`: one row). */
  windowed?: boolean
  /** The row is the one a unique key names: its row tags are written from the arguments. */
  record?: PinnedKey
  /** How the rows hang off a parent row (a relation's read). */
  link?: Link
}

export class ReadDependencies {
  readonly tags = new Set<string>()
  /** Every model the read depends on. */
  readonly models = new Set<string>()
  readonly #graph: ModelGraph
  readonly #naming: TagNaming

  constructor(graph: ModelGraph, naming: TagNaming) {
    this.#graph = graph
    this.#naming = naming
  }

  /**
   * A read of rows of `node` with `args` (this level's `where`, `orderBy`, `cursor`, `take`,
   * `skip`, `distinct`, `select`, `include`, `omit`): its tags, the spec of the rows it returns,
   * and the arguments to load it with (fields that identify rows added where a `select` or an
   * `omit` leaves them out; the spec strips them from the result).
   */
  rows(node: ModelNode, args: unknown, level: Level): { spec: RowSpec; args: unknown } {
    const a: Plain = isPlain(args) ? args : {}
    const n = this.#naming
    const model = node.name
    this.models.add(model)
    const shape = filterShape(this.#graph, node, a.where)
    const ordered = new Set<string>()
    this.#order(node, a.orderBy, ordered)
    for (const field of list(a.distinct)) ordered.add(field)
    if (isPlain(a.cursor)) for (const field of Object.keys(a.cursor)) ordered.add(field)
    const windowed =
      level.windowed === true || a.take !== undefined || a.skip !== undefined || isPlain(a.cursor)
    const hasOrder = list(a.orderBy).length > 0
    // Without an order, which rows a window holds may change with any write to the model.
    const coarse = shape.opaque || (windowed && !hasOrder && level.unique !== true)
    // Rows leaving before an offset window shift it: the read depends on the set as a whole.
    const offset = typeof a.skip === 'number' && a.skip > 0 && !isPlain(a.cursor)
    this.tags.add(n.unknown(model))
    if (coarse) this.tags.add(n.model(model))
    else if (level.record === undefined) {
      this.#membership(node, shape, ordered, level.link?.field, offset)
    }
    this.#relationFilters(shape)

    // Without an order, rows come back in their physical order, which any update of one of them
    // may change: the read depends on every field of its rows.
    const whole = !hasOrder && level.unique !== true
    const projection = this.#projection(node, a, shape, ordered, whole)
    const tagRows = !coarse
    const needed = new Set<string>(
      tagRows && level.record === undefined ? node.uniqueKeys[0]?.fields : [],
    )
    for (const child of projection.children) if (child.link) needed.add(child.link.parentField)
    // Rows writes cannot name (`*`): any read returning rows carries their tags.
    if (tagRows) this.#rowTags(model, '*', projection.content)
    if (level.record !== undefined && tagRows) {
      this.#rowTags(model, level.record.identity, projection.content)
    }
    const { args: loadArgs, added } = withFields(node, projection.args, needed)
    const spec: RowSpec = {
      node,
      content: projection.content,
      added,
      tagRows: tagRows && level.record === undefined,
      children: projection.children,
    }
    return { spec, args: loadArgs }
  }

  /**
   * The set of rows of `node` matching `shape`, depended on as a whole (a count, an aggregate, a
   * relation filter): any row entering or leaving it, or changing a field it reads. `linkField`:
   * the set is the children of each parent row, by this field (their values come with the result).
   */
  set(
    node: ModelNode,
    shape: FilterShape,
    linkField?: string,
    fields: Iterable<string> = [],
  ): void {
    const n = this.#naming
    const model = node.name
    this.models.add(model)
    this.tags.add(n.unknown(model))
    if (shape.opaque) this.tags.add(n.model(model))
    for (const field of shape.fields) this.tags.add(n.field(model, field))
    for (const field of fields) this.tags.add(n.field(model, field))
    if (linkField !== undefined) this.tags.add(n.field(model, linkField))
    const chosen = linkField ?? bestEquality(node, shape)
    if (chosen === undefined) {
      this.tags.add(n.created(model))
      this.tags.add(n.deleted(model))
    } else {
      const values = linkField === undefined ? (shape.equalities.get(chosen) ?? []) : []
      for (const value of [...values, UNKNOWN_VALUE]) {
        this.tags.add(n.created(model, chosen, value))
        this.tags.add(n.deleted(model, chosen, value))
      }
    }
    this.#relationFilters(shape)
  }

  /** Tags of the rows of `model` returned by identity (a record read names it in its arguments). */
  #rowTags(model: string, identity: string, content: readonly string[] | undefined): void {
    const n = this.#naming
    if (content === undefined) {
      this.tags.add(n.row(model, identity))
      return
    }
    this.tags.add(n.rowGone(model, identity))
    for (const field of content) this.tags.add(n.rowField(model, identity, field))
  }

  /**
   * Rows entering or leaving a read that returns them: through its filter's and order's fields,
   * and new rows, through the value of one field when every row it matches must hold a known one.
   */
  #membership(
    node: ModelNode,
    shape: FilterShape,
    ordered: ReadonlySet<string>,
    linkField: string | undefined,
    offset: boolean,
  ): void {
    const n = this.#naming
    const model = node.name
    const chosen = linkField ?? bestEquality(node, shape)
    for (const field of [...shape.fields, ...ordered]) {
      if (!shape.equalities.has(field) || offset) this.tags.add(n.field(model, field))
    }
    if (chosen === undefined) this.tags.add(n.created(model))
    else this.tags.add(n.created(model, chosen, UNKNOWN_VALUE))
    if (offset) {
      if (chosen === undefined) this.tags.add(n.deleted(model))
      else this.tags.add(n.deleted(model, chosen, UNKNOWN_VALUE))
    }
    for (const [field, values] of shape.equalities) {
      for (const value of values) {
        if (field === chosen) {
          this.tags.add(n.created(model, field, value))
          if (offset) this.tags.add(n.deleted(model, field, value))
        } else this.tags.add(n.entered(model, field, value))
      }
      if (field !== chosen) this.tags.add(n.entered(model, field, UNKNOWN_VALUE))
    }
  }

  /** Relation filters depend on the related sets as wholes (and many-to-many links). */
  #relationFilters(shape: FilterShape): void {
    for (const { relation, target, shape: inner } of shape.relations) {
      if (relation.joinTable !== undefined) this.tags.add(this.#naming.links(relation.joinTable))
      const back = linkOf(this.#graph, relation)
      this.set(target, inner, undefined, back === undefined ? [] : [back.field])
    }
  }

  /** Fields an `orderBy` sorts by; relation orders add the related models' dependencies. */
  #order(node: ModelNode, orderBy: unknown, into: Set<string>): void {
    for (const entry of list(orderBy)) {
      if (!isPlain(entry)) continue
      for (const key of Object.keys(entry)) {
        const value = entry[key]
        const relation = node.relations.get(key)
        const target = relation === undefined ? undefined : this.#graph.model(relation.target)
        if (relation === undefined || target === undefined) {
          if (key === '_relevance' && isPlain(value)) {
            for (const field of list(value.fields)) into.add(field)
          } else into.add(key)
          continue
        }
        for (const field of relation.foreignKey) into.add(field)
        if (relation.joinTable !== undefined) this.tags.add(this.#naming.links(relation.joinTable))
        if (relation.isList) {
          // `{ reviews: { _count: 'desc' } }`: how many rows each parent has.
          const back = linkOf(this.#graph, relation)
          this.set(target, filterShape(this.#graph, target, undefined), back?.field)
        } else {
          const inner = new Set<string>()
          this.#order(target, value, inner)
          this.models.add(target.name)
          this.tags.add(this.#naming.unknown(target.name))
          for (const field of inner) this.tags.add(this.#naming.field(target.name, field))
        }
      }
    }
  }

  /**
   * What a level returns: its content fields (`undefined`: every scalar field), and the reads of
   * the relations and counts it includes or selects.
   */
  #projection(
    node: ModelNode,
    a: Plain,
    shape: FilterShape,
    ordered: ReadonlySet<string>,
    whole: boolean,
  ): { content: readonly string[] | undefined; children: ChildSpec[]; args: Plain } {
    const select = isPlain(a.select) ? a.select : undefined
    const include = isPlain(a.include) ? a.include : undefined
    const omit = isPlain(a.omit) ? a.omit : undefined
    const content = new Set<string>()
    const children: ChildSpec[] = []
    const nested: Plain = {}
    for (const field of node.scalars) {
      if (select === undefined ? omit?.[field] !== true : isSelected(select[field])) {
        content.add(field)
      }
    }
    for (const [key, value] of Object.entries(select ?? include ?? {})) {
      if (!isSelected(value)) continue
      if (key === '_count') {
        children.push(...this.#counts(node, value))
        continue
      }
      const relation = node.relations.get(key)
      if (relation === undefined) continue
      for (const field of relation.foreignKey) content.add(field)
      const child = this.#relation(relation, value)
      if (child === undefined) continue
      children.push(child.spec)
      if (child.args !== value) nested[key] = child.args
    }
    for (const field of [...shape.fields, ...ordered]) {
      if (node.fields.has(field)) content.add(field)
    }
    const full = whole || node.scalars.every((field) => content.has(field))
    let args = a
    if (Object.keys(nested).length > 0) {
      const key = select === undefined ? 'include' : 'select'
      args = { ...a, [key]: { ...(select ?? include), ...nested } }
    }
    return { content: full ? undefined : [...content], children, args }
  }

  /** The read of one included or selected relation. */
  #relation(relation: Relation, value: unknown): { spec: ChildSpec; args: unknown } | undefined {
    const target = this.#graph.model(relation.target)
    if (target === undefined) return undefined
    if (relation.joinTable !== undefined) this.tags.add(this.#naming.links(relation.joinTable))
    const link = linkOf(this.#graph, relation)
    const args = value === true ? {} : value
    const child = this.rows(target, args, { unique: !relation.isList, link })
    const spec: ChildSpec = {
      property: relation.field,
      rows: child.spec,
      link: link === undefined ? undefined : { ...link, node: target, counted: false },
    }
    return { spec, args: child.args === args ? value : child.args }
  }

  /** `_count: true` (every list relation) or `_count: { select: { rel: true | { where } } }`. */
  #counts(node: ModelNode, value: unknown): ChildSpec[] {
    const chosen = isPlain(value) && isPlain(value.select) ? value.select : undefined
    const specs: ChildSpec[] = []
    for (const relation of node.relations.values()) {
      if (!relation.isList) continue
      const selection = chosen === undefined ? value === true : chosen[relation.field]
      if (!isSelected(selection)) continue
      const target = this.#graph.model(relation.target)
      if (target === undefined) continue
      if (relation.joinTable !== undefined) this.tags.add(this.#naming.links(relation.joinTable))
      const where = isPlain(selection) ? selection.where : undefined
      const link = linkOf(this.#graph, relation)
      this.set(target, filterShape(this.#graph, target, where), link?.field)
      if (link !== undefined) {
        specs.push({
          property: '_count',
          rows: undefined,
          link: { ...link, node: target, counted: true },
        })
      }
    }
    return specs
  }
}

function isSelected(value: unknown): boolean {
  return value !== undefined && value !== false && value !== null
}

/** `x`, `[x, y]` or nothing, as a list. */
function list(value: unknown): unknown[] & string[] {
  if (value === undefined || value === null) return []
  return (Array.isArray(value) ? value : [value]) as unknown[] & string[]
}

/** The models a read of `node` with `args` depends on (its own included). */
export function modelsRead(graph: ModelGraph, node: ModelNode, args: unknown): ReadonlySet<string> {
  const deps = new ReadDependencies(graph, new TagNaming(''))
  deps.rows(node, args, {})
  return deps.models
}

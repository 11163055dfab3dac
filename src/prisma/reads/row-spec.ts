/**
 * The tags only a read's result names: the rows it returned (by their primary key) and, for its
 * relations, the parent values their rows hang off (a review created under product 5 changes the
 * reads that included product 5's reviews, not product 6's). Computed once per fill, by walking
 * the loaded value along the read's {@link RowSpec}.
 */
import { isRecord } from '../../option-checks.js'
import { identityOf, valueText } from '../keys/record-identity.js'
import type { TagNaming } from '../keys/tags.js'
import type { ModelNode } from '../schema/model-graph.js'
import { isPlain } from './filter-shape.js'

/** How the rows of one level of a read are tagged once loaded. */
export interface RowSpec {
  readonly node: ModelNode
  /** The fields a row's tags name (a narrow read); `undefined`: every field (one tag per row). */
  readonly content: readonly string[] | undefined
  /** Fields the load added to identify rows or reach children: removed from the result. */
  readonly added: readonly string[]
  /** Whether the rows get row tags (not for a record named by the arguments, or a coarse level). */
  readonly tagRows: boolean
  readonly children: readonly ChildSpec[]
}

/** A relation (or a relation's count) of the rows of a level. */
export interface ChildSpec {
  /** The property of a parent row holding the child rows (`reviews`), or `_count`. */
  readonly property: string
  /** The child level; `undefined` for a count. */
  readonly rows: RowSpec | undefined
  /** The child's `field` equals the parent's `parentField`: new children are found by it. */
  readonly link:
    | {
        readonly node: ModelNode
        readonly field: string
        readonly parentField: string
        /** A count: children deleted change it too. */
        readonly counted: boolean
      }
    | undefined
}

/** Past this many tags for one level's rows, the level is tagged by its fields instead. */
const MAX_ROW_TAGS = 256

/**
 * `args` (a level's arguments) with `fields` added to its `select`, or taken out of its `omit`,
 * where they are missing, and the fields added (to strip from the result).
 */
export function withFields(
  node: ModelNode,
  args: Record<string, unknown>,
  fields: ReadonlySet<string>,
): { args: Record<string, unknown>; added: string[] } {
  const added: string[] = []
  if (isPlain(args.select)) {
    const select = args.select
    for (const field of fields)
      if (select[field] !== true && node.fields.has(field)) added.push(field)
    if (added.length === 0) return { args, added }
    const extended = { ...select }
    for (const field of added) extended[field] = true
    return { args: { ...args, select: extended }, added }
  }
  if (isPlain(args.omit)) {
    const omit = args.omit
    for (const field of fields) if (omit[field] === true) added.push(field)
    if (added.length === 0) return { args, added }
    const kept = { ...omit }
    for (const field of added) kept[field] = false
    return { args: { ...args, omit: kept }, added }
  }
  return { args, added }
}

/**
 * The tags `value` (a loaded result of the read `root` describes) names, with the fields the
 * load added removed from it.
 */
export function resultTags(root: RowSpec, value: unknown, naming: TagNaming): string[] {
  const walk = new Walk()
  walk.level(root, Array.isArray(value) ? value : [value])
  const tags: string[] = []
  for (const [spec, identities] of walk.rows) levelTags(spec, identities, naming, tags)
  for (const [child, values] of walk.links) linkTags(child, values, naming, tags)
  return tags
}

class Walk {
  /** Identities of the rows of each level (`undefined` once a row could not be identified). */
  readonly rows = new Map<RowSpec, Set<string> | undefined>()
  /** Parent values of each relation's link (`undefined` once one was missing from a row). */
  readonly links = new Map<ChildSpec, Set<string> | undefined>()

  level(spec: RowSpec, rows: readonly unknown[]): void {
    for (const row of rows) {
      if (!isRecord(row)) continue
      if (spec.tagRows) this.#identify(spec, row)
      for (const child of spec.children) {
        if (child.link !== undefined) this.#link(child, row[child.link.parentField])
        const nested = row[child.property]
        if (child.rows !== undefined && nested !== undefined && nested !== null) {
          this.level(child.rows, Array.isArray(nested) ? nested : [nested])
        }
      }
      for (const field of spec.added) delete row[field]
    }
    if (spec.tagRows && !this.rows.has(spec)) this.rows.set(spec, new Set())
  }

  /** A parent's value for a relation's link: `null` links no child. */
  #link(child: ChildSpec, parentValue: unknown): void {
    const values = this.links.get(child)
    if (parentValue === null || (values === undefined && this.links.has(child))) return
    const text = valueText(child.link!.node.fields.get(child.link!.field), parentValue)
    if (text === undefined) this.links.set(child, undefined)
    else if (values === undefined) this.links.set(child, new Set([text]))
    else values.add(text)
  }

  #identify(spec: RowSpec, row: Record<string, unknown>): void {
    const known = this.rows.get(spec)
    if (known === undefined && this.rows.has(spec)) return
    const key = spec.node.uniqueKeys[0]
    const identity =
      key === undefined
        ? undefined
        : identityOf(
            spec.node,
            key,
            key.fields.map((f) => row[f]),
          )
    if (identity === undefined) {
      this.rows.set(spec, undefined)
      return
    }
    if (known === undefined) this.rows.set(spec, new Set([identity]))
    else known.add(identity)
  }
}

/** Row tags of one level, or its fields' tags when the rows are too many or not identified. */
function levelTags(
  spec: RowSpec,
  identities: ReadonlySet<string> | undefined,
  n: TagNaming,
  tags: string[],
): void {
  const model = spec.node.name
  const perRow = spec.content === undefined ? 1 : spec.content.length + 1
  if (identities === undefined || identities.size * perRow > MAX_ROW_TAGS) {
    if (spec.content === undefined) tags.push(n.model(model))
    else {
      tags.push(n.deleted(model))
      for (const field of spec.content) tags.push(n.field(model, field))
    }
    return
  }
  for (const identity of identities) {
    if (spec.content === undefined) {
      tags.push(n.row(model, identity))
      continue
    }
    tags.push(n.rowGone(model, identity))
    for (const field of spec.content) tags.push(n.rowField(model, identity, field))
  }
}

/** New (and, for counts, deleted) children of the parents a read saw. */
function linkTags(
  child: ChildSpec,
  values: ReadonlySet<string> | undefined,
  n: TagNaming,
  tags: string[],
) {
  const { node, field, counted } = child.link!
  if (values === undefined || values.size > MAX_ROW_TAGS) {
    tags.push(n.created(node.name))
    if (counted) tags.push(n.deleted(node.name))
    return
  }
  for (const value of values) {
    tags.push(n.created(node.name, field, value))
    if (counted) tags.push(n.deleted(node.name, field, value))
  }
}

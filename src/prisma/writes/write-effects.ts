/**
 * What writes changed: per model, rows created, updated (which fields, to which values) or
 * deleted, named by identity where known, and links of many-to-many relations. Turned into tags
 * (`keys/tags.ts`) once the writes have committed.
 */

import { valueText } from '../keys/record-identity.js'
import { type TagNaming, UNKNOWN_VALUE } from '../keys/tags.js'
import type { ModelGraph, ModelNode } from '../schema/model-graph.js'

/** Field values of one row a write knows (the rest are unknown to it). */
export type RowValues = Readonly<Record<string, unknown>>

/** One kind of change to rows of one model. */
export interface Change {
  readonly model: string
  readonly kind: 'create' | 'update' | 'delete'
  /** Identities of the rows (every unique key a write knows), `undefined` when not named. */
  readonly identities: readonly string[] | undefined
  /** Fields an update wrote (its `@updatedAt` fields included). */
  readonly fields: readonly string[]
  /**
   * What the write knows of the rows' values: the created rows, an update's new values, the
   * deleted rows. `[]`: nothing.
   */
  readonly rows: readonly RowValues[]
}

export class WriteEffects {
  readonly #changes: Change[] = []
  readonly #links = new Set<string>()
  /** The models whose rows are linked by the join tables in `#links`. */
  readonly #linkedModels = new Set<string>()
  /** Models changed in ways nobody can describe (raw SQL). */
  readonly #unknown = new Set<string>()
  /** Set by a raw statement the extension cannot read: every cached read must go. */
  #everything = false

  /** Rows of `model` were created, with what is known of them. */
  created(model: string, rows: readonly RowValues[]): this {
    this.#changes.push({ model, kind: 'create', identities: undefined, fields: [], rows })
    return this
  }

  /** `fields` of rows of `model` were set (`rows`: the new values known). */
  updated(
    model: string,
    identities: readonly string[] | undefined,
    fields: readonly string[],
    rows: readonly RowValues[] = [],
  ): this {
    if (fields.length === 0) return this
    this.#changes.push({ model, kind: 'update', identities, fields, rows })
    return this
  }

  /** Rows of `model` were deleted (`rows`: what is known of them). */
  deleted(
    model: string,
    identities: readonly string[] | undefined,
    rows: readonly RowValues[] = [],
  ): this {
    this.#changes.push({ model, kind: 'delete', identities, fields: [], rows })
    return this
  }

  /** Links of a many-to-many relation changed (`_ProductToTag`, between `models`). */
  linked(joinTable: string, models: readonly string[]): this {
    this.#links.add(joinTable)
    for (const model of models) this.#linkedModels.add(model)
    return this
  }

  /** `model` changed in ways not known (raw SQL on its table). */
  unknown(model: string): this {
    this.#unknown.add(model)
    return this
  }

  /** Anything may have changed (raw SQL the extension cannot read). */
  everything(): this {
    this.#everything = true
    return this
  }

  get isEverything(): boolean {
    return this.#everything
  }

  get isEmpty(): boolean {
    return (
      !this.#everything &&
      this.#changes.length === 0 &&
      this.#links.size === 0 &&
      this.#unknown.size === 0
    )
  }

  /** Adds what `other` changed. */
  merge(other: WriteEffects): this {
    if (other.#everything) this.#everything = true
    this.#changes.push(...other.#changes)
    for (const link of other.#links) this.#links.add(link)
    for (const model of other.#linkedModels) this.#linkedModels.add(model)
    for (const model of other.#unknown) this.#unknown.add(model)
    return this
  }

  /** The models touched (their rows, or their links), for the replica router and events. */
  models(): string[] {
    const changed = this.#changes.map((c) => c.model)
    return [...new Set([...changed, ...this.#unknown, ...this.#linkedModels])]
  }

  /** The tags to invalidate (see `keys/tags.ts`). */
  tags(naming: TagNaming, graph: ModelGraph): string[] {
    const tags = new Set<string>()
    if (this.#everything) {
      for (const node of graph.models()) {
        tags.add(naming.model(node.name))
        tags.add(naming.unknown(node.name))
        for (const table of node.joinTables) tags.add(naming.links(table))
      }
      return [...tags]
    }
    for (const model of this.#unknown) {
      tags.add(naming.model(model))
      tags.add(naming.unknown(model))
    }
    for (const table of this.#links) tags.add(naming.links(table))
    for (const change of this.#changes) {
      const node = graph.model(change.model)
      if (node !== undefined) changeTags(change, node, naming, tags)
    }
    return [...tags]
  }
}

function changeTags(change: Change, node: ModelNode, n: TagNaming, tags: Set<string>): void {
  const model = node.name
  tags.add(n.model(model))
  const identities = change.identities ?? ['*']
  switch (change.kind) {
    case 'create':
      tags.add(n.created(model))
      for (const field of node.valueFields) {
        for (const value of valuesOf(node, field, change.rows))
          tags.add(n.created(model, field, value))
      }
      return
    case 'update': {
      const rekeyed = change.fields.some((field) => node.uniqueFields.has(field))
      for (const identity of identities) {
        tags.add(n.row(model, identity))
        if (rekeyed) tags.add(n.rowGone(model, identity))
        for (const field of change.fields) tags.add(n.rowField(model, identity, field))
      }
      for (const field of change.fields) {
        tags.add(n.field(model, field))
        if (!node.valueFields.has(field)) continue
        for (const value of valuesOf(node, field, change.rows)) {
          tags.add(n.created(model, field, value))
          tags.add(n.entered(model, field, value))
        }
      }
      return
    }
    case 'delete':
      for (const identity of identities) {
        tags.add(n.row(model, identity))
        tags.add(n.rowGone(model, identity))
      }
      tags.add(n.deleted(model))
      for (const field of node.valueFields) {
        for (const value of valuesOf(node, field, change.rows))
          tags.add(n.deleted(model, field, value))
      }
      for (const table of node.joinTables) tags.add(n.links(table))
  }
}

/** The texts of `field`'s values in `rows`, `?` for a row (or no rows) that does not say. */
function valuesOf(node: ModelNode, field: string, rows: readonly RowValues[]): Set<string> {
  const texts = new Set<string>()
  if (rows.length === 0) texts.add(UNKNOWN_VALUE)
  const definition = node.fields.get(field)
  for (const row of rows) {
    const text = field in row ? valueText(definition, row[field]) : undefined
    texts.add(text ?? UNKNOWN_VALUE)
  }
  return texts
}

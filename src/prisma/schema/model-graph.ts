/**
 * The models of a Prisma schema as invalidation sees them: which field of which model leads to
 * which other model, which side of a relation holds the foreign key, the unique keys that
 * identify a record, the tables behind the models (raw SQL names tables), and what PostgreSQL
 * changes in other tables when a row is deleted or its referenced key changes.
 */
import type { Datamodel, DmmfField, DmmfModel, ReferentialAction } from './dmmf.js'

/** A set of fields whose values identify one record: the primary key or a unique constraint. */
export interface UniqueKey {
  /** Its name in a `WhereUniqueInput`: the field (`id`) or compound name (`productId_userId`). */
  readonly name: string
  readonly fields: readonly string[]
}

/** A relation field, seen from the model that declares it. */
export interface Relation {
  readonly field: string
  readonly target: string
  readonly isList: boolean
  /** The foreign key columns are in this model's table (so connecting changes this record). */
  readonly holdsForeignKey: boolean
  /** Those columns' fields, when this model holds them (`['categoryId']`). */
  readonly foreignKey: readonly string[]
  /** Implicit many-to-many: the links live in a join table (`_CategoryToPost`). */
  readonly joinTable: string | undefined
}

/** A foreign key in another model that references this one: what PostgreSQL does to its rows. */
export interface Referrer {
  readonly model: string
  /** Fields of this (the referenced) model the key points at. */
  readonly references: readonly string[]
  readonly onDelete: ReferentialAction
  readonly onUpdate: ReferentialAction
}

/** One model of the graph. */
export interface ModelNode {
  readonly name: string
  /** The table (`@@map` or the model name) and its schema (`@@schema`, else the connection's). */
  readonly table: string
  readonly schema: string | undefined
  readonly fields: ReadonlyMap<string, DmmfField>
  readonly relations: ReadonlyMap<string, Relation>
  /** Primary key first, then each unique constraint. */
  readonly uniqueKeys: readonly UniqueKey[]
  /** Every field that is part of some unique key. */
  readonly uniqueFields: ReadonlySet<string>
  /** Foreign keys of other models pointing here. */
  readonly referrers: readonly Referrer[]
}

/** The models of one schema, by name and by table. */
export class ModelGraph {
  readonly #models = new Map<string, ModelNode>()
  readonly #tables = new Map<string, string[]>()

  constructor(datamodel: Datamodel) {
    const referrers = new Map<string, Referrer[]>()
    for (const model of datamodel.models) {
      for (const field of model.fields) {
        const ref = referrerOf(model, field)
        if (ref === undefined) continue
        const list = referrers.get(field.type) ?? []
        list.push(ref)
        referrers.set(field.type, list)
      }
    }
    for (const model of datamodel.models) {
      const node = buildNode(model, datamodel, referrers.get(model.name) ?? [])
      this.#models.set(model.name, node)
      this.#indexTable(node.schema, node.table, node.name)
      for (const relation of node.relations.values()) {
        if (relation.joinTable !== undefined)
          this.#indexTable(node.schema, relation.joinTable, node.name)
      }
    }
  }

  /** The model called `name` (as Prisma names it: `Product`), if the schema has it. */
  model(name: string): ModelNode | undefined {
    return this.#models.get(name)
  }

  /** Every model. */
  models(): IterableIterator<ModelNode> {
    return this.#models.values()
  }

  /**
   * The models whose reads a write to `table` may change: the model mapped to it, or both sides
   * of an implicit many-to-many join table. Names compare as PostgreSQL resolves them (the
   * caller folds unquoted identifiers); a schema-less name matches a table in any schema.
   */
  modelsOfTable(schema: string | undefined, table: string): readonly string[] {
    const inSchema = schema === undefined ? undefined : this.#tables.get(`${schema}.${table}`)
    return inSchema ?? this.#tables.get(table) ?? []
  }

  #indexTable(schema: string | undefined, table: string, model: string): void {
    for (const name of schema === undefined ? [table] : [table, `${schema}.${table}`]) {
      const list = this.#tables.get(name) ?? []
      if (!list.includes(model)) list.push(model)
      this.#tables.set(name, list)
    }
  }
}

function buildNode(model: DmmfModel, datamodel: Datamodel, referrers: Referrer[]): ModelNode {
  const fields = new Map(model.fields.map((field) => [field.name, field]))
  const relations = new Map<string, Relation>()
  for (const field of model.fields) {
    if (field.kind !== 'object') continue
    const holds = (field.relationFromFields?.length ?? 0) > 0
    const other = datamodel.models
      .find((m) => m.name === field.type)
      ?.fields.find((f) => f.relationName === field.relationName && f !== field)
    const manyToMany = field.isList && other?.isList === true
    relations.set(field.name, {
      field: field.name,
      target: field.type,
      isList: field.isList,
      holdsForeignKey: holds,
      foreignKey: field.relationFromFields ?? [],
      joinTable: manyToMany ? `_${field.relationName}` : undefined,
    })
  }
  const uniqueKeys = uniqueKeysOf(model)
  return {
    name: model.name,
    table: model.dbName ?? model.name,
    schema: model.schema ?? undefined,
    fields,
    relations,
    uniqueKeys,
    uniqueFields: new Set(uniqueKeys.flatMap((key) => key.fields)),
    referrers,
  }
}

function uniqueKeysOf(model: DmmfModel): UniqueKey[] {
  const keys: UniqueKey[] = []
  const id = model.fields.find((field) => field.isId)
  if (id !== undefined) keys.push({ name: id.name, fields: [id.name] })
  else if (model.primaryKey !== null) {
    const { name, fields } = model.primaryKey
    keys.push({ name: name ?? fields.join('_'), fields })
  }
  for (const field of model.fields) {
    if (field.isUnique) keys.push({ name: field.name, fields: [field.name] })
  }
  for (const index of model.uniqueIndexes) {
    keys.push({ name: index.name ?? index.fields.join('_'), fields: index.fields })
  }
  return keys
}

/**
 * The foreign key `field` declares, as seen from the model it references. Prisma's defaults when
 * the schema names no action: `SetNull` on delete for an optional relation, `Restrict` for a
 * required one; `Cascade` on update.
 */
function referrerOf(model: DmmfModel, field: DmmfField): Referrer | undefined {
  if (field.kind !== 'object' || (field.relationFromFields?.length ?? 0) === 0) return undefined
  return {
    model: model.name,
    references: field.relationToFields ?? [],
    onDelete: field.relationOnDelete ?? (field.isRequired ? 'Restrict' : 'SetNull'),
    onUpdate: field.relationOnUpdate ?? 'Cascade',
  }
}

/**
 * The models of a Prisma schema as invalidation sees them: which field of which model leads to
 * which other model, which side of a relation holds the foreign key, the unique keys that
 * identify a record, the tables and columns behind the models (raw SQL names those), and what
 * PostgreSQL changes in other tables when a row is deleted or its referenced key changes.
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
  /** Prisma's name of the relation, the same on both sides (`ProductToReview`). */
  readonly name: string
  readonly target: string
  readonly isList: boolean
  /** The foreign key columns are in this model's table (so connecting changes this record). */
  readonly holdsForeignKey: boolean
  /** Those columns' fields, when this model holds them (`['categoryId']`). */
  readonly foreignKey: readonly string[]
  /** The target's fields they reference, in the same order (`['id']`). */
  readonly references: readonly string[]
  /** The relation field on the other side (`products` for `Product.category`). */
  readonly inverse: string | undefined
  /** Implicit many-to-many: the links live in a join table (`_CategoryToPost`). */
  readonly joinTable: string | undefined
}

/** A foreign key in another model that references this one: what PostgreSQL does to its rows. */
export interface Referrer {
  readonly model: string
  /** The referencing model's fields that hold the key (they change with an update cascade). */
  readonly foreignKey: readonly string[]
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
  /** Scalar fields by their column (`@map` name, else the field name), for raw SQL. */
  readonly fieldsByColumn: ReadonlyMap<string, string>
  readonly relations: ReadonlyMap<string, Relation>
  /** Primary key first, then each unique constraint. */
  readonly uniqueKeys: readonly UniqueKey[]
  /** Every field that is part of some unique key. */
  readonly uniqueFields: ReadonlySet<string>
  /** Foreign keys of other models pointing here. */
  readonly referrers: readonly Referrer[]
  /** The fields those foreign keys reference (usually the primary key). */
  readonly referenced: ReadonlySet<string>
  /** Scalar and enum fields (the columns of the model's table). */
  readonly scalars: readonly string[]
  /** `@updatedAt` fields: Prisma sets them on every update of a row. */
  readonly updatedAt: readonly string[]
  /**
   * Fields whose values tags name (`<ns>:M+f=v`, `tags.ts`): single Int, BigInt, String,
   * Boolean and enum fields, what filters compare for equality.
   */
  readonly valueFields: ReadonlySet<string>
  /** Static defaults (`@default(0)`), what a created row holds when its data leaves them out. */
  readonly defaults: ReadonlyMap<string, unknown>
  /** The join tables of this model's implicit many-to-many relations. */
  readonly joinTables: readonly string[]
}

/** The models of one schema, by name and by table. */
export class ModelGraph {
  readonly #models = new Map<string, ModelNode>()
  /** Model tables, and (apart) implicit many-to-many join tables, by name and schema.name. */
  readonly #tables = new Map<string, string[]>()
  readonly #joinTables = new Map<string, string[]>()
  readonly #enums = new Map<string, readonly string[]>()

  constructor(datamodel: Datamodel) {
    for (const { name, values } of datamodel.enums ?? []) {
      this.#enums.set(
        name,
        values.map((value) => value.name),
      )
    }
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
      index(this.#tables, node.schema, node.table, node.name)
      for (const relation of node.relations.values()) {
        if (relation.joinTable !== undefined)
          index(this.#joinTables, node.schema, relation.joinTable, node.name)
      }
    }
  }

  /** The model called `name` (as Prisma names it: `Product`), if the schema has it. */
  model(name: string): ModelNode | undefined {
    return this.#models.get(name)
  }

  /** The values of enum `name` (`[]` for a type that is not an enum of the schema). */
  enumValues(name: string): readonly string[] {
    return this.#enums.get(name) ?? []
  }

  /** Every model. */
  models(): IterableIterator<ModelNode> {
    return this.#models.values()
  }

  /**
   * The model whose rows `table` holds (a list: two models may map one table). Names compare as
   * PostgreSQL resolves them (the caller folds unquoted identifiers); a schema-less name matches
   * a table in any schema.
   */
  modelsOfTable(schema: string | undefined, table: string): readonly string[] {
    return lookup(this.#tables, schema, table)
  }

  /** The two models an implicit many-to-many join table (`_ProductToTag`) links, if it is one. */
  modelsLinkedBy(schema: string | undefined, table: string): readonly string[] {
    return lookup(this.#joinTables, schema, table)
  }
}

function index(
  tables: Map<string, string[]>,
  schema: string | undefined,
  table: string,
  model: string,
): void {
  for (const name of schema === undefined ? [table] : [table, `${schema}.${table}`]) {
    const list = tables.get(name) ?? []
    if (!list.includes(model)) list.push(model)
    tables.set(name, list)
  }
}

function lookup(
  tables: Map<string, string[]>,
  schema: string | undefined,
  table: string,
): readonly string[] {
  const inSchema = schema === undefined ? undefined : tables.get(`${schema}.${table}`)
  return inSchema ?? tables.get(table) ?? []
}

function buildNode(model: DmmfModel, datamodel: Datamodel, referrers: Referrer[]): ModelNode {
  const fields = new Map(model.fields.map((field) => [field.name, field]))
  const fieldsByColumn = new Map(
    model.fields
      .filter((field) => field.kind !== 'object')
      .map((field) => [field.dbName ?? field.name, field.name]),
  )
  const relations = new Map<string, Relation>()
  for (const field of model.fields) {
    if (field.kind !== 'object') continue
    const holds = (field.relationFromFields?.length ?? 0) > 0
    // The other side: the same relation name, pointing back at this model (names are only
    // unique per pair of models: a schema may name several relations "user").
    const other = datamodel.models
      .find((m) => m.name === field.type)
      ?.fields.find(
        (f) => f.relationName === field.relationName && f.type === model.name && f !== field,
      )
    const manyToMany = field.isList && other?.isList === true
    relations.set(field.name, {
      field: field.name,
      name: field.relationName ?? '',
      target: field.type,
      isList: field.isList,
      holdsForeignKey: holds,
      foreignKey: field.relationFromFields ?? [],
      references: field.relationToFields ?? [],
      inverse: other?.name,
      joinTable: manyToMany ? `_${field.relationName}` : undefined,
    })
  }
  const uniqueKeys = uniqueKeysOf(model)
  const scalars = model.fields.filter((f) => f.kind === 'scalar' || f.kind === 'enum')
  const defaults = new Map<string, unknown>()
  for (const field of scalars) {
    const value = field.default
    if (value !== undefined && (typeof value !== 'object' || value === null)) {
      defaults.set(field.name, value)
    }
  }
  return {
    name: model.name,
    table: model.dbName ?? model.name,
    schema: model.schema ?? undefined,
    fields,
    fieldsByColumn,
    relations,
    uniqueKeys,
    uniqueFields: new Set(uniqueKeys.flatMap((key) => key.fields)),
    referrers,
    referenced: new Set(referrers.flatMap((ref) => ref.references)),
    scalars: scalars.map((f) => f.name),
    updatedAt: scalars.filter((f) => f.isUpdatedAt === true).map((f) => f.name),
    valueFields: new Set(scalars.filter(namesValues).map((f) => f.name)),
    defaults,
    joinTables: [
      ...new Set([...relations.values()].flatMap((r) => (r.joinTable ? [r.joinTable] : []))),
    ],
  }
}

/** Whether tags name the values of `field` (see {@link ModelNode.valueFields}). */
function namesValues(field: DmmfField): boolean {
  if (field.isList) return false
  return field.kind === 'enum' || ['Int', 'BigInt', 'String', 'Boolean'].includes(field.type)
}

/** How rows of a relation's target hang off a row of its model (see {@link linkOf}). */
export interface Link {
  /** The target's field... */
  readonly field: string
  /** ...equals this field of the row the relation starts from. */
  readonly parentField: string
}

/**
 * How the rows of `relation`'s target hang off a row of its model: the target's field that
 * equals one of the row's fields (the first pair of a compound foreign key). `undefined` for an
 * implicit many-to-many (its links live in a join table).
 */
export function linkOf(graph: ModelGraph, relation: Relation): Link | undefined {
  if (relation.joinTable !== undefined) return undefined
  let field: string | undefined
  let parentField: string | undefined
  if (relation.holdsForeignKey) {
    field = relation.references[0]
    parentField = relation.foreignKey[0]
  } else {
    const target = graph.model(relation.target)
    const back =
      relation.inverse === undefined ? undefined : target?.relations.get(relation.inverse)
    field = back?.foreignKey[0]
    parentField = back?.references[0]
  }
  return field === undefined || parentField === undefined ? undefined : { field, parentField }
}

/** The same fields, in any order. */
export function sameFields(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((field) => b.includes(field))
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
    foreignKey: field.relationFromFields ?? [],
    references: field.relationToFields ?? [],
    onDelete: field.relationOnDelete ?? (field.isRequired ? 'Restrict' : 'SetNull'),
    onUpdate: field.relationOnUpdate ?? 'Cascade',
  }
}

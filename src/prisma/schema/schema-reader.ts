/**
 * Reads the data model out of a Prisma schema's text: models, fields, relations, keys, `@map`s,
 * `@@schema`s, static defaults and enums, in the shape of Prisma's DMMF (`dmmf.ts`). Written for
 * cold starts: Prisma's own parser is 3 MB of WebAssembly whose first call costs a few hundred
 * milliseconds, where this costs about one; the schema it reads is the one a generated client
 * carries, which Prisma has already validated. It still rejects what it cannot read (bad syntax,
 * an unknown type), so that a schema given by hand fails at once rather than caching wrongly.
 */
import type { Datamodel, DmmfField, DmmfModel, ReferentialAction } from './dmmf.js'
import {
  type Attribute,
  type Block,
  type FieldLine,
  isCall,
  parseSchema,
  plain,
  type Value,
} from './schema-syntax.js'

const SCALARS = new Set([
  'String',
  'Boolean',
  'Int',
  'BigInt',
  'Float',
  'Decimal',
  'DateTime',
  'Json',
  'Bytes',
])
/** The arguments Prisma fills in for its generator functions when the schema gives none. */
const DEFAULT_FUNCTION_ARGS: Record<string, unknown[]> = { uuid: [4], cuid: [1] }

/** The data model of `schema`; throws an `Error` saying where it could not read it. */
export function readSchema(schema: string): Datamodel {
  const blocks = parseSchema(schema)
  // Views read like models; what the schema marks ignored is not in the client, nor here.
  const models = blocks.filter(
    (block) =>
      (block.keyword === 'model' || block.keyword === 'view') &&
      !block.attributes.some((attribute) => attribute.name === '@@ignore'),
  )
  const enums = blocks.filter((block) => block.keyword === 'enum')
  const modelNames = new Set(models.map((model) => model.name))
  const enumNames = new Set(enums.map((block) => block.name))
  return {
    models: models.map((model) => toModel(model, modelNames, enumNames)),
    enums: enums.map((block) => ({
      name: block.name,
      values: block.fields.map((value) => ({ name: value.name })),
    })),
  }
}

function toModel(block: Block, models: Set<string>, enums: Set<string>): DmmfModel {
  let primaryKey: DmmfModel['primaryKey'] = null
  const uniqueIndexes: { name: string | null; fields: string[] }[] = []
  let dbName: string | null = null
  let schema: string | null = null
  for (const attribute of block.attributes) {
    if (attribute.name === '@@id') primaryKey = compoundKey(attribute)
    else if (attribute.name === '@@unique') uniqueIndexes.push(compoundKey(attribute))
    else if (attribute.name === '@@map') dbName = stringArg(attribute)
    else if (attribute.name === '@@schema') schema = stringArg(attribute)
  }
  const fields = block.fields
    .filter((line) => !line.attributes.some((attribute) => attribute.name === '@ignore'))
    .map((line) => toField(block.name, line, models, enums))
    // Unsupported columns are not in Prisma's data model either: no query reads or writes them.
    .filter((field) => field.kind !== 'unsupported')
  return { name: block.name, dbName, schema, fields, primaryKey, uniqueIndexes }
}

function toField(model: string, line: FieldLine, models: Set<string>, enums: Set<string>) {
  const unsupported = line.type.startsWith('Unsupported(')
  const kind = models.has(line.type)
    ? 'object'
    : enums.has(line.type)
      ? 'enum'
      : unsupported
        ? 'unsupported'
        : SCALARS.has(line.type)
          ? 'scalar'
          : undefined
  if (kind === undefined) throw new Error(`${model}.${line.name}: unknown type ${line.type}`)
  const field: Record<string, unknown> = {
    name: line.name,
    kind,
    isList: line.list,
    isRequired: !line.optional,
    isUnique: false,
    isId: false,
    type: unsupported ? 'Unsupported' : line.type,
    nativeType: null,
    isUpdatedAt: false,
  }
  for (const attribute of line.attributes) {
    const { name } = attribute
    if (name === '@id') field.isId = true
    else if (name === '@unique') field.isUnique = true
    else if (name === '@updatedAt') field.isUpdatedAt = true
    else if (name === '@map') field.dbName = stringArg(attribute)
    else if (name === '@default') field.default = defaultValue(attribute.args[0], line.type, kind)
    else if (name.startsWith('@db.')) {
      field.nativeType = [name.slice(4), attribute.args.map((arg) => String(plain(arg)))]
    }
  }
  if (kind === 'object') Object.assign(field, relationOf(model, line))
  return field as unknown as DmmfField
}

function relationOf(model: string, line: FieldLine) {
  const attribute = line.attributes.find((a) => a.name === '@relation')
  const named = attribute?.named ?? {}
  const given = named.name ?? attribute?.args[0]
  const relation: Record<string, unknown> = {
    // Prisma's name for an unnamed relation: both model names, sorted, joined by "To".
    relationName: typeof given === 'string' ? given : [model, line.type].sort().join('To'),
    relationFromFields: fieldList(named.fields),
    relationToFields: fieldList(named.references),
  }
  if (named.onDelete !== undefined) relation.relationOnDelete = action(named.onDelete)
  if (named.onUpdate !== undefined) relation.relationOnUpdate = action(named.onUpdate)
  return relation
}

function action(value: Value): ReferentialAction {
  return plain(value) as ReferentialAction
}

/** `@@id`/`@@unique`: `([a, b], name: "x")` or `(fields: [a, b])`. */
function compoundKey(attribute: Attribute): { name: string | null; fields: string[] } {
  const name = attribute.named.name
  return {
    name: typeof name === 'string' ? name : null,
    fields: fieldList(attribute.named.fields ?? attribute.args[0]),
  }
}

/** `[a, b(sort: Desc)]` as `['a', 'b']`. */
function fieldList(value: Value | undefined): string[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) throw new Error('expected a list of fields')
  return value.map((item) => String(isCall(item) ? item.call : plain(item)))
}

function stringArg(attribute: Attribute): string {
  const value = attribute.named.name ?? attribute.args[0]
  if (typeof value !== 'string') throw new Error(`${attribute.name} expects a string`)
  return value
}

/** A `@default` as DMMF writes it: typed static values, `{ name, args }` for functions. */
function defaultValue(value: Value | undefined, type: string, kind: string): unknown {
  if (value === undefined) throw new Error('@default needs a value')
  if (Array.isArray(value)) return value.map((item) => defaultValue(item, type, kind))
  if (isCall(value)) {
    const args = value.args.map(plain)
    return {
      name: value.call,
      args: args.length > 0 ? args : (DEFAULT_FUNCTION_ARGS[value.call] ?? []),
    }
  }
  const raw = plain(value)
  if (kind === 'enum') return String(raw)
  switch (type) {
    case 'BigInt':
      return String(raw)
    case 'Int':
    case 'Float':
    case 'Decimal':
      return Number(raw)
    case 'DateTime':
      return typeof raw === 'string' ? rfc3339(raw) : raw
    default:
      return raw
  }
}

/** A static DateTime default as Prisma normalizes it (`2020-01-01T00:00:00+00:00`). */
function rfc3339(text: string): string {
  const date = new Date(text)
  if (Number.isNaN(date.getTime())) return text
  return date.toISOString().replace('.000Z', 'Z').replace(/Z$/, '+00:00')
}

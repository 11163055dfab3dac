/**
 * Prisma's data model (DMMF) of a schema: the parts of it invalidation reads, read from the
 * schema's text (`schema-reader.ts`). Prisma 7's generated client keeps only a stripped runtime
 * model (field names, kinds and relation names: no list or optional flags, keys, foreign keys,
 * referential actions, `@map`s or defaults), and invalidation needs all of those. And the model
 * graph of a Prisma client, parsed from the schema text it carries, once per distinct schema:
 * the extension and the database toolkit both read the schema this way.
 */
import { invalid } from '../../errors.js'
import { inlineSchemaOf } from '../prisma-internals.js'
import { ModelGraph } from './model-graph.js'
import { readSchema } from './schema-reader.js'

/** The referential actions PostgreSQL runs for a foreign key. */
export type ReferentialAction = 'Cascade' | 'Restrict' | 'NoAction' | 'SetNull' | 'SetDefault'

/** The parts of a DMMF field the extension reads. */
export interface DmmfField {
  readonly name: string
  /** The column's name (`@map`) when it is not the field's; raw SQL names columns. */
  readonly dbName?: string | null
  readonly kind: 'scalar' | 'object' | 'enum' | 'unsupported'
  readonly type: string
  readonly isList: boolean
  readonly isRequired: boolean
  readonly isId: boolean
  readonly isUnique: boolean
  readonly nativeType?: readonly [string, readonly string[]] | null
  /** Set by Prisma on every update (`@updatedAt`). */
  readonly isUpdatedAt?: boolean
  /** A static value (`@default(0)`) or a function (`{ name: 'now', args: [] }`). */
  readonly default?: unknown
  readonly relationName?: string
  readonly relationFromFields?: readonly string[]
  readonly relationToFields?: readonly string[]
  readonly relationOnDelete?: ReferentialAction
  readonly relationOnUpdate?: ReferentialAction
}

/** The parts of a DMMF model the extension reads. */
export interface DmmfModel {
  readonly name: string
  readonly dbName: string | null
  readonly schema: string | null
  readonly fields: readonly DmmfField[]
  readonly primaryKey: { readonly name: string | null; readonly fields: readonly string[] } | null
  readonly uniqueIndexes: readonly {
    readonly name: string | null
    readonly fields: readonly string[]
  }[]
}

export interface Datamodel {
  readonly models: readonly DmmfModel[]
  readonly enums?: readonly {
    readonly name: string
    readonly values: readonly { name: string }[]
  }[]
}

const parsed = new Map<string, Datamodel>()

/**
 * The data model of a Prisma schema (its text, as in `schema.prisma`). Read once per distinct
 * text (`schema-reader.ts`).
 *
 * @example
 * ```ts
 * const { models } = datamodelOf(readFileSync('prisma/schema.prisma', 'utf8'))
 * ```
 */
export function datamodelOf(schema: string): Datamodel {
  const known = parsed.get(schema)
  if (known !== undefined) return known
  let datamodel: Datamodel
  try {
    datamodel = readSchema(schema)
  } catch (error) {
    throw invalid('schema', `is not a valid Prisma schema: ${describe(error)}`)
  }
  parsed.set(schema, datamodel)
  return datamodel
}

function describe(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 500)
}

const graphs = new Map<string, ModelGraph>()

/**
 * The graph of `client`'s schema, or of `schema` (its text) when given. Throws a
 * `ValidationError` naming `field` when the client does not expose its schema and none is given.
 *
 * @example
 * ```ts
 * const graph = modelGraphOf(prisma)
 * graph.model('Product')?.uniqueKeys[0] // { name: 'id', fields: ['id'] }
 * ```
 */
export function modelGraphOf(
  client: unknown,
  schema?: string,
  field = 'options.schema',
): ModelGraph {
  const text = schema ?? requireInlineSchema(client, field)
  let graph = graphs.get(text)
  if (graph === undefined) {
    graph = new ModelGraph(datamodelOf(text))
    graphs.set(text, graph)
  }
  return graph
}

/** The schema text `client` carries (see `prisma-internals.ts`), or a `ValidationError`. */
function requireInlineSchema(client: unknown, field: string): string {
  const schema = inlineSchemaOf(client)
  if (schema === undefined) {
    throw invalid(
      field,
      'is required: this Prisma client does not expose its schema; pass its text (schema.prisma)',
    )
  }
  return schema
}

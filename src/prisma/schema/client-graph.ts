/**
 * The model graph of a Prisma client: parsed from the schema text the client carries, once per
 * distinct schema. The extension and the database toolkit both read the schema this way.
 */
import { invalid } from '../../errors.js'
import { inlineSchemaOf } from '../prisma-internals.js'
import { datamodelOf } from './dmmf.js'
import { ModelGraph } from './model-graph.js'

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

/**
 * Prisma's data model (DMMF) of a schema, computed by Prisma's own schema parser
 * (`@prisma/prisma-schema-wasm`, the one the CLI uses). Prisma 7's generated client keeps only a
 * stripped runtime model (field names and kinds, no keys, foreign keys or referential actions),
 * and invalidation needs all of those.
 */
import { invalid } from '../../errors.js'
import { packageRequire } from '../../module-url.js'

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

interface SchemaWasm {
  /**
   * The data model alone (`{ models, enums, types, indexes }`), as `get_dmmf(...).datamodel`:
   * about 25 KB of JSON for a schema of eight models where `get_dmmf` also writes every
   * operation's input types (over 1 MB), and a third of its time (80 ms against 250 ms of a cold
   * start, measured in bench/cold-start.ts).
   */
  get_datamodel(params: string): string
}

let wasm: SchemaWasm | undefined
const parsed = new Map<string, Datamodel>()

/**
 * The data model of a Prisma schema (its text, as in `schema.prisma`). Parsed once per distinct
 * text; the parser (about 3 MB of WebAssembly) is loaded on first use.
 *
 * @example
 * ```ts
 * const { models } = datamodelOf(readFileSync('prisma/schema.prisma', 'utf8'))
 * ```
 */
export function datamodelOf(schema: string): Datamodel {
  const known = parsed.get(schema)
  if (known !== undefined) return known
  wasm ??= packageRequire('@prisma/prisma-schema-wasm') as SchemaWasm
  let datamodel: Datamodel
  try {
    const params = JSON.stringify({ prismaSchema: [['schema.prisma', schema]] })
    datamodel = JSON.parse(wasm.get_datamodel(params))
  } catch (error) {
    throw invalid('schema', `is not a valid Prisma schema: ${describe(error)}`)
  }
  parsed.set(schema, datamodel)
  return datamodel
}

/** The parser reports errors as a JSON string of diagnostics; keep the first message readable. */
function describe(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error)
  try {
    const body = JSON.parse(text) as { message?: string }
    return (body.message ?? text).split('\n').slice(0, 6).join(' ').trim()
  } catch {
    return text.slice(0, 500)
  }
}

/**
 * The model behind a Prisma delegate (`prisma.product`), and checks that names coming from
 * outside (a sort field from a query string, search fields) are fields of that model.
 */
import { invalid } from '../errors.js'
import { describeValue } from '../option-checks.js'
import { modelGraphOf } from '../prisma/schema/client-graph.js'
import type { ModelNode } from '../prisma/schema/model-graph.js'

/** What the toolkit needs of a model delegate: Prisma 7 delegates carry their model's `$name`. */
export interface NamedDelegate {
  readonly $name?: unknown
}

/**
 * The schema model of `delegate`, looked up in `client`'s schema. Throws a `ValidationError`
 * naming `field` when `delegate` is not a model delegate of that client.
 *
 * @example
 * ```ts
 * modelOf(prisma, prisma.product, 'model').uniqueKeys[0].fields // ['id']
 * ```
 */
export function modelOf(client: unknown, delegate: unknown, field: string): ModelNode {
  const name = (delegate as NamedDelegate | null | undefined)?.$name
  if (typeof delegate !== 'object' || delegate === null || typeof name !== 'string') {
    throw invalid(field, 'must be a Prisma model delegate such as prisma.product')
  }
  const model = modelGraphOf(client, undefined, 'prisma').model(name)
  if (model === undefined) throw invalid(field, `model ${name} is not in this client's schema`)
  return model
}

/** Which kinds of field a name may denote: stored columns only, or relations too. */
export type FieldKinds = 'scalar' | 'any'

/**
 * `name` if it is a field of `model` (a scalar or enum column for `'scalar'`), else a
 * `ValidationError` naming `field` and listing what is allowed, so that no request sorts or
 * filters on a column the code did not mean to expose.
 *
 * @example
 * ```ts
 * checkField(model, request.query.sort, 'options.orderBy') // 'createdAt', or throws
 * ```
 */
export function checkField(
  model: ModelNode,
  name: unknown,
  field: string,
  kinds: FieldKinds = 'scalar',
): string {
  if (typeof name !== 'string' || name.length === 0) {
    throw invalid(field, `must be a field name of ${model.name}, got ${describeValue(name)}`)
  }
  const found = model.fields.get(name)
  if (found === undefined || (kinds === 'scalar' && !isColumn(found.kind))) {
    const allowed = [...model.fields.values()]
      .filter((f) => kinds === 'any' || isColumn(f.kind))
      .map((f) => f.name)
    throw invalid(
      field,
      `"${name}" is not a field of ${model.name} (one of: ${allowed.join(', ')})`,
    )
  }
  return name
}

function isColumn(kind: string): boolean {
  return kind === 'scalar' || kind === 'enum'
}

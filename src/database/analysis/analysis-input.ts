/** The query `QueryAnalyzer.analyze` is given: its types, and its validation. */
import type { Types } from '@prisma/client/runtime/client'
import { invalid } from '../../errors.js'
import { describeValue, isRecord } from '../../option-checks.js'
import { READ_OPERATIONS } from '../../prisma/reads/read-plan.js'
import type { ModelGraph, ModelNode } from '../../prisma/schema/model-graph.js'
import { WRITE_OPERATION_NAMES } from '../../prisma/writes/write-plan.js'

/** The model operations `analyze` runs (every Prisma model method that queries). */
export const MODEL_OPERATIONS = [...READ_OPERATIONS, ...WRITE_OPERATION_NAMES] as const

/** One of {@link MODEL_OPERATIONS}. */
export type ModelOperation = (typeof MODEL_OPERATIONS)[number]

/** The client's delegate property names (`product`), which have `findMany`. */
type DelegateName<C> = {
  [K in keyof C]-?: K extends `$${string}`
    ? never
    : C[K] extends { findMany: (...args: never) => unknown }
      ? K
      : never
}[keyof C] &
  string

/** The client's model names as the schema spells them (`Product`). */
export type ModelName<C> = Capitalize<DelegateName<C>>

/** The arguments of `operation` on model `M`'s delegate, as Prisma types them. */
export type OperationArgs<C, M extends string, O extends ModelOperation> =
  Uncapitalize<M> extends keyof C ? Types.Public.Args<C[Uncapitalize<M>], O> : never

/** What `QueryAnalyzer.analyze` takes: a Prisma call spelled out. */
export interface AnalyzeQuery<C, M extends ModelName<C>, O extends ModelOperation> {
  /** The model, as the schema names it (`'Product'`); the delegate's name (`'product'`) works too. */
  model: M
  /** The operation (`findMany`, `update`...). */
  operation: O
  /** The call's arguments, exactly as for `prisma.product[operation](args)`. */
  args?: OperationArgs<C, M, O>
}

/** A validated query. */
export interface ResolvedQuery {
  model: ModelNode
  /** The delegate's property on the client (`product`). */
  delegate: string
  operation: ModelOperation
  args: Record<string, unknown>
}

/**
 * Validates `query` against `graph` and `client`, naming the field at fault (`query.model`,
 * `query.operation`, `query.args`).
 *
 * @example
 * ```ts
 * resolveQuery({ model: 'Product', operation: 'findMany' }, graph, prisma).delegate // 'product'
 * ```
 */
export function resolveQuery(query: unknown, graph: ModelGraph, client: object): ResolvedQuery {
  if (!isRecord(query)) throw invalid('query', `must be an object, got ${describeValue(query)}`)
  const { model: name, operation, args = {} } = query
  if (typeof name !== 'string' || name.length === 0) {
    throw invalid(
      'query.model',
      `must be a model name such as 'Product', got ${describeValue(name)}`,
    )
  }
  const model = graph.model(name) ?? graph.model(`${name.charAt(0).toUpperCase()}${name.slice(1)}`)
  if (model === undefined) {
    const names = [...graph.models()].map((m) => m.name)
    throw invalid(
      'query.model',
      `"${name}" is not a model of this client (one of: ${names.join(', ')})`,
    )
  }
  if (
    typeof operation !== 'string' ||
    !(MODEL_OPERATIONS as readonly string[]).includes(operation)
  ) {
    throw invalid(
      'query.operation',
      `must be one of ${MODEL_OPERATIONS.join(', ')}, got ${describeValue(operation)}`,
    )
  }
  if (!isRecord(args)) throw invalid('query.args', `must be an object, got ${describeValue(args)}`)
  const delegate = `${model.name.charAt(0).toLowerCase()}${model.name.slice(1)}`
  const target = (client as Record<string, unknown>)[delegate] as
    | Record<string, unknown>
    | undefined
  if (typeof target?.[operation] !== 'function') {
    throw invalid('query.model', `the client has no ${delegate}.${operation} method`)
  }
  return { model, delegate, operation: operation as ModelOperation, args }
}

/**
 * What every query pattern gets from its QueryPatterns: the client (for its schema and its
 * `$transaction`), the page size limit, and the model behind a delegate, with the fields a call
 * may name; all checked when the QueryPatterns is made.
 */
import { invalid } from '../../errors.js'
import { isTransactionClient } from '../../prisma/prisma-internals.js'
import { modelGraphOf } from '../../prisma/schema/dmmf.js'
import type { ModelNode } from '../../prisma/schema/model-graph.js'
import { type AllowedFields, allowedFieldsOf, type FieldKinds, modelOf } from './fields.js'
import { optionsObject } from './query-patterns-options.js'

/** The part of a Prisma client the patterns use besides the model delegates. */
interface TransactionClient {
  $transaction?: (queries: unknown[], options?: { isolationLevel?: string }) => Promise<unknown[]>
}

/** Settings and services shared by the pattern functions of one QueryPatterns. */
export class PatternContext {
  constructor(
    readonly client: unknown,
    readonly maxPageSize: number,
  ) {}

  /**
   * The context of `new QueryPatterns(prisma, options)`: a `ValidationError` on `prisma` (not a
   * Prisma client) or `options.maxPageSize`.
   */
  static of(prisma: object, options: unknown): PatternContext {
    modelGraphOf(prisma, undefined, 'prisma')
    const settings = optionsObject(options, 'options')
    const max = settings.maxPageSize ?? 100
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 100_000) {
      throw invalid('options.maxPageSize', 'must be an integer from 1 to 100000')
    }
    return new PatternContext(prisma, max)
  }

  /**
   * The model of an optional `delegate` and the fields of it a builder may name (of `kinds`,
   * and of `allowedFields` when given); no model and every name without a delegate.
   */
  restriction(
    delegate: unknown,
    allowedFields: readonly string[] | undefined,
    kinds: FieldKinds = 'scalar',
  ): { node: ModelNode | undefined; allowed: AllowedFields } {
    if (delegate === undefined) return { node: undefined, allowed: undefined }
    const node = this.modelOf(delegate)
    return { node, allowed: allowedFieldsOf(node, allowedFields, 'options.allowedFields', kinds) }
  }

  /** The model of `delegate` (a `ValidationError` on `model` when it is not one of the client's). */
  modelOf(delegate: unknown): ModelNode {
    return modelOf(this.client, delegate, 'model')
  }

  /**
   * Runs Prisma queries (unstarted PrismaPromises) in one `$transaction([...])` batch: one
   * round trip, and with `snapshot` one REPEATABLE READ snapshot, so a `count` and a
   * `findMany` see the same rows (under READ COMMITTED each statement has its own snapshot and a
   * concurrent insert between them makes `total` disagree with `data`). A client without
   * `$transaction`, or an interactive transaction's `tx` (whose `$transaction([...])` would
   * run the batch outside it, blind to its uncommitted writes), is already inside one: the
   * queries run there, and see what its isolation level lets them see.
   */
  async batch(queries: PromiseLike<unknown>[], snapshot = false): Promise<unknown[]> {
    const client = this.client as TransactionClient
    if (typeof client.$transaction !== 'function' || isTransactionClient(client)) {
      return Promise.all(queries)
    }
    return client.$transaction(queries, snapshot ? { isolationLevel: 'RepeatableRead' } : undefined)
  }
}

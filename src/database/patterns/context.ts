/**
 * What every query pattern gets from its QueryPatterns: the client (for its schema and its
 * `$transaction`), the page size limit, and the model behind a delegate.
 */
import { isTransactionClient } from '../../prisma/prisma-internals.js'
import type { ModelNode } from '../../prisma/schema/model-graph.js'
import { modelOf } from '../model-of.js'

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

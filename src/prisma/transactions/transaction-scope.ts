/**
 * Guarantee 7 for Prisma: inside `$transaction`, writes do not invalidate when they run (other
 * readers would refill the cache from the database before the commit, with the old data) but
 * when the transaction commits, and not at all when it rolls back. A scope per transaction,
 * carried by AsyncLocalStorage into the queries its callback runs, collects their effects;
 * a nested transaction (a savepoint in Prisma 7) hands its effects to its parent when it
 * completes and drops them when it rolls back.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { WriteEffects } from '../writes/write-effects.js'

/**
 * Prisma 7 marks the client of an interactive transaction with this symbol (`{ kind: 'nested',
 * txId }`), which is how a `$transaction` called on it knows it is nested.
 */
const TX_SCOPE_CONTEXT = Symbol.for('prisma.client.transaction.scope_context')

/** The `transaction` Prisma passes to query hooks of a query that runs inside one. */
export interface PrismaTransactionInfo {
  readonly kind: 'itx' | 'batch'
  readonly id: string | number
}

export class TransactionScope {
  readonly kind: 'itx' | 'batch'
  readonly parent: TransactionScope | undefined
  /** The interactive transaction's id, known once its callback receives its client. */
  txId: string | undefined
  readonly pending = new WriteEffects()

  constructor(kind: 'itx' | 'batch', parent: TransactionScope | undefined) {
    this.kind = kind
    this.parent = parent
  }
}

type TransactionMethod = (this: unknown, input: unknown, options?: unknown) => Promise<unknown>

/** The scopes of the transactions running through one extended client. */
export class Transactions {
  readonly #current = new AsyncLocalStorage<TransactionScope>()

  /**
   * The scope a query belongs to, from the `transaction` Prisma gives its hook: the innermost
   * running scope of that interactive transaction, or the batch being run. `undefined` when the
   * query runs outside any transaction this extension saw start.
   */
  scopeOf(transaction: PrismaTransactionInfo): TransactionScope | undefined {
    let scope = this.#current.getStore()
    if (transaction.kind === 'batch') return scope?.kind === 'batch' ? scope : undefined
    while (scope !== undefined && scope.txId !== transaction.id) scope = scope.parent
    return scope
  }

  /**
   * Runs Prisma's own `$transaction` (`original`, called on `client`, the possibly extended client
   * the caller used) in a new scope, and on success hands the collected effects to `commit` (or
   * to the parent scope when nested) before resolving.
   */
  async run(
    original: TransactionMethod,
    client: object,
    input: unknown,
    options: unknown,
    commit: (effects: WriteEffects) => Promise<void>,
  ): Promise<unknown> {
    const outer = (client as Record<symbol, { kind?: string; txId?: string } | undefined>)[
      TX_SCOPE_CONTEXT
    ]
    const parent =
      outer?.kind === 'nested' && outer.txId !== undefined
        ? this.scopeOf({ kind: 'itx', id: outer.txId })
        : undefined
    let result: unknown
    if (typeof input === 'function') {
      const scope = new TransactionScope('itx', parent)
      const callback = (tx: Record<symbol, { txId?: string } | undefined>) => {
        scope.txId = tx[TX_SCOPE_CONTEXT]?.txId
        return this.#current.run(scope, () => (input as (tx: unknown) => unknown)(tx))
      }
      result = await original.call(client, callback, options)
      await this.#settle(scope, commit)
    } else {
      const scope = new TransactionScope('batch', parent)
      result = await this.#current.run(scope, () => original.call(client, input, options))
      await this.#settle(scope, commit)
    }
    return result
  }

  async #settle(scope: TransactionScope, commit: (effects: WriteEffects) => Promise<void>) {
    if (scope.pending.isEmpty) return
    if (scope.parent !== undefined) scope.parent.pending.merge(scope.pending)
    else await commit(scope.pending)
  }
}

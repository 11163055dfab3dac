/**
 * Guarantee 7 for Prisma: inside `$transaction`, writes do not invalidate when they run (other
 * readers would refill the cache from the database before the commit, with the old data) but
 * when the transaction commits, and not at all when it rolls back. A scope per transaction,
 * carried by AsyncLocalStorage into the queries its callback runs, collects their effects;
 * a nested transaction (a savepoint in Prisma 7) hands its effects to its parent when it
 * completes and drops them when it rolls back.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { type PrismaTransactionInfo, transactionScopeOf } from '../prisma-internals.js'
import { WriteEffects } from '../writes/write-effects.js'

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
    // A `$transaction` called on a transaction's client is nested in it.
    const outer = transactionScopeOf(client)
    const parent =
      outer?.kind === 'nested' && outer.txId !== undefined
        ? this.scopeOf({ kind: 'itx', id: outer.txId })
        : undefined
    let result: unknown
    if (typeof input === 'function') {
      const scope = new TransactionScope('itx', parent)
      let returned = false
      const callback = (tx: object) => {
        scope.txId = transactionScopeOf(tx)?.txId
        return this.#current.run(scope, async () => {
          const value = await (input as (tx: unknown) => unknown)(tx)
          returned = true
          return value
        })
      }
      try {
        result = await original.call(client, callback, options)
      } catch (error) {
        // The callback returned, so the failure is the commit's: a connection lost during COMMIT
        // leaves it unknown whether the writes committed. Invalidate as if they had.
        if (returned) await this.#settleAfterFailure(scope, commit)
        throw error
      }
      await this.#settle(scope, commit)
    } else {
      const scope = new TransactionScope('batch', parent)
      try {
        result = await this.#current.run(scope, () => original.call(client, input, options))
      } catch (error) {
        // A statement Prisma reports as failed rolled the batch back; anything else (a lost
        // connection, a transaction API error) may have come after its COMMIT.
        if (!isStatementError(error)) await this.#settleAfterFailure(scope, commit)
        throw error
      }
      await this.#settle(scope, commit)
    }
    return result
  }

  /** {@link settle} for a transaction that may have committed; the caller's error comes first. */
  async #settleAfterFailure(
    scope: TransactionScope,
    commit: (effects: WriteEffects) => Promise<void>,
  ): Promise<void> {
    try {
      await this.#settle(scope, commit)
    } catch {
      // Reported by the cache itself (an invalidation that fails is queued and counted there).
    }
  }

  async #settle(scope: TransactionScope, commit: (effects: WriteEffects) => Promise<void>) {
    if (scope.pending.isEmpty) return
    if (scope.parent !== undefined) scope.parent.pending.merge(scope.pending)
    else await commit(scope.pending)
  }
}

/**
 * Whether Prisma failed a statement of the transaction (a known request error, `P2xxx`), which
 * rolls it back, rather than the transaction itself (`P2028`) or the connection.
 */
function isStatementError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && /^P2\d{3}$/.test(code) && code !== 'P2028'
}

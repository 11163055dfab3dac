/**
 * Every undocumented part of Prisma Client that stratacache relies on, in one place. Each has
 * been stable across Prisma 5 to 7; the peer range (`@prisma/client >=7 <8`) is what the tests
 * run against. Anything here that a new Prisma version changes breaks in one file.
 *
 * - **The transaction client's scope symbol.** Prisma 7 marks the client an interactive
 *   transaction hands its callback with `Symbol.for('prisma.client.transaction.scope_context')`
 *   (`{ kind: 'nested', txId }`): how a read knows it runs inside a transaction (never cached),
 *   and how a `$transaction` called on that client knows it is nested.
 * - **`__internalParams` of a query hook**: `transaction` (`{ kind: 'itx' | 'batch', id }`) for a
 *   query inside a transaction, so that its write invalidates at the commit; `dataPath` for the
 *   fluent API's relation reads (`prisma.user.findUnique(...).posts()`).
 * - **`_engineConfig.inlineSchema`**: the schema text a Prisma 7 client carries (its query
 *   compiler needs it); the model graph is parsed from it. `withCache({ schema })` replaces it.
 * - **`requestTransaction` of a `PrismaPromise`**: how `$transaction([...])` runs a batch; a
 *   cached read forwards it to Prisma's own query.
 */

/** The symbol Prisma 7 puts on a transaction's client. */
export const TRANSACTION_SCOPE = Symbol.for('prisma.client.transaction.scope_context')

/** What {@link TRANSACTION_SCOPE} holds. */
export interface TransactionScopeContext {
  readonly kind?: string
  readonly txId?: string
}

/** The scope context of `client`, when it is a transaction's client. */
export function transactionScopeOf(client: object): TransactionScopeContext | undefined {
  return (client as Record<symbol, TransactionScopeContext | undefined>)[TRANSACTION_SCOPE]
}

/** Whether `client` is the client of an interactive transaction. */
export function isTransactionClient(client: object): boolean {
  return transactionScopeOf(client) !== undefined
}

/** The `transaction` Prisma passes to the query hooks of a query that runs inside one. */
export interface PrismaTransactionInfo {
  readonly kind: 'itx' | 'batch'
  readonly id: string | number
}

/** What Prisma passes to a query hook (`$allOperations`), with its internal parameters. */
export interface QueryHookParams<Transaction = PrismaTransactionInfo> {
  model?: string
  operation: string
  args: unknown
  query(args: unknown): Promise<unknown>
  __internalParams?: { transaction?: Transaction; dataPath?: readonly unknown[] }
}

/** The schema text a Prisma 7 client carries, if it does. */
export function inlineSchemaOf(client: unknown): string | undefined {
  const schema = (client as { _engineConfig?: { inlineSchema?: unknown } } | null)?._engineConfig
    ?.inlineSchema
  return typeof schema === 'string' && schema.length > 0 ? schema : undefined
}

/** The parts of Prisma's `PrismaPromise` the extension relies on. */
export interface PrismaPromiseLike extends PromiseLike<unknown> {
  requestTransaction?(transaction: unknown): PromiseLike<unknown>
  readonly spec?: unknown
  [relation: string]: unknown
}

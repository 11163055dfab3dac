/**
 * The extension's `$allOperations` hook: every query made through the extended client passes
 * here, after its arguments are final and before its SQL is built, except those of the
 * extension's own read methods (they query the client below). Reads that come this way (the
 * fluent API) go through the cache; reads inside a transaction run uncached; writes and raw
 * queries run and then invalidate what they changed, at once or, inside a transaction, when it
 * commits.
 */

import { type PrismaWriteMessage, prismaWrites, traceWrite } from '../../cache/tracing.js'
import { invalid } from '../../errors.js'
import { withoutCacheStrategy } from '../options.js'
import type { PrismaTransactionInfo, QueryHookParams } from '../prisma-internals.js'
import { READ_OPERATIONS } from '../reads/read-plan.js'
import type { TransactionScope } from '../transactions/transaction-scope.js'
import { RAW_OPERATIONS, rawWriteEffects } from '../writes/raw-writes.js'
import type { WriteEffects } from '../writes/write-effects.js'
import { WRITE_OPERATIONS, WritePlan } from '../writes/write-plan.js'
import { newCacheInfo } from './cache-info.js'
import type { PrismaCache } from './prisma-cache.js'

export type { QueryHookParams }

const READS: ReadonlySet<string> = new Set(READ_OPERATIONS)

type Args = Record<string, unknown>

export async function onQuery(runtime: PrismaCache, params: QueryHookParams): Promise<unknown> {
  const { model, operation, query } = params
  const transaction = params.__internalParams?.transaction
  if (model === undefined) {
    if (!RAW_OPERATIONS.has(operation)) return query(params.args)
    if (!prismaWrites.hasSubscribers) return raw(runtime, params, undefined)
    return traceWrite(undefined, operation, (trace) => raw(runtime, params, trace))
  }
  const node = runtime.graph.model(model)
  const args = params.args as Args | undefined
  if (node === undefined) return query(args)
  if (READS.has(operation)) {
    if (transaction !== undefined) {
      return runtime.timed(model, operation, args, (database) =>
        database(() => query(withoutCacheStrategy(args))),
      )
    }
    // Only the arguments: a hook's `query` takes Prisma's internal parameters second.
    const load = (loadArgs: unknown) => query(loadArgs)
    const path = params.__internalParams?.dataPath
    const fluent = path !== undefined && path.length > 0 ? path : undefined
    return runtime.reads.run(node, operation, args, load, newCacheInfo(), false, fluent)
  }
  if (!WRITE_OPERATIONS.has(operation)) return query(args)
  if (args?.cacheStrategy !== undefined) {
    throw invalid('args.cacheStrategy', `is for reads; ${model}.${operation} is a write`)
  }
  const plan = new WritePlan(runtime.graph, node, operation, args)
  if (!prismaWrites.hasSubscribers) return write(runtime, params, plan, undefined)
  return traceWrite(model, operation, (trace) => write(runtime, params, plan, trace))
}

/** A raw query: run, then invalidate what it changed. `trace` learns how, while tracing. */
function raw(
  runtime: PrismaCache,
  params: QueryHookParams,
  trace: PrismaWriteMessage | undefined,
): Promise<unknown> {
  const { operation, args, query } = params
  return runtime.timed(undefined, operation, args, async (database) => {
    const result = await database(() => query(args))
    const effects = rawWriteEffects(runtime.graph, args)
    await settle(runtime, effects, params.__internalParams?.transaction, trace)
    return result
  })
}

/** A model write: run, then invalidate what it changed (or may have, when it failed). */
function write(
  runtime: PrismaCache,
  params: QueryHookParams,
  plan: WritePlan,
  trace: PrismaWriteMessage | undefined,
): Promise<unknown> {
  const { model, operation, args, query } = params
  const transaction = params.__internalParams?.transaction
  return runtime.timed(model, operation, args, async (database) => {
    let result: unknown
    try {
      result = await database(() => query(plan.args))
    } catch (error) {
      await settle(runtime, plan.failed(), transaction, trace)
      throw error
    }
    await settle(runtime, plan.completed(result), transaction, trace)
    return result
  })
}

/**
 * Applies a write's effects: now, or when its transaction commits. A write in a transaction the
 * extension did not see start (a `$transaction` not called through this client) is applied now
 * and counted: it is not held back until a commit (guarantee 7, transactions, does not hold).
 */
async function settle(
  runtime: PrismaCache,
  effects: WriteEffects,
  transaction: PrismaTransactionInfo | undefined,
  trace: PrismaWriteMessage | undefined,
): Promise<void> {
  if (effects.isEmpty) return
  if (transaction !== undefined) {
    const scope: TransactionScope | undefined = runtime.transactions.scopeOf(transaction)
    if (scope !== undefined) {
      scope.pending.merge(effects)
      if (trace !== undefined) {
        trace.invalidation = 'commit'
        trace.tags = effects.tags(runtime.naming, runtime.graph).length
      }
      return
    }
    runtime.untrackedTransactionWrite()
  }
  await runtime.invalidate(effects, trace)
}

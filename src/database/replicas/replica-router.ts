/**
 * Where each query of a client with read replicas runs. Reads outside transactions go to a
 * replica that has replayed every write they depend on (this process's, and other instances'
 * as the cache's bus announces them), else to the primary; writes, raw SQL and transactions go
 * to the primary, and what writes touch is recorded (see `freshness.ts`). Deciding costs no
 * round trip: the replicas' positions are polled in the background, the primary's probed once
 * per burst of writes.
 */

import { AsyncLocalStorage } from 'node:async_hooks'
import { currentLoad, watchLoads } from '../../prisma/extension/read-path.js'
import type { QueryHookParams } from '../../prisma/prisma-internals.js'
import { modelsRead } from '../../prisma/reads/read-dependencies.js'
import { READ_OPERATIONS } from '../../prisma/reads/read-plan.js'
import type { ModelGraph } from '../../prisma/schema/model-graph.js'
import { RAW_OPERATIONS, rawWriteEffects } from '../../prisma/writes/raw-writes.js'
import { WriteEffects } from '../../prisma/writes/write-effects.js'
import { WRITE_OPERATIONS, WritePlan } from '../../prisma/writes/write-plan.js'
import { EVERYTHING, PRIMARY, ReplicaTransactions, type WriteWatermarks } from './freshness.js'
import type { Replica } from './replica-health.js'
import type { ReplicaPool } from './replica-pool.js'

/** What Prisma passes to the router's query hook. */
export type RouterHookParams = QueryHookParams<unknown>

/** Why reads went to the primary, by reason. */
export interface PrimaryReadReasons {
  /** Inside a transaction. */
  transaction: number
  /** Inside `$primary(fn)`, a fluent relation read, or a model the schema does not know. */
  forced: number
  /** A write they depend on is running, or its WAL position is not known yet. */
  writePending: number
  /** Every healthy replica is behind the last write they depend on. */
  replicasBehind: number
  /** No replica is healthy. */
  replicasDown: number
  /** The chosen replica failed; the read was run again on the primary. */
  replicaFailed: number
}

/** `prisma.$readReplicas.stats()`. */
export interface ReadRoutingStats {
  /** Reads answered by a replica. */
  replicaReads: number
  /** Reads answered by the primary. */
  primaryReads: number
  /** Why reads went to the primary, by reason. */
  primaryReasons: PrimaryReadReasons
  /** Writes (or transactions with writes) recorded. */
  writes: number
  /** Probes of the primary's WAL position, and how many failed. */
  probes: number
  /** Probes that failed. */
  probeFailures: number
  /** Writes in transactions not started through this client, recorded without their commit. */
  untrackedTransactionWrites: number
  /** Models read from the primary because a write to them is running or not yet probed. */
  pendingModels: string[]
  /** Second invalidations sent once the replicas had replayed writes (`repairLaggedFills`). */
  laggedFillRepairs: number
}

const READS: ReadonlySet<string> = new Set(READ_OPERATIONS)

export class ReadReplicaRouter {
  readonly watermarks: WriteWatermarks
  readonly pool: ReplicaPool
  readonly transactions: ReplicaTransactions
  readonly #graph: ModelGraph
  readonly #forced = new AsyncLocalStorage<boolean>()
  readonly #reasons: PrimaryReadReasons = {
    transaction: 0,
    forced: 0,
    writePending: 0,
    replicasBehind: 0,
    replicasDown: 0,
    replicaFailed: 0,
  }
  #replicaReads = 0
  #writes = 0
  readonly #sharedFills: boolean

  constructor(
    graph: ModelGraph,
    watermarks: WriteWatermarks,
    pool: ReplicaPool,
    sharedFills: boolean,
  ) {
    this.#graph = graph
    this.#sharedFills = sharedFills
    this.watermarks = watermarks
    this.pool = pool
    this.transactions = new ReplicaTransactions(watermarks)
    watchLoads()
  }

  /**
   * Runs `fn` with every database read it makes sent to the primary. Prisma's promises (and
   * `withCache`'s) are lazy, so a promise `fn` returns is started here, inside the context.
   */
  onPrimary<T>(fn: () => T): Promise<Awaited<T>> {
    return this.#forced.run(
      true,
      () => new Promise<Awaited<T>>((resolve) => resolve(fn() as Awaited<T>)),
    )
  }

  /** The extension's `$allOperations` hook. */
  async onQuery(params: RouterHookParams): Promise<unknown> {
    const { model, operation, args, query } = params
    const inTransaction = params.__internalParams?.transaction !== undefined
    const isRead = model !== undefined && READS.has(operation)
    if (isRead && !inTransaction) return this.#read(model, operation, args, params)
    const touched = this.#writeTargets(model, operation, args)
    if (touched === undefined) {
      if (isRead) this.#reasons.transaction++
      return query(args)
    }
    this.#writes++
    if (inTransaction) {
      this.transactions.wrote(touched)
      return query(args)
    }
    const write = this.watermarks.begin(touched)
    try {
      return await query(args)
    } finally {
      // Failed or not: a failure after the commit cannot be told apart.
      this.watermarks.end(write)
    }
  }

  stats(laggedFillRepairs = 0): ReadRoutingStats {
    const reasons = { ...this.#reasons }
    let primaryReads = 0
    for (const count of Object.values(reasons)) primaryReads += count
    return {
      replicaReads: this.#replicaReads,
      primaryReads,
      primaryReasons: reasons,
      writes: this.#writes,
      probes: this.watermarks.probes,
      probeFailures: this.watermarks.probeFailures,
      untrackedTransactionWrites: this.transactions.untracked,
      pendingModels: this.watermarks.pendingModels(),
      laggedFillRepairs,
    }
  }

  async #read(model: string, operation: string, args: unknown, params: RouterHookParams) {
    const { query } = params
    const node = this.#graph.model(model)
    if (
      node === undefined ||
      this.#forced.getStore() === true ||
      // The fluent API (`findUnique(...).reviews()`): Prisma unwraps the result below the hooks.
      (params.__internalParams?.dataPath?.length ?? 0) > 0
    ) {
      this.#reasons.forced++
      return query(args)
    }
    const lsn = this.watermarks.requirement(modelsRead(this.#graph, node, args))
    if (lsn === PRIMARY) {
      this.#reasons.writePending++
      return query(args)
    }
    const replica = this.pool.pick(lsn)
    if (replica === undefined) {
      const anyHealthy = this.pool.replicas.some((candidate) => candidate.healthy)
      this.#reasons[anyHealthy ? 'replicasBehind' : 'replicasDown']++
      return query(args)
    }
    let result: unknown
    try {
      result = await onReplica(replica, model, operation, args)
    } catch (error) {
      if (isAnswer(error)) throw error
      // Down, restarted, or cancelled by recovery: out until a poll succeeds; the primary answers.
      replica.failed(error)
      this.#reasons.replicaFailed++
      return query(args)
    }
    replica.reads++
    this.#replicaReads++
    // A cache fill from a replica stays in this process unless fills are shared (`sharedFills`).
    const fill = currentLoad()
    if (fill !== undefined && !this.#sharedFills) fill.fromReplica = true
    return result
  }

  /** The models a write touches, or `undefined` when the operation does not write. */
  #writeTargets(model: string | undefined, operation: string, args: unknown) {
    let effects: WriteEffects
    if (model === undefined) {
      if (!RAW_OPERATIONS.has(operation)) return undefined
      effects = rawWriteEffects(this.#graph, args)
      if (effects.isEmpty) return undefined
    } else {
      if (!WRITE_OPERATIONS.has(operation)) return undefined
      const node = this.#graph.model(model)
      effects =
        node === undefined
          ? new WriteEffects().everything()
          : new WritePlan(this.#graph, node, operation, args).failed()
    }
    return effects.isEverything ? [EVERYTHING] : effects.models()
  }
}

/** Runs the read on the replica's own client. */
function onReplica(replica: Replica, model: string, operation: string, args: unknown) {
  const delegate = (replica.client as unknown as Record<string, Record<string, Delegated>>)[
    model.charAt(0).toLowerCase() + model.slice(1)
  ]
  return delegate![operation]!(args)
}

type Delegated = (args: unknown) => PromiseLike<unknown>

/** Errors that are the query's answer (not found, bad arguments): the primary would say the same. */
function isAnswer(error: unknown): boolean {
  const { name, code } = error as { name?: unknown; code?: unknown }
  return (
    name === 'PrismaClientValidationError' ||
    (name === 'PrismaClientKnownRequestError' && code === 'P2025')
  )
}

/**
 * The extension's state for one client: the schema's model graph, strategies, the read path, the
 * transaction scopes, the metrics, and the cache. The model methods and the query hook are thin
 * entries into it; `prisma.$cache` is its public face.
 */
import { Prisma } from '@prisma/client/extension'
import {
  type CacheInternals,
  type CacheManager,
  cacheInternals,
} from '../../cache/cache-manager.js'
import type { PrismaWriteMessage } from '../../cache/tracing.js'
import type { PrismaEnvSettings } from '../../config/prisma-env.js'
import type { ChangeFeed } from '../change-feed/change-feed.js'
import { TagNaming } from '../keys/tags.js'
import { type DatabaseCall, recordUncachedCall } from '../metrics/database-call.js'
import { type StrategyClass, type WithCacheOptions, withoutCacheStrategy } from '../options.js'
import { isTransactionClient, type PrismaPromiseLike } from '../prisma-internals.js'
import { READ_OPERATIONS } from '../reads/read-plan.js'
import type { ModelGraph, ModelNode } from '../schema/model-graph.js'
import { Strategies } from '../strategies.js'
import { Transactions } from '../transactions/transaction-scope.js'
import { WriteEffects } from '../writes/write-effects.js'
import type { CacheInfo } from './cache-info.js'
import { CachedQuery, cachedQueryClass, type QueryRunner } from './cached-query.js'
import { type Load, type QuerySink, ReadPath } from './read-path.js'

type Args = Record<string, unknown> | undefined
type ExtensionContext = { $name: string; $parent: Record<string | symbol, unknown> }
type Delegate = Record<string, (args?: unknown) => PrismaPromiseLike>

/** One model delegate of one (possibly transaction) client, as the model methods see it. */
interface Target {
  readonly runner: QueryRunner
  readonly Query: typeof CachedQuery
  readonly model: string
  /** Reads go through the cache (not a transaction client, a model of the schema). */
  readonly cached: boolean
}

export class PrismaCache {
  readonly graph: ModelGraph
  readonly naming: TagNaming
  readonly strategies: Strategies
  readonly reads: ReadPath
  readonly transactions = new Transactions()
  /** The change feed, when `changeFeed` is on. */
  changeFeed: ChangeFeed | undefined
  readonly cache: CacheManager
  readonly #sink: QuerySink
  readonly #internals: CacheInternals
  readonly #targets = new WeakMap<object, Target>()
  readonly #queryClasses = new Map<string, typeof CachedQuery>()
  #untracked = 0

  constructor(
    options: WithCacheOptions,
    env: PrismaEnvSettings,
    graph: ModelGraph,
    sink: QuerySink,
  ) {
    this.graph = graph
    this.cache = options.cache
    this.naming = new TagNaming(options.namespace ?? 'prisma')
    this.strategies = new Strategies(options, env, graph)
    this.#sink = sink
    this.#internals = cacheInternals(this.cache)
    this.reads = new ReadPath(graph, this.naming, this.strategies, this.#internals, sink)
  }

  /**
   * A read method's result. `delegate` is the model method's `this`: its target (the model, the
   * client below this extension, whether that is a transaction's) is worked out once per
   * delegate, as Prisma hands the same delegate to every call.
   */
  read(delegate: object, operation: string, args: Args): CachedQuery {
    let target = this.#targets.get(delegate)
    if (target === undefined) {
      target = this.#target(Prisma.getExtensionContext(delegate) as unknown as ExtensionContext)
      this.#targets.set(delegate, target)
    }
    // Counted for N+1 detection now, while the caller's frame is on the stack (its call site).
    const counted = target.cached && (this.#sink.noteCall?.(target.model, operation, args) ?? false)
    return new target.Query(target.runner, operation, args, counted)
  }

  #target(context: ExtensionContext): Target {
    const parent = context.$parent[context.$name] as Delegate
    const node = this.graph.model(context.$name)
    const inTransaction = isTransactionClient(context.$parent)
    const prismaQuery = (operation: string, args: Args) =>
      parent[operation]!(withoutCacheStrategy(args))
    if (node === undefined || inTransaction) {
      // Inside a transaction (guarantee 7) or for a model the schema does not know: uncached, and
      // recorded (the extension's own query hook never sees its methods' queries).
      const model = context.$name
      const runner: QueryRunner = {
        run: (operation, args) =>
          this.timed(model, operation, args, (database) =>
            database(() => prismaQuery(operation, args)),
          ),
        prismaQuery,
      }
      return { runner, Query: CachedQuery, model, cached: false }
    }
    // One loader per operation, made once: the hot path allocates none.
    const loads = new Map<string, Load>()
    for (const operation of READ_OPERATIONS) {
      loads.set(operation, (args) => parent[operation]!(args))
    }
    const reads = this.reads
    const runner: QueryRunner = {
      run: (operation, args, info, counted) =>
        reads.run(node, operation, args, loads.get(operation)!, info, counted),
      prismaQuery,
    }
    return { runner, Query: this.#queryClass(node), model: node.name, cached: true }
  }

  #queryClass(node: ModelNode): typeof CachedQuery {
    let Query = this.#queryClasses.get(node.name)
    if (Query === undefined) {
      Query = cachedQueryClass(node)
      this.#queryClasses.set(node.name, Query)
    }
    return Query
  }

  /** Runs an uncached call (a write, a raw query, a read in a transaction), reporting it. */
  timed<T>(
    model: string | undefined,
    operation: string,
    args: unknown,
    run: (database: DatabaseCall) => Promise<T>,
  ): Promise<T> {
    return recordUncachedCall(this.#sink, model, operation, args, run)
  }

  /**
   * Invalidates what `effects` changed, in every tier and (through the bus) every instance.
   * Resolves once this process's later reads see it (see `CacheInternals.invalidate`). `trace`,
   * while tracing a write, learns what it invalidated.
   */
  async invalidate(effects: WriteEffects, trace?: PrismaWriteMessage): Promise<void> {
    const tags = effects.tags(this.naming, this.graph)
    if (tags.length === 0) return
    if (trace !== undefined) {
      trace.invalidation = 'now'
      trace.tags = tags.length
      trace.strict = this.#internals.strict()
    }
    await this.#internals.invalidate(tags)
  }

  /** Invalidates every cached read of this extension's namespace. */
  async invalidateAll(): Promise<void> {
    await this.cache.invalidateByTag(new WriteEffects().everything().tags(this.naming, this.graph))
  }

  /** The strategy classes: each one's TTL and the models whose entries it holds. */
  classes(): Record<StrategyClass, { ttlMs: number; models: string[] }> {
    return this.strategies.classes([...this.graph.models()].map((model) => model.name))
  }

  /** Invalidates every cached read of the models a class holds (see {@link classes}). */
  async invalidateClass(name: StrategyClass): Promise<void> {
    const effects = new WriteEffects()
    for (const model of this.classes()[name].models) effects.unknown(model) // every read of it
    if (!effects.isEmpty) await this.cache.invalidateByTag(effects.tags(this.naming, this.graph))
  }

  /** A write ran in a transaction whose commit the extension cannot see: applied at once. */
  untrackedTransactionWrite(): void {
    this.#untracked++
  }

  /** Writes applied at once because their transaction was not started through this client. */
  get untrackedTransactionWrites(): number {
    return this.#untracked
  }
}

export type { CacheInfo }

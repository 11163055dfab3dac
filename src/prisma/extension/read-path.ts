/**
 * One cached read: resolve its strategy, plan its key and tags, and let the cache answer or run
 * the query once (per key, per process, and across instances under a lease), fenced against
 * writes that commit meanwhile. The same path serves the extension's model methods (the fast
 * way in) and reads that reach the query hook another way (Prisma's fluent API).
 *
 * Hits are the hot path: the plan of a key (its tags, found by walking the arguments against the
 * schema) is kept, so a repeated query costs its canonical key, one lookup and the cache's L1 hit.
 */
import type { CacheInternals } from '../../cache/cache-manager.js'
import type { ComputeInfo, ComputePlan } from '../../cache/get-or-compute.js'
import { canonicalArgs, readKey, UncacheableArgs } from '../keys/canonical-args.js'
import type { TagNaming } from '../keys/tags.js'
import { measureDatabaseCall } from '../metrics/database-call.js'
import type { QueryEvent } from '../metrics/query-event.js'
import { validateCacheStrategy } from '../options.js'
import { AGGREGATIONS, planRead } from '../reads/read-plan.js'
import type { ModelGraph, ModelNode } from '../schema/model-graph.js'
import type { Strategies, TtlPlan } from '../strategies.js'
import type { CacheInfo } from './cache-info.js'

/** Runs a query on the database with the given arguments. */
export type Load = (args: unknown) => PromiseLike<unknown>

/** Where the extension reports each call (the query metrics). */
export interface QuerySink {
  record(event: QueryEvent): void
}

/** A record read that found nothing is not stored (so creating the record invalidates nothing). */
function isFound(value: unknown): boolean {
  return value !== null
}

/** Plans kept for repeated queries (a few hundred bytes each); past this, they start over. */
const MAX_PLANS = 10_000

type Args = Record<string, unknown> | undefined

/** What a read needs once its key is known: the cache's plan, and the tags for `withCacheInfo`. */
interface KeyPlan {
  readonly compute: ComputePlan
  readonly ttl: TtlPlan
}

export class ReadPath {
  readonly #graph: ModelGraph
  readonly #naming: TagNaming
  readonly #strategies: Strategies
  readonly #cache: CacheInternals
  readonly #sink: QuerySink
  // A plain Map: an LRU's bookkeeping costs as much as the rest of a hit, and a workload with
  // more distinct queries than this rebuilds plans at the price of one miss's planning each.
  readonly #plans = new Map<string, KeyPlan>()
  /** The cache's defaults the kept plans were built with (`initialize()` replaces them). */
  #defaults: object | undefined

  constructor(
    graph: ModelGraph,
    naming: TagNaming,
    strategies: Strategies,
    cache: CacheInternals,
    sink: QuerySink,
  ) {
    this.#graph = graph
    this.#naming = naming
    this.#strategies = strategies
    this.#cache = cache
    this.#sink = sink
  }

  /** The read of `node` by `operation` with `args` (its `cacheStrategy` included), through the cache. */
  run(
    node: ModelNode,
    operation: string,
    args: Args,
    load: Load,
    info: CacheInfo,
  ): Promise<unknown> {
    const event: QueryEvent = {
      model: node.name,
      operation,
      cacheStatus: 'none',
      durationMs: performance.now(),
      dbDurationMs: 0,
      args,
    }
    const aggregation = AGGREGATIONS.has(operation)
    let ttl: TtlPlan | undefined
    let userTags: readonly string[] | undefined
    const given = args?.cacheStrategy
    try {
      if (given === undefined) {
        ttl = this.#strategies.automaticPlan(node.name, aggregation)
      } else {
        const strategy = validateCacheStrategy(given)
        event.args = args = withoutCacheStrategy(args!)
        if (strategy !== false) {
          ttl = this.#strategies.explicitPlan(node.name, aggregation, strategy)
          userTags = strategy.tags
        }
      }
      const plan = ttl === undefined ? undefined : this.#plan(node, operation, args, ttl, userTags)
      if (plan === undefined) return this.#finish(this.#timed(load, args, event), event, info)
      info.key = plan.key
      info.tags = plan.compute.tags
      info.ttl = plan.ttl.ttlMs / 1000
      const outcome: ComputeInfo = { status: 'miss', tier: undefined }
      const loaded = this.#cache.compute(
        plan.key,
        () => this.#timed(load, args, event),
        plan.compute,
        outcome,
      )
      return this.#finish(loaded, event, info, outcome)
    } catch (error) {
      return this.#finish(Promise.reject(error), event, info)
    }
  }

  /** Key and plan of a cacheable read, or `undefined` when its arguments cannot be named. */
  #plan(
    node: ModelNode,
    operation: string,
    args: Args,
    ttl: TtlPlan,
    userTags: readonly string[] | undefined,
  ): (KeyPlan & { key: string }) | undefined {
    let canonical: string
    try {
      canonical = canonicalArgs(args ?? {})
    } catch (error) {
      if (error instanceof UncacheableArgs) return undefined
      throw error
    }
    const key = readKey(this.#naming.namespace, node.name, operation, canonical)
    const defaults = this.#cache.planDefaults()
    if (defaults !== this.#defaults) {
      this.#plans.clear()
      this.#defaults = defaults
    }
    // A plan depends on the arguments only, except for explicit TTLs and tags: those are rebuilt.
    const explicit =
      userTags !== undefined ||
      ttl !== this.#strategies.automaticPlan(node.name, AGGREGATIONS.has(operation))
    let plan = explicit ? undefined : this.#plans.get(key)
    if (plan === undefined) {
      const read = planRead(this.#graph, this.#naming, node, operation, args, userTags)
      plan = {
        ttl,
        compute: {
          ttlMs: ttl.ttlMs,
          staleMs: ttl.swrMs,
          localTtlMs: defaults.local === false ? undefined : defaults.local.ttlMs,
          tags: read.tags,
          swrMs: ttl.swrMs,
          staleIfErrorMs: 0,
          timeoutMs: undefined,
          storeIf: read.record ? isFound : undefined,
        },
      }
      if (!explicit) {
        if (this.#plans.size >= MAX_PLANS) this.#plans.clear()
        this.#plans.set(key, plan)
      }
    }
    return { key, ttl: plan.ttl, compute: plan.compute }
  }

  /** Runs the query on the database, timing it (and its SQL, when captured) into the event. */
  #timed(load: Load, args: Args, event: QueryEvent): Promise<unknown> {
    return measureDatabaseCall(event, () => load(args))
  }

  /** Reports the call once it settled; the caller gets the same outcome. */
  async #finish(
    result: Promise<unknown>,
    event: QueryEvent,
    info: CacheInfo,
    outcome?: ComputeInfo,
  ): Promise<unknown> {
    try {
      const value = await result
      this.#report(event, info, outcome, undefined)
      return value
    } catch (error) {
      this.#report(event, info, outcome, error)
      throw error
    }
  }

  #report(event: QueryEvent, info: CacheInfo, outcome: ComputeInfo | undefined, error: unknown) {
    if (outcome !== undefined) {
      info.cacheStatus = outcome.status
      info.tier = outcome.tier
    }
    event.cacheStatus = info.cacheStatus
    info.durationMs = event.durationMs = performance.now() - event.durationMs
    if (error !== undefined) event.error = error
    this.#sink.record(event)
  }
}

/** The arguments Prisma gets: `cacheStrategy` is the extension's, Prisma would reject it. */
export function withoutCacheStrategy(args: Record<string, unknown>): Record<string, unknown> {
  const { cacheStrategy: _, ...rest } = args
  return rest
}

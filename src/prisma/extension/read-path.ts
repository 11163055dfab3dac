/**
 * One cached read: resolve its strategy, plan its key and tags, and let the cache answer or run
 * the query once (per key, per process, and across instances under a lease), fenced against
 * writes that commit meanwhile. The same path serves the extension's model methods (the fast
 * way in) and reads that reach the query hook another way (Prisma's fluent API).
 *
 * Hits are the hot path: the plan of a key (its tags, found by walking the arguments against the
 * schema) is kept, so a repeated query costs its canonical key, one lookup and the cache's L1 hit.
 */

import { AsyncLocalStorage } from 'node:async_hooks'
import type { ComputeInfo, ComputePlan } from '../../cache/call-options.js'
import { loaded } from '../../cache/call-options.js'
import type { CacheInternals } from '../../cache/internals.js'
import { MISS } from '../../cache/store-types.js'
import { epochNow, type PrismaReadMessage, prismaReads } from '../../cache/tracing.js'
import { UncacheableArgs } from '../keys/canonical-args.js'
import type { TagNaming } from '../keys/tags.js'
import type { QueryEvent } from '../metrics/database-call.js'
import { measureDatabaseCall } from '../metrics/database-call.js'
import { validateCacheStrategy, withoutCacheStrategy } from '../options.js'
import { isAggregation, planRead, type ReadOptions, readKeyOf } from '../reads/read-plan.js'
import type { ModelGraph, ModelNode } from '../schema/model-graph.js'
import type { ReadKind, Strategies, TtlPlan } from '../strategies.js'
import type { CacheInfo } from './cache-info.js'

/** Sends a read to the database (a lazy Prisma query, started by awaiting it). */
export type Load = (args: unknown) => PromiseLike<unknown>

/** Where the extension reports each call (the query metrics). */
export interface QuerySink {
  record(event: QueryEvent): void
  /** See `QueryMetrics.noteCall`. */
  noteCall?(model: string, operation: string, args: unknown): boolean
}

/** A record read that found nothing is not stored (so creating the record invalidates nothing). */
function isFound(value: unknown): boolean {
  return value !== null
}

/** Plans kept for repeated queries (a few hundred bytes each); past this, they start over. */
const MAX_PLANS = 10_000

type Args = Record<string, unknown> | undefined
const EMPTY_ARGS = {}
const NO_TAGS: readonly string[] = []

/** What a read needs once its key is known: the cache's plan, its load, its TTL for `withCacheInfo`. */
interface KeyPlan {
  readonly key: string
  readonly compute: ComputePlan
  readonly ttl: TtlPlan
  /** The arguments a fill loads with, and the tags of what it loaded (see `read-plan.ts`). */
  readonly loadArgs: unknown
  readonly tagsOf: ((value: unknown) => string[]) | undefined
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

  /**
   * The read of `node` by `operation` with `args` (its `cacheStrategy` included), through the
   * cache. A fresh L1 hit is answered without awaiting anything (an already settled promise):
   * the hot path of a cached application.
   */
  run(
    node: ModelNode,
    operation: string,
    args: Args,
    load: Load,
    info: CacheInfo,
    counted = false,
    path?: readonly unknown[],
  ) {
    const event: QueryEvent = {
      model: node.name,
      operation,
      cacheStatus: 'none',
      durationMs: performance.now(),
      dbDurationMs: 0,
      args,
      counted,
    }
    let plan: KeyPlan | undefined
    let outcome: ComputeInfo | undefined
    try {
      const kind: ReadKind = isAggregation(operation)
        ? 'aggregate'
        : operation === 'findMany'
          ? 'list'
          : 'record'
      const given = args?.cacheStrategy
      if (given === undefined) {
        const ttl = this.#strategies.automaticPlan(node.name, kind)
        if (ttl !== undefined) plan = this.#plan(node, operation, args, ttl, { path }, false)
      } else {
        const strategy = validateCacheStrategy(given)
        event.args = args = withoutCacheStrategy(args)
        if (strategy !== false) {
          const ttl = this.#strategies.explicitPlan(node.name, kind, strategy)
          if (ttl !== undefined) {
            plan = this.#plan(node, operation, args, ttl, { userTags: strategy.tags, path }, true)
          }
        }
      }
      if (plan === undefined) return this.#uncached(load, args, event, info)
      info.key = plan.key
      info.tags = plan.compute.tags
      info.ttl = plan.ttl.ttlMs / 1000
      outcome = { status: 'miss', tier: undefined }
      // The loader closures are written inline: a named one costs a wrapper under tsx/esbuild.
      const fill = plan
      const hit = this.#cache.tryL1(
        plan.key,
        () => this.#fill(load, fill, event),
        plan.compute,
        outcome,
      )
      if (hit !== MISS) {
        this.#report(event, info, outcome, undefined)
        return Promise.resolve(hit)
      }
      return this.#cached(plan, () => this.#fill(load, fill, event), event, info, outcome)
    } catch (error) {
      this.#report(event, info, outcome, error)
      return Promise.reject(error)
    }
  }

  async #cached(
    plan: KeyPlan,
    fromDatabase: () => Promise<unknown>,
    event: QueryEvent,
    info: CacheInfo,
    outcome: ComputeInfo,
  ): Promise<unknown> {
    try {
      const value = await this.#cache.compute(plan.key, fromDatabase, plan.compute, outcome)
      this.#report(event, info, outcome, undefined)
      return value
    } catch (error) {
      this.#report(event, info, outcome, error)
      throw error
    }
  }

  async #uncached(load: Load, args: Args, event: QueryEvent, info: CacheInfo): Promise<unknown> {
    try {
      const value = await this.#timed(load, args, event)
      this.#report(event, info, undefined, undefined)
      return value
    } catch (error) {
      this.#report(event, info, undefined, error)
      throw error
    }
  }

  /**
   * Key and plan of a cacheable read, or `undefined` when its arguments cannot be named. Plans
   * are kept per key, and for an `explicit` strategy (Accelerate-style code passes one on every
   * query) per key, TTL and tags.
   */
  #plan(
    node: ModelNode,
    operation: string,
    args: Args,
    ttl: TtlPlan,
    read: ReadOptions,
    explicit: boolean,
  ): KeyPlan | undefined {
    let key: string
    try {
      key = readKeyOf(this.#naming, node, operation, args ?? EMPTY_ARGS, read)
    } catch (error) {
      if (error instanceof UncacheableArgs) return undefined
      throw error
    }
    const defaults = this.#cache.planDefaults()
    if (defaults !== this.#defaults) {
      this.#plans.clear()
      this.#defaults = defaults
    }
    const planKey = explicit ? `${key}\u0000${ttl.ttlMs}/${ttl.swrMs}` : key
    let plan = this.#plans.get(planKey)
    if (plan === undefined) {
      const planned = planRead(this.#graph, this.#naming, node, operation, args, read, key)
      plan = {
        key,
        ttl,
        loadArgs: planned.loadArgs,
        tagsOf: planned.tagsOf,
        compute: {
          ttlMs: ttl.ttlMs,
          staleMs: ttl.swrMs,
          localTtlMs: defaults.local === false ? undefined : defaults.local.ttlMs,
          tags: planned.tags,
          swrMs: ttl.swrMs,
          staleIfErrorMs: 0,
          timeoutMs: undefined,
          storeIf: planned.record ? isFound : undefined,
        },
      }
      if (this.#plans.size >= MAX_PLANS) this.#plans.clear()
      this.#plans.set(planKey, plan)
    }
    return plan
  }

  /** Runs the query on the database, timing it (and its SQL, when captured) into the event. */
  #timed(load: Load, args: Args, event: QueryEvent): Promise<unknown> {
    return measureDatabaseCall(event, () => load(args))
  }

  /**
   * A cache fill: the value, with the tags it names (its rows), kept in this process only when a
   * replica answered (see `loaded` in `cache/call-options.ts`).
   */
  async #fill(load: Load, plan: KeyPlan, event: QueryEvent): Promise<unknown> {
    const mark = new LoadMark()
    const value = await measureDatabaseCall(event, () => runLoad(mark, () => load(plan.loadArgs)))
    const fromReplica = mark.fromReplica
    const tags = plan.tagsOf?.(value) ?? NO_TAGS
    return fromReplica || tags.length > 0 ? loaded(value, tags, fromReplica) : value
  }

  /** `info` may be shared by calls nobody asks about: it is written here, never read. */
  #report(event: QueryEvent, info: CacheInfo, outcome: ComputeInfo | undefined, error: unknown) {
    const status = outcome === undefined ? 'none' : outcome.status
    info.cacheStatus = event.cacheStatus = status
    info.tier = outcome?.tier
    info.durationMs = event.durationMs = performance.now() - event.durationMs
    if (error !== undefined) event.error = error
    this.#sink.record(event)
    if (prismaReads.hasSubscribers && event.model !== undefined) {
      const message: PrismaReadMessage = {
        kind: 'read',
        model: event.model,
        operation: event.operation,
        cacheStatus: status,
        tier: info.tier,
        startTime: epochNow() - event.durationMs,
        durationMs: event.durationMs,
        error,
      }
      prismaReads.publish(message)
    }
  }
}

/**
 * One cache fill, for extensions applied before `withCache` (the read-replica router): a fill runs
 * its query in this context, so that such an extension knows the result is about to be cached and
 * can say where it came from. A context rather than a mark in the arguments: Prisma would refuse
 * an argument it does not know, and copies arguments between query hooks.
 */
export class LoadMark {
  /** A router answered this fill from a read replica: it stays in this process. */
  fromReplica = false
}

const current = new AsyncLocalStorage<LoadMark>()
/**
 * Whether an extension asks which fill a read belongs to. Only then do fills run in a context:
 * in Node 20, using an AsyncLocalStorage turns on async hooks for every promise of the process.
 */
let listened = false

/**
 * Starts `query` (a lazy Prisma query) inside the fill `mark`, so that the query hooks it runs
 * see it (see {@link currentLoad}), when an extension listens.
 */
export function runLoad<T>(mark: LoadMark, query: () => PromiseLike<T>): Promise<T> {
  if (!listened) return Promise.resolve(query())
  return current.run(mark, () => Promise.resolve(query()))
}

/** Makes fills run in their context from now on: for an extension that reads {@link currentLoad}. */
export function watchLoads(): void {
  listened = true
}

/** The fill the read running now belongs to, if it is one (see {@link watchLoads}). */
export function currentLoad(): LoadMark | undefined {
  return current.getStore()
}

/**
 * How long each read is cached: the per-query `cacheStrategy` if given, else the model's
 * strategy (its TTL class), resolved once per model when the extension is created so that a
 * cached read only looks it up.
 */
import type { PrismaEnvSettings } from '../config/prisma-env.js'
import { invalid } from '../errors.js'
import type { CacheStrategy, ModelStrategy, StrategyClass, WithCacheOptions } from './options.js'
import type { ModelGraph } from './schema/model-graph.js'

/** TTL and stale-while-revalidate window of one read, in ms. */
export interface TtlPlan {
  readonly ttlMs: number
  readonly swrMs: number
}

const CLASS_DEFAULTS: Record<StrategyClass, number> = { hot: 10, aggregation: 60, reference: 300 }

/** What a read asks for: one record (`findUnique`, `findFirst`), a list, or an aggregation. */
export type ReadKind = 'record' | 'list' | 'aggregate'

/** The TTL of each kind of read of one model; `undefined`: not cached. */
type ModelPlans = Readonly<Record<ReadKind, TtlPlan | undefined>>

/** Models named like this hold sessions (`CACHE_STRATEGY_USER_SESSIONS`). */
const SESSION_MODEL = /^(\w*[a-z])?Session$/

export class Strategies {
  /** `false`: nothing is cached (the kill switch). */
  readonly enabled: boolean
  /** `false`: only reads with a `cacheStrategy` are cached. */
  readonly automatic: boolean
  readonly #classes: Record<StrategyClass, TtlPlan>
  readonly #models = new Map<string, ModelPlans>()
  readonly #fallback: ModelPlans
  /** The class of counts and aggregates (`CACHE_STRATEGY_AGGREGATIONS`, else `aggregation`). */
  readonly #aggregate: TtlPlan

  constructor(options: WithCacheOptions, env: PrismaEnvSettings, graph: ModelGraph) {
    this.enabled = options.enabled ?? env.enabled ?? true
    this.automatic = options.automatic ?? true
    const envTtl: Record<StrategyClass, number | undefined> = {
      hot: env.hotTtlMs,
      aggregation: env.aggregationTtlMs,
      reference: env.referenceTtlMs,
    }
    const classes = {} as Record<StrategyClass, TtlPlan>
    for (const name of ['hot', 'aggregation', 'reference'] as const) {
      const given = options.strategies?.[name]
      classes[name] = given
        ? toPlan(given.ttl, given.swr)
        : { ttlMs: envTtl[name] ?? CLASS_DEFAULTS[name] * 1000, swrMs: 0 }
    }
    this.#classes = classes
    this.#aggregate = classes[env.aggregationsClass ?? 'aggregation']
    const fallback = this.#plansOf(
      options.defaultStrategy ??
        (env.defaultTtlMs === undefined ? 'hot' : { ttl: env.defaultTtlMs / 1000 }),
    )
    // The environment's classes by kind of read, for models given no strategy in code.
    this.#fallback =
      options.defaultStrategy === undefined
        ? {
            record: env.entitiesClass ? classes[env.entitiesClass] : fallback.record,
            list: env.queriesClass ? classes[env.queriesClass] : fallback.list,
            aggregate: fallback.aggregate,
          }
        : fallback
    for (const [model, strategy] of Object.entries(options.models ?? {})) {
      if (graph.model(model) === undefined) {
        const known = [...graph.models()].map((m) => m.name).join(', ')
        throw invalid(`options.models.${model}`, `is not a model of the schema (models: ${known})`)
      }
      this.#models.set(model, this.#plansOf(strategy))
    }
    if (env.sessionsClass !== undefined) {
      for (const { name } of graph.models()) {
        if (SESSION_MODEL.test(name) && !this.#models.has(name)) {
          this.#models.set(name, this.#plansOf(env.sessionsClass))
        }
      }
    }
  }

  /** TTL of a read with no `cacheStrategy`; `undefined` when it is not cached. */
  automaticPlan(model: string, kind: ReadKind): TtlPlan | undefined {
    if (!this.enabled || !this.automatic) return undefined
    return (this.#models.get(model) ?? this.#fallback)[kind]
  }

  /** TTL of a read with an explicit `cacheStrategy`: its `ttl`/`swr` over the model's own. */
  explicitPlan(model: string, kind: ReadKind, strategy: CacheStrategy): TtlPlan | undefined {
    if (!this.enabled) return undefined
    const plans = this.#models.get(model) ?? this.#fallback
    const base = plans[kind] ?? (kind === 'aggregate' ? this.#aggregate : this.#classes.hot)
    return {
      ttlMs: strategy.ttl === undefined ? base.ttlMs : strategy.ttl * 1000,
      swrMs: strategy.swr === undefined ? base.swrMs : strategy.swr * 1000,
    }
  }

  /**
   * The TTL of each class, and the models whose entries it holds: the models whose reads use it
   * (those given the class, and those given nothing when it is the default), or, for
   * `aggregation`, every model (their counts and aggregates use it).
   */
  classes(models: readonly string[]): Record<StrategyClass, { ttlMs: number; models: string[] }> {
    const out = {} as Record<StrategyClass, { ttlMs: number; models: string[] }>
    for (const name of ['hot', 'aggregation', 'reference'] as const) {
      const plan = this.#classes[name]
      const holds = models.filter((model) => {
        const plans = this.#models.get(model) ?? this.#fallback
        return plans.record === plan || plans.list === plan || plans.aggregate === plan
      })
      out[name] = { ttlMs: plan.ttlMs, models: holds }
    }
    return out
  }

  #plansOf(strategy: ModelStrategy): ModelPlans {
    if (strategy === false) return { record: undefined, list: undefined, aggregate: undefined }
    const read =
      typeof strategy === 'string' ? this.#classes[strategy] : toPlan(strategy.ttl, strategy.swr)
    return { record: read, list: read, aggregate: this.#aggregate }
  }
}

function toPlan(ttlSeconds: number, swrSeconds: number | undefined): TtlPlan {
  return { ttlMs: ttlSeconds * 1000, swrMs: (swrSeconds ?? 0) * 1000 }
}

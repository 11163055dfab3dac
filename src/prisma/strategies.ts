/**
 * How long each read is cached: the per-query `cacheStrategy` if given, else the model's
 * strategy (seed 004's classes), resolved once per model when the extension is created so that a
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

interface ModelPlans {
  /** Records and lists; `undefined`: not cached. */
  readonly read: TtlPlan | undefined
  /** `count`, `aggregate`, `groupBy`. */
  readonly aggregate: TtlPlan | undefined
}

export class Strategies {
  /** `false`: nothing is cached (the kill switch). */
  readonly enabled: boolean
  /** `false`: only reads with a `cacheStrategy` are cached. */
  readonly automatic: boolean
  readonly #classes: Record<StrategyClass, TtlPlan>
  readonly #models = new Map<string, ModelPlans>()
  readonly #fallback: ModelPlans

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
    const fallback: ModelStrategy =
      options.defaultStrategy ??
      (env.defaultTtlMs === undefined ? 'hot' : { ttl: env.defaultTtlMs / 1000 })
    this.#fallback = this.#plansOf(fallback)
    for (const [model, strategy] of Object.entries(options.models ?? {})) {
      if (graph.model(model) === undefined) {
        const known = [...graph.models()].map((m) => m.name).join(', ')
        throw invalid(`options.models.${model}`, `is not a model of the schema (models: ${known})`)
      }
      this.#models.set(model, this.#plansOf(strategy))
    }
  }

  /** TTL of a read with no `cacheStrategy`; `undefined` when it is not cached. */
  automaticPlan(model: string, aggregation: boolean): TtlPlan | undefined {
    if (!this.enabled || !this.automatic) return undefined
    const plans = this.#models.get(model) ?? this.#fallback
    return aggregation ? plans.aggregate : plans.read
  }

  /** TTL of a read with an explicit `cacheStrategy`: its `ttl`/`swr` over the model's own. */
  explicitPlan(model: string, aggregation: boolean, strategy: CacheStrategy): TtlPlan | undefined {
    if (!this.enabled) return undefined
    const plans = this.#models.get(model) ?? this.#fallback
    const base =
      (aggregation ? plans.aggregate : plans.read) ??
      this.#classes[aggregation ? 'aggregation' : 'hot']
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
      const holds =
        name === 'aggregation'
          ? models
          : models.filter((model) => (this.#models.get(model) ?? this.#fallback).read === plan)
      out[name] = { ttlMs: plan.ttlMs, models: [...holds] }
    }
    return out
  }

  #plansOf(strategy: ModelStrategy): ModelPlans {
    if (strategy === false) return { read: undefined, aggregate: undefined }
    const read =
      typeof strategy === 'string' ? this.#classes[strategy] : toPlan(strategy.ttl, strategy.swr)
    return { read, aggregate: this.#classes.aggregation }
  }
}

function toPlan(ttlSeconds: number, swrSeconds: number | undefined): TtlPlan {
  return { ttlMs: ttlSeconds * 1000, swrMs: (swrSeconds ?? 0) * 1000 }
}

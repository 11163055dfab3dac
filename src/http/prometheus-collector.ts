/**
 * The pieces of the Prometheus exporter that do not know what they measure: loading prom-client,
 * metrics whose values are read from their sources when scraped, and histogram buckets.
 */
import type { Aggregator, Registry as PromRegistry, RegistryContentType } from 'prom-client'
import { invalid } from '../errors.js'
import type { LatencyHistogram } from '../prisma/metrics/histogram.js'

type Registry = PromRegistry<RegistryContentType>

/** The prom-client module, loaded on first use. */
export type PromClient = typeof import('prom-client')

/** Prometheus metric types the exporter emits. */
export type MetricKind = 'counter' | 'gauge' | 'histogram'

/** Label names to values; every label set the exporter emits is bounded (no keys, tags or SQL). */
export type Labels = Readonly<Record<string, string>>

/** One line of the exposition: `metricName` is set for a histogram's `_bucket`, `_sum`, `_count`. */
export interface Sample {
  labels: Labels
  value: number
  metricName?: string
}

/** A metric as the exporter defines it, before the prefix is applied. */
export interface MetricDefinition {
  /** The name after the prefix, e.g. `hits_total`. */
  name: string
  help: string
  type: MetricKind
  /** How a cluster registry combines workers' values. @default 'sum' */
  aggregator?: Aggregator
  /** The values now; `name` is the full name, for histogram lines. */
  collect(name: string): Sample[] | Promise<Sample[]>
}

let loading: Promise<PromClient> | undefined

/** What {@link labelledCounter} reads: one label, and the value of each of its values. */
export interface LabelledCounterSpec<S> {
  readonly name: string
  readonly help: string
  /** The label that tells the samples apart (`tier`, `outcome`...). */
  readonly label: string
  /** Read once per scrape, so that the samples of one scrape agree. */
  readonly read: () => S
  /** Each label value and how to read its sample. */
  readonly values: Readonly<Record<string, (stats: S) => number>>
}

/** A counter with one sample per value of one label, all read off one reading. */
export function labelledCounter<S>(spec: LabelledCounterSpec<S>): MetricDefinition {
  const entries = Object.entries(spec.values)
  return {
    name: spec.name,
    help: spec.help,
    type: 'counter',
    collect: () => {
      const stats = spec.read()
      return entries.map(([value, of]) => ({ labels: { [spec.label]: value }, value: of(stats) }))
    },
  }
}

/**
 * prom-client, imported when the first exporter is made: it is an optional peer dependency, so
 * importing `stratacache/http` must not need it. `importer` replaces the import (tests).
 */
export function loadPromClient(importer?: () => Promise<unknown>): Promise<PromClient> {
  if (importer !== undefined) return load(importer)
  if (loading === undefined) {
    loading = load(() => import('prom-client'))
    // A failed import is not kept: installing prom-client later must work without a restart.
    loading.catch(() => {
      loading = undefined
    })
  }
  return loading
}

async function load(importer: () => Promise<unknown>): Promise<PromClient> {
  let module: unknown
  try {
    module = await importer()
  } catch (error) {
    const code = (error as { code?: unknown } | undefined)?.code
    if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw error
    throw invalid(
      'prom-client',
      'createMetricsExporter needs the optional peer dependency prom-client (>=15 <16): npm install prom-client',
    )
  }
  // CommonJS seen from ESM: the named exports, or everything under `default`.
  const named = module as PromClient & { default?: PromClient }
  return typeof named.Registry === 'function' ? named : (named.default as PromClient)
}

/**
 * A metric registered in a prom-client `Registry` whose values are computed at scrape time from
 * the sources' own cumulative counters: nothing is copied on the hot path, and a counter that
 * restarts (a `reset()`, a new process) reads as a reset, which `rate()` handles.
 */
export class ScrapedMetric {
  readonly help: string
  readonly type: MetricKind
  readonly aggregator: Aggregator
  /** The name it is registered under (prom-client may rewrite `name` for OpenMetrics). */
  readonly key: string
  name: string
  readonly #definition: MetricDefinition

  constructor(prefix: string, definition: MetricDefinition) {
    this.key = `${prefix}${definition.name}`
    this.name = this.key
    this.help = definition.help
    this.type = definition.type
    this.aggregator = definition.aggregator ?? 'sum'
    this.#definition = definition
  }

  async get() {
    const values = await this.#definition.collect(this.key)
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    }
  }

  /** Registry.resetMetrics(): nothing to reset, the values belong to their sources. */
  reset(): void {}
}

/** Registers `metrics` in `registry`, all or none: an existing name fails before any is added. */
export function registerAll(registry: Registry, metrics: readonly ScrapedMetric[]): void {
  for (const metric of metrics) {
    if (registry.getSingleMetric(metric.key) !== undefined) {
      throw invalid(
        'prefix',
        `the registry already has a metric named ${metric.key} (another exporter or metric with the same prefix): give each exporter on one registry its own prefix`,
      )
    }
  }
  for (const metric of metrics) registry.registerMetric(metric as never)
}

/** Removes `metrics` from `registry`, leaving alone any metric registered since under their names. */
export function unregisterAll(registry: Registry, metrics: readonly ScrapedMetric[]): void {
  for (const metric of metrics) {
    if ((registry.getSingleMetric(metric.key) as unknown) === metric) {
      registry.removeSingleMetric(metric.key)
    }
  }
}

/**
 * The `_bucket`, `_sum` and `_count` lines of one histogram series. `cumulative[i]` counts the
 * observations at or below `bounds[i]` (seconds); `count` is the `+Inf` bucket.
 */
export function histogramSamples(
  name: string,
  labels: Labels,
  bounds: readonly number[],
  cumulative: readonly number[],
  sum: number,
  count: number,
): Sample[] {
  const out: Sample[] = bounds.map((bound, i) => ({
    metricName: `${name}_bucket`,
    labels: { ...labels, le: String(bound) },
    value: cumulative[i] ?? 0,
  }))
  out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: count })
  out.push({ metricName: `${name}_sum`, labels, value: sum })
  out.push({ metricName: `${name}_count`, labels, value: count })
  return out
}

/**
 * The histogram lines of one series read from a {@link LatencyHistogram} (ms) in `bounds`
 * (seconds); none when it has no sample.
 */
export function latencySamples(
  name: string,
  labels: Labels,
  bounds: readonly number[],
  histogram: LatencyHistogram,
): Sample[] {
  if (histogram.count === 0) return []
  const cumulative = histogram.countsAtOrBelow(bounds.map((seconds) => seconds * 1000))
  return histogramSamples(name, labels, bounds, cumulative, histogram.sum / 1000, histogram.count)
}

/**
 * Observations in fixed buckets, per label value (an L2 operation): a plain array per series and
 * a short linear scan per observation, cheaper than prom-client's label hashing on every call.
 */
export class BucketedSeries {
  readonly #bounds: readonly number[]
  readonly #series = new Map<string, { counts: Float64Array; sum: number }>()

  /** `bounds` in seconds, ascending. */
  constructor(bounds: readonly number[]) {
    this.#bounds = bounds
  }

  observe(label: string, seconds: number): void {
    let series = this.#series.get(label)
    if (series === undefined) {
      series = { counts: new Float64Array(this.#bounds.length + 1), sum: 0 }
      this.#series.set(label, series)
    }
    let i = 0
    while (i < this.#bounds.length && seconds > this.#bounds[i]!) i++
    series.counts[i]!++
    series.sum += seconds
  }

  /** The histogram lines, one series per label value seen, under label `labelName`. */
  samples(name: string, labelName: string): Sample[] {
    const out: Sample[] = []
    for (const [label, { counts, sum }] of this.#series) {
      const cumulative: number[] = []
      let seen = 0
      for (let i = 0; i < this.#bounds.length; i++) {
        seen += counts[i]!
        cumulative.push(seen)
      }
      const count = seen + counts[this.#bounds.length]!
      out.push(
        ...histogramSamples(name, { [labelName]: label }, this.#bounds, cumulative, sum, count),
      )
    }
    return out
  }
}

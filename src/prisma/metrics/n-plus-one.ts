import { coarseNow } from '../../cache/store-types.js'
import { captureCallSite } from './call-site.js'
import { type RelationHint, suggestFix } from './n-plus-one-suggestion.js'
import { currentQueryContext, type QueryContext } from './query-context.js'
import { describeShape, shapeHash } from './query-shape.js'
import { RingBuffer } from './ring-buffer.js'

/**
 * N+1 detection: the same query shape (model, operation, arguments without their values) repeated
 * `threshold` times where one query would do.
 *
 * - **In a query context** ({@link runWithQueryContext}, one per web request or job) the count is
 *   exact: per context and shape, reported once when it reaches `threshold`; the report's `count`
 *   keeps growing while the context runs.
 * - **Without a context** (scripts, code not wrapped) bursts are detected: counts per shape in
 *   tumbling windows of `windowMs`, each window adding the previous window's count (so a loop
 *   that straddles a boundary is still seen; the effective window is `windowMs` to 2×`windowMs`).
 *   When a shape reaches `threshold`, one stack is captured and the shape is reported for that
 *   call site, once per shape and call site. Calls from several call sites with the same shape
 *   count together, and so do concurrent requests that each make one such call: wrap requests in
 *   a context for exact answers. A shape that stays hot does not cross the threshold again, and
 *   one that crosses it in every window is captured at most once a second while its stacks show
 *   only call sites already reported (a new call site of it may be reported up to a second late).
 *
 * Cost per call: a shape hash (≈ 65 ns for `{ where: { id } }`) and one Map lookup; a stack
 * (5-200 µs) only when a shape crosses the threshold. Memory: at most 1000 shapes per context and 10 000 per burst window.
 */

/** Settings of N+1 detection (`QueryMetricsOptions.nPlusOne`). */
export interface NPlusOneOptions {
  /**
   * Repetitions of one shape that make a report. Integer ≥ 2.
   * @default 10
   */
  threshold?: number
  /**
   * Burst window without a query context, ms.
   * @default 50
   */
  windowMs?: number
  /**
   * Detect bursts outside query contexts.
   * @default true
   */
  burst?: boolean
  /**
   * Reports kept for `stats()` / `nPlusOne()` (the latest).
   * @default 100
   */
  maxReports?: number
  /**
   * Count calls answered from the cache too (the code pattern is the same).
   * @default true
   */
  includeCacheHits?: boolean
  /** Names the parent relation of a repeated query, for `include` advice. */
  relationHint?: RelationHint
  /**
   * More frames never to report as the call site, of N+1 reports and of slow queries: file path
   * substrings or patterns.
   */
  ignoreFrames?: readonly (string | RegExp)[]
}

/** One N+1 pattern found. */
export interface NPlusOneReport {
  /** The model; `undefined` for raw queries. */
  model: string | undefined
  /** The operation repeated. */
  operation: string
  /** The repeated shape, e.g. `{where:{id:?}}`. */
  shape: string
  /** Calls of the shape counted: in a context it keeps growing after the report. */
  count: number
  /** `file:line` of the first user frame of the call that crossed the threshold. */
  callSite: string | undefined
  /** The query context's name (`undefined` for bursts and unnamed contexts). */
  context: string | undefined
  /** How it was found: in a query context, or as a burst without one. */
  detection: 'context' | 'burst'
  /** What single query would replace the repeated ones. */
  suggestion: string
  /** When it was reported, epoch ms. */
  timestamp: number
}

/** The per-operation data the detector reads (kept by the query metrics). */
export interface ShapeSource {
  readonly model: string | undefined
  readonly operation: string
  /** Model and operation hashed with `hashText`, the seed of every shape hash. */
  readonly shapeSeed: number
}

/** Resolved settings (see `resolveMetricsOptions`). */
export interface NPlusOneSettings {
  threshold: number
  windowMs: number
  burst: boolean
  maxReports: number
  includeCacheHits: boolean
  relationHint: RelationHint | undefined
  ignoreFrames: readonly (string | RegExp)[]
}

const MAX_SHAPES_PER_CONTEXT = 1000
const MAX_SHAPES_PER_WINDOW = 10_000
const MAX_BURST_SITES = 1000
/**
 * How long a shape whose last stack showed only a call site already reported is not captured
 * again. A shape called a few times per window crosses the threshold in every window; under
 * load, a stack each time (30-200 µs with source maps) cost more than the rest of the metrics.
 */
const RECAPTURE_MS = 1000

class ShapeCounter {
  count = 0
  report: NPlusOneReport | undefined = undefined
}

class BurstCounter {
  count = 0
  constructor(readonly previous: number) {}
}

/**
 * Counts query shapes per context (or per burst window) and reports N+1 patterns.
 *
 * @example
 * ```ts
 * const detector = new NPlusOneDetector(settings, (report) => console.warn(report.suggestion))
 * detector.observe(operationStats, args) // for every call
 * detector.reports()
 * ```
 */
export class NPlusOneDetector {
  readonly #list: RingBuffer<NPlusOneReport>
  #current = new Map<number, BurstCounter>()
  #previous = new Map<number, BurstCounter>()
  #windowStart = 0
  readonly #burstSites = new Set<string>()
  /** Shapes not to capture again before the time they map to (see `RECAPTURE_MS`). */
  readonly #quietUntil = new Map<number, number>()

  readonly #settings: NPlusOneSettings
  readonly #onReport: (report: NPlusOneReport) => void

  constructor(settings: NPlusOneSettings, onReport: (report: NPlusOneReport) => void) {
    this.#settings = settings
    this.#onReport = onReport
    this.#list = new RingBuffer(settings.maxReports)
  }

  /**
   * Counts one call of `source` with `args` in the caller's query context (`context`, when the
   * caller looked it up already), or as part of a burst.
   *
   * @example
   * ```ts
   * detector.observe(stats, { where: { id: 3 } })
   * ```
   */
  observe(source: ShapeSource, args: unknown, context = currentQueryContext()): void {
    if (context !== undefined) this.#inContext(context, source, args)
    else if (this.#settings.burst) this.#inBurst(source, args)
  }

  #inContext(context: QueryContext, source: ShapeSource, args: unknown): void {
    let shapes = context.get(this) as Map<number, ShapeCounter> | undefined
    if (shapes === undefined) {
      shapes = new Map()
      context.set(this, shapes)
    }
    const key = shapeHash(args, source.shapeSeed)
    let counter = shapes.get(key)
    if (counter === undefined) {
      if (shapes.size >= MAX_SHAPES_PER_CONTEXT) return
      counter = new ShapeCounter()
      shapes.set(key, counter)
    }
    const count = ++counter.count
    if (counter.report !== undefined) counter.report.count = count
    else if (count >= this.#settings.threshold) {
      const callSite = captureCallSite(this.#settings.ignoreFrames)
      counter.report = this.#report(source, args, count, callSite, context.name, 'context')
    }
  }

  #inBurst(source: ShapeSource, args: unknown): void {
    const now = coarseNow()
    if (now - this.#windowStart >= this.#settings.windowMs) this.#rotate(now)
    const key = shapeHash(args, source.shapeSeed)
    let counter = this.#current.get(key)
    if (counter === undefined) {
      if (this.#current.size >= MAX_SHAPES_PER_WINDOW) return
      counter = new BurstCounter(this.#previous.get(key)?.count ?? 0)
      this.#current.set(key, counter)
    }
    // Crossing, not being above: a shape that stays hot window after window crosses only once.
    if (++counter.count + counter.previous !== this.#settings.threshold) return
    if ((this.#quietUntil.get(key) ?? 0) > now) return
    const callSite = captureCallSite(this.#settings.ignoreFrames)
    const site = `${key}@${callSite}`
    if (this.#burstSites.has(site)) {
      if (this.#quietUntil.size >= MAX_SHAPES_PER_WINDOW) this.#quietUntil.clear()
      this.#quietUntil.set(key, now + RECAPTURE_MS)
      return
    }
    if (this.#burstSites.size >= MAX_BURST_SITES) this.#burstSites.clear()
    this.#burstSites.add(site)
    this.#report(source, args, this.#settings.threshold, callSite, undefined, 'burst')
  }

  #rotate(now: number): void {
    const stale = this.#previous
    stale.clear()
    if (now - this.#windowStart >= 2 * this.#settings.windowMs) this.#current.clear()
    this.#previous = this.#current
    this.#current = stale
    this.#windowStart = now
  }

  #report(
    source: ShapeSource,
    args: unknown,
    count: number,
    callSite: string | undefined,
    context: string | undefined,
    detection: NPlusOneReport['detection'],
  ): NPlusOneReport {
    const report: NPlusOneReport = {
      model: source.model,
      operation: source.operation,
      shape: describeShape(args),
      count,
      callSite,
      context,
      detection,
      suggestion: suggestFix(source.model, source.operation, args, this.#settings.relationHint),
      timestamp: Date.now(),
    }
    this.#list.push(report)
    this.#onReport(report)
    return report
  }

  /**
   * The latest reports, oldest first.
   *
   * @example
   * ```ts
   * detector.reports().map((r) => `${r.callSite}: ${r.suggestion}`)
   * ```
   */
  reports(): NPlusOneReport[] {
    return this.#list.toArray()
  }

  /** Reports made since creation or `reset()`, including those no longer kept. */
  get total(): number {
    return this.#list.total
  }

  /**
   * Forgets the reports and the burst windows (contexts keep their own counts).
   *
   * @example
   * ```ts
   * detector.reset()
   * ```
   */
  reset(): void {
    this.#list.clear()
    this.#current.clear()
    this.#previous.clear()
    this.#burstSites.clear()
    this.#windowStart = 0
  }
}

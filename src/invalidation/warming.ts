import { type CacheManager, cacheInternals } from '../cache/cache-manager.js'
import type { ComputePlan } from '../cache/call-options.js'
import { planCompute } from '../cache/call-options.js'
import { assertKey } from '../cache/validate.js'
import { LoaderTimeoutError } from '../errors.js'
import {
  errorInfo,
  type WarmingItemStats,
  type WarmingRunSummary,
  type WarmingStats,
} from './invalidation-types.js'
import {
  type ResolvedWarmingConfig,
  type ResolvedWarmingItem,
  resolveWarmingConfig,
} from './warming-config.js'

/** How one computation ended. */
type Outcome = 'stored' | 'skipped' | 'stopped'

interface Schedule {
  readonly config: ResolvedWarmingConfig
  readonly stats: WarmingStats
  stopped: boolean
  timer: NodeJS.Timeout | undefined
  /** The round under way. */
  round?: Promise<WarmingRunSummary | undefined> | undefined
}

/** Hooks through which the warmer reports; called synchronously, must not throw. */
export interface WarmerHooks {
  error(error: unknown, key: string): void
  round(summary: WarmingRunSummary): void
}

/**
 * Keeps entries warm: computes each item at start and then every interval (with jitter), at most
 * `concurrency` at a time, and stores the values as fills that replace the stored value (not
 * `getOrCompute`, which would leave a cached value alone: warming must refresh it), fenced like
 * every fill: a write on any instance during the computation keeps its value out. Rounds are
 * chained with `setTimeout` after the previous one ends, so a slow round never overlaps the next.
 * Timers are `unref()`ed so a warming schedule never keeps the process alive. Errors are counted
 * and reported through {@link WarmerHooks.error}, never thrown into the timer.
 *
 * A computation that overlaps an invalidation of its key is not stored (it may have read the
 * source before the write); it is recomputed once, and skipped if that happens again. Without a
 * fence point from Redis (it is unreachable) the value is kept in this process's L1 only and
 * counted as skipped.
 */
export class CacheWarmer {
  readonly #cache: CacheManager
  readonly #hooks: WarmerHooks
  #schedule: Schedule | undefined
  #stats: WarmingStats = { active: false, runs: 0, items: {} }

  constructor(cache: CacheManager, hooks: WarmerHooks) {
    this.#cache = cache
    this.#hooks = hooks
  }

  /**
   * Validates `config`, then replaces the current schedule with it. An invalid configuration
   * throws before anything changes, leaving the previous schedule running. Stats start afresh.
   */
  setup(config: unknown): void {
    const resolved = resolveWarmingConfig(config)
    this.stop()
    const items: Record<string, WarmingItemStats> = {}
    for (const item of resolved.items) items[item.key] = { successes: 0, failures: 0, skipped: 0 }
    const stats: WarmingStats = { active: resolved.enabled, runs: 0, items }
    this.#stats = stats
    if (!resolved.enabled) return
    const schedule: Schedule = { config: resolved, stats, stopped: false, timer: undefined }
    this.#schedule = schedule
    if (resolved.runOnStart) this.#runRound(schedule)
    else this.#scheduleNext(schedule)
  }

  /**
   * Stops the schedule: no round starts any more, and computations of a round in progress are
   * not stored when they finish. Idempotent.
   */
  stop(): void {
    const schedule = this.#schedule
    if (schedule === undefined) return
    this.#schedule = undefined
    schedule.stopped = true
    clearTimeout(schedule.timer)
    schedule.stats.active = false
    delete schedule.stats.nextRunAt
  }

  /** A deep copy of the counters. */
  stats(): WarmingStats {
    return structuredClone(this.#stats)
  }

  /**
   * Computes `compute` now and stores its value (see the class comment on invalidations that
   * overlap it). Resolves to the computed value; rejects when `compute` or the store fails.
   */
  async warm<T>(
    key: string,
    compute: () => T | PromiseLike<T>,
    ttlMs: number | undefined,
    tags: readonly string[],
    timeoutMs?: number,
  ): Promise<T> {
    const result = await this.#computeAndStore(key, compute, ttlMs, tags, timeoutMs, undefined)
    return result.value as T
  }

  async #computeAndStore(
    key: string,
    compute: () => unknown,
    ttlMs: number | undefined,
    tags: readonly string[],
    timeoutMs: number | undefined,
    schedule: Schedule | undefined,
  ): Promise<{ outcome: Outcome; value: unknown }> {
    const internals = cacheInternals(this.#cache)
    assertKey(key, internals.maxKeyLength(), 'key')
    const plan: ComputePlan = {
      ...planCompute({ ttl: ttlMs, tags }, internals.planDefaults()),
      // A round the schedule stopped meanwhile stores nothing.
      storeIf: () => schedule?.stopped !== true,
    }
    let value: unknown
    // One retry after an overlapping invalidation: the write that caused it is then visible.
    for (let attempt = 0; attempt < 2; attempt++) {
      const result = await internals.replace(key, () => withTimeout(compute, timeoutMs, key), plan)
      value = result.value
      if (schedule?.stopped) return { outcome: 'stopped', value }
      if (result.stored) return { outcome: 'stored', value }
      // Held again: a newer value was stored meanwhile (or this one, in L1 only), keep it.
      if (await this.#cache.has(key)) break
    }
    return { outcome: 'skipped', value }
  }

  #scheduleNext(schedule: Schedule): void {
    if (schedule.stopped) return
    const { intervalMs, jitter } = schedule.config
    const delay = Math.max(0, intervalMs * (1 + jitter * (2 * Math.random() - 1)))
    schedule.stats.nextRunAt = Date.now() + delay
    schedule.timer = setTimeout(() => {
      schedule.timer = undefined
      this.#runRound(schedule)
    }, delay)
    schedule.timer.unref()
  }

  #runRound(schedule: Schedule): void {
    delete schedule.stats.nextRunAt
    void this.#joinRound(schedule).finally(() => this.#scheduleNext(schedule))
  }

  /**
   * Runs a round of the schedule now (or joins the one under way), outside its timing; resolves
   * to its summary, or `undefined` when no schedule is set up or it was stopped meanwhile.
   */
  runNow(): Promise<WarmingRunSummary | undefined> {
    const schedule = this.#schedule
    return schedule === undefined ? Promise.resolve(undefined) : this.#joinRound(schedule)
  }

  /** The round under way, or a new one: two rounds at once would compute everything twice. */
  #joinRound(schedule: Schedule): Promise<WarmingRunSummary | undefined> {
    schedule.round ??= this.#round(schedule).finally(() => {
      schedule.round = undefined
    })
    return schedule.round
  }

  /** One round over every item; never rejects. */
  async #round(schedule: Schedule): Promise<WarmingRunSummary | undefined> {
    const { items, concurrency } = schedule.config
    const summary: WarmingRunSummary = {
      startedAt: Date.now(),
      finishedAt: 0,
      durationMs: 0,
      successes: 0,
      failures: 0,
      skipped: 0,
    }
    let next = 0
    // A pool of `concurrency` workers pulling items in order.
    const worker = async (): Promise<void> => {
      while (!schedule.stopped && next < items.length) {
        await this.#warmItem(schedule, items[next++]!, summary)
      }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker))
    if (schedule.stopped) return undefined
    summary.finishedAt = Date.now()
    summary.durationMs = summary.finishedAt - summary.startedAt
    schedule.stats.runs++
    schedule.stats.lastRun = summary
    safely(() => this.#hooks.round({ ...summary }))
    return { ...summary }
  }

  async #warmItem(
    schedule: Schedule,
    item: ResolvedWarmingItem,
    summary: WarmingRunSummary,
  ): Promise<void> {
    const itemStats = schedule.stats.items[item.key]!
    const started = Date.now()
    try {
      const { outcome } = await this.#computeAndStore(
        item.key,
        item.compute,
        item.ttlMs,
        item.tags,
        schedule.config.timeoutMs,
        schedule,
      )
      if (outcome === 'stopped') return
      itemStats.lastDurationMs = Date.now() - started
      if (outcome === 'stored') {
        itemStats.successes++
        itemStats.lastSuccessAt = Date.now()
        summary.successes++
      } else {
        itemStats.skipped++
        summary.skipped++
      }
    } catch (error) {
      // A stopped schedule's late failures (e.g. the cache closed under it) are not news.
      if (schedule.stopped) return
      const lastError = errorInfo(error)
      itemStats.failures++
      itemStats.lastDurationMs = lastError.at - started
      itemStats.lastError = lastError
      schedule.stats.lastError = { key: item.key, ...lastError }
      summary.failures++
      safely(() => this.#hooks.error(error, item.key))
    }
  }
}

/** Runs `compute`, catching synchronous throws, and gives up after `timeoutMs` when given. */
async function withTimeout(
  compute: () => unknown,
  timeoutMs: number | undefined,
  key: string,
): Promise<unknown> {
  const running = new Promise((resolve) => resolve(compute()))
  if (timeoutMs === undefined) return running
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new LoaderTimeoutError(key, timeoutMs)), timeoutMs)
    timer.unref()
  })
  try {
    return await Promise.race([running, timeout])
  } finally {
    clearTimeout(timer)
    // The late result (or failure) of a computation we gave up on goes nowhere.
    running.catch(() => {})
  }
}

/** Runs a reporting hook; a throwing listener must not break the schedule or reject a round. */
function safely(report: () => void): void {
  try {
    report()
  } catch {
    // Swallowed on purpose: the timer has nobody to throw to.
  }
}

import { EventEmitter } from 'node:events'
import type { CacheManager } from '../cache/cache-manager.js'
import { type Duration, normalizeTags } from '../cache/validate.js'
import { ErrorCodes, StrataCacheError } from '../errors.js'
import { DependencyGraph, runRule } from './dependency-graph.js'
import {
  assertConstructorArgs,
  assertDependencyKeys,
  dependencyEdgeArgs,
  includeParentOption,
  keyList,
  warmEntryArgs,
} from './invalidation-args.js'
import type {
  CacheInvalidationEvents,
  CacheInvalidationOptions,
  DependencyInvalidationOptions,
  InvalidationErrorEvent,
  InvalidationRule,
  RuleStats,
  WarmEntryOptions,
  WarmingRunSummary,
  WarmingStats,
} from './invalidation-types.js'
import { RuleSet } from './rules.js'
import { CacheWarmer } from './warming.js'
import type { CacheWarmingConfig } from './warming-config.js'

export type {
  CacheInvalidationEvents,
  CacheInvalidationOptions,
  DependencyInvalidationOptions,
  InvalidatedEvent,
  InvalidationErrorEvent,
  WarmEntryOptions,
} from './invalidation-types.js'

/**
 * Invalidation and warming on top of a {@link CacheManager}: tags and patterns,
 * dependencies between keys, rules fired by application events, and scheduled cache warming.
 *
 * Everything it removes goes through `cache.delete`, `cache.invalidateByTag` and
 * `cache.invalidateByPattern`, so it reaches Redis and, through the cache's bus, the L1 of other
 * instances. The dependency graph and the rules live in this process: register them in every
 * instance that invalidates.
 *
 * It is an `EventEmitter`: `invalidated` after each invalidation, `error` for failures absorbed
 * in rule handlers and warming (emitted only while someone listens), `warmed` after each warming
 * round.
 *
 * @example
 * ```ts
 * const invalidation = new CacheInvalidation(cache, { events: eventEmitter })
 * invalidation.registerDependency('product:123', 'cart:user-456:items')
 * invalidation.registerRule({
 *   id: 'product_update_rule',
 *   pattern: /^cache:product:/,
 *   triggers: ['product.updated', 'product.deleted'],
 *   dependencies: ['cache:product:list'],
 *   enabled: true,
 * })
 * eventEmitter.emit('product.updated', { id: '123' })
 * await invalidation.settled() // node's emit does not wait; EventEmitter2's emitAsync does
 * ```
 */
export class CacheInvalidation extends EventEmitter<CacheInvalidationEvents> {
  readonly #cache: CacheManager
  readonly #graph: DependencyGraph
  readonly #rules: RuleSet
  readonly #warmer: CacheWarmer
  #closed = false

  /**
   * @param cache - the cache to invalidate and warm; not closed by {@link close}.
   * @param options - `events`: the emitter whose events fire rules; `maxDependencies`.
   * @throws `ValidationError` naming the bad field (`cache`, `events`, `maxDependencies`, ...).
   */
  constructor(cache: CacheManager, options: CacheInvalidationOptions = {}) {
    super()
    assertConstructorArgs(cache, options)
    const { events } = options
    this.#cache = cache
    this.#graph = new DependencyGraph(options.maxDependencies)
    this.#rules = new RuleSet(
      events,
      (rule, event) =>
        runRule({ cache, graph: this.#graph, rule, event }, (payload) =>
          this.emit('invalidated', payload),
        ),
      (error, rule, event) => this.#report({ error, operation: 'rule', ruleId: rule.id, event }),
    )
    this.#warmer = new CacheWarmer(cache, {
      error: (error, key) => this.#report({ error, operation: 'warming', key }),
      round: (summary) => this.emit('warmed', summary),
    })
  }

  /** Removes every entry carrying any of the tags, in both tiers and on other instances. */
  async invalidateByTag(tags: string | readonly string[]): Promise<void> {
    this.#assertOpen()
    await this.#cache.invalidateByTag(tags)
    this.emit('invalidated', { source: 'tag', tags: normalizeTags(tags, 'tag') })
  }

  /**
   * Removes entries whose key matches a glob (`cache:product:*`) or a RegExp. Resolves to the
   * number removed, as {@link CacheManager.invalidateByPattern} counts them.
   */
  async invalidateByPattern(pattern: string | RegExp): Promise<number> {
    this.#assertOpen()
    const removed = await this.#cache.invalidateByPattern(pattern)
    this.emit('invalidated', { source: 'pattern', pattern, removed })
    return removed
  }

  /**
   * Records that `dependent` (one key or several) must be invalidated whenever `parent` is, via
   * {@link invalidateByDependency} or a rule's `dependencies`. Edges stay until unregistered
   * (invalidating does not forget them) and are idempotent; they live in this process.
   * @throws `ValidationError`: a bad key (field `parent` / `dependent` / `dependent[i]`), a key
   * depending on itself, or a full graph (field `maxDependencies`).
   */
  registerDependency(parent: string, dependent: string | readonly string[]): void {
    this.#assertOpen()
    this.#graph.addAll(parent, dependencyEdgeArgs(parent, dependent))
  }

  /**
   * Removes the edge `parent → dependent`, or every edge out of `parent` when `dependent` is
   * omitted. Returns how many edges were removed.
   * @example `invalidation.unregisterDependency('product:123', 'cart:user-456:items') // 1`
   */
  unregisterDependency(parent: string, dependent?: string): number {
    assertDependencyKeys(parent, dependent)
    return this.#graph.remove(parent, dependent)
  }

  /** Forgets every dependency edge. */
  clearDependencies(): void {
    this.#graph.clear()
  }

  /**
   * Deletes `parent` (unless `includeParent: false`) and all its dependents, transitively
   * (`a → b → c` removes b and c; cycles such as `a → b → a` terminate), in one `cache.delete`.
   * The edges are kept, so the next change of the parent invalidates the same keys again.
   * Resolves to the keys deleted, parent first then breadth first (whether or not they held a
   * value).
   * @example
   * ```ts
   * await invalidation.invalidateByDependency('product:123')
   * // → ['product:123', 'cart:user-456:items']
   * ```
   */
  async invalidateByDependency(
    parent: string | readonly string[],
    options: DependencyInvalidationOptions = {},
  ): Promise<string[]> {
    this.#assertOpen()
    const roots = keyList(parent, 'parent')
    const keys = this.#graph.invalidationKeys(roots, includeParentOption(options))
    if (keys.length > 0) await this.#cache.delete(keys)
    this.emit('invalidated', { source: 'dependency', keys: [...keys] })
    return keys
  }

  /**
   * A plain, JSON-serialisable copy of the dependency graph: `{ [parent]: directDependents[] }`.
   * @example `invalidation.getDependencyGraph() // { 'product:123': ['cart:user-456:items'] }`
   */
  getDependencyGraph(): Record<string, string[]> {
    return this.#graph.toJSON()
  }

  /**
   * Registers (or, for an existing `id`, replaces) a rule: when any trigger fires on the `events`
   * emitter, keys matching `pattern` are removed, and so are `dependencies` with their
   * dependents. Handlers never throw into `emit`; failures are counted ({@link getRuleStats}) and
   * emitted as `error`. Events arriving while the rule runs are coalesced into one more run.
   * @throws `ValidationError` naming the field (`rule.triggers[1]`), or `events` when no emitter
   * was given to the constructor. See the class example.
   */
  registerRule(rule: InvalidationRule): void {
    this.#assertOpen()
    this.#rules.register(rule)
  }

  /**
   * Removes a rule and detaches its listeners. Returns `false` when there was none.
   */
  unregisterRule(id: string): boolean {
    return this.#rules.unregister(id)
  }

  /**
   * Turns a rule on.
   * @throws `ValidationError` (field `id`) for an unknown id.
   */
  enableRule(id: string): void {
    this.#rules.setEnabled(id, true)
  }

  /**
   * Turns a rule off; it stays registered and listening, and does nothing until enabled.
   * @throws `ValidationError` (field `id`) for an unknown id.
   */
  disableRule(id: string): void {
    this.#rules.setEnabled(id, false)
  }

  /** {@link enableRule} or {@link disableRule}, by a boolean. */
  setRuleEnabled(id: string, enabled: boolean): void {
    this.#rules.setEnabled(id, enabled)
  }

  /**
   * Copies of the registered rules, in registration order: mutating them changes nothing.
   * @example `invalidation.getRules().map((rule) => rule.id) // ['product_update_rule']`
   */
  getRules(): InvalidationRule[] {
    return this.#rules.list()
  }

  /**
   * Runs, failures and the last error per rule id, since the rule was (re-)registered.
   * @example `invalidation.getRuleStats().product_update_rule?.failures // 0`
   */
  getRuleStats(): Record<string, RuleStats> {
    return this.#rules.stats()
  }

  /**
   * Resolves when no rule run is in flight. Node's `emit` returns before the rule's invalidation
   * is done; await this after emitting when the next read must not see the old value
   * (EventEmitter2's `emitAsync` waits by itself).
   */
  settled(): Promise<void> {
    return this.#rules.settled()
  }

  /**
   * Keeps `items` warm: computes them now (unless `runOnStart: false`) and every `interval` with
   * jitter, at most `concurrency` at once, storing with `cache.set`. Failures are counted
   * ({@link getWarmingStats}) and emitted as `error`, never thrown into the timer. Calling it
   * again replaces the schedule; an invalid config throws and leaves the current one running.
   * @throws `ValidationError` naming the field (`config.items[0].ttl`).
   * @example
   * ```ts
   * invalidation.setupCacheWarming({
   *   enabled: true,
   *   interval: 300000,
   *   items: [{ key: 'categories', compute: () => prisma.category.findMany(), ttl: 7200000 }],
   * })
   * ```
   */
  setupCacheWarming(config: CacheWarmingConfig): void {
    this.#assertOpen()
    this.#warmer.setup(config)
  }

  /**
   * Computes a value now and stores it, even when one is cached (that is the point of warming).
   * Resolves to the computed value. It is not stored when the key is invalidated during the
   * computation twice in a row, or when a newer value is stored meanwhile.
   * @param ttlOrOptions - a TTL (ms or `'1h'`), or `{ ttl?, tags?, timeout? }`.
   * @example `await invalidation.warmCacheEntry('featured-products', () => getFeatured(), 3600000)`
   */
  async warmCacheEntry<T>(
    key: string,
    compute: () => T | PromiseLike<T>,
    ttlOrOptions?: Duration | WarmEntryOptions,
  ): Promise<T> {
    this.#assertOpen()
    const { ttlMs, tags, timeoutMs } = warmEntryArgs(key, compute, ttlOrOptions)
    return this.#warmer.warm(key, compute, ttlMs, tags, timeoutMs)
  }

  /**
   * Runs a round of the warming schedule now, outside its timing (or joins the round under way):
   * every item computed and stored. Resolves to the round's summary, or `undefined` when no
   * schedule is set up (or it was stopped meanwhile). The next scheduled round keeps its time.
   * @example `const summary = await invalidation.warmNow() // { successes: 3, failures: 0, ... }`
   */
  warmNow(): Promise<WarmingRunSummary | undefined> {
    this.#assertOpen()
    return this.#warmer.runNow()
  }

  /**
   * Stops the warming schedule: no round starts any more, and values of a round in progress are
   * not stored.
   */
  stopCacheWarming(): void {
    this.#warmer.stop()
  }

  /**
   * Warming counters since the schedule was set up: rounds, successes / failures / skipped per
   * key, the last round and the last error. Plain data (a copy).
   * @example `invalidation.getWarmingStats().items.categories?.failures // 0`
   */
  getWarmingStats(): WarmingStats {
    return this.#warmer.stats()
  }

  /**
   * Stops warming, removes every listener it added (on the application's emitter and on the
   * cache) and waits for rule runs in flight. Does not close the cache. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#warmer.stop()
    await this.#rules.close()
  }

  #report(payload: InvalidationErrorEvent): void {
    // EventEmitter throws an unheard 'error'; here that would crash a timer or an emit.
    if (this.listenerCount('error') > 0) this.emit('error', payload)
  }

  #assertOpen(): void {
    if (this.#closed) {
      throw new StrataCacheError(ErrorCodes.CLOSED, 'the CacheInvalidation was closed')
    }
  }
}

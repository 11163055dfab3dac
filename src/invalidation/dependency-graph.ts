import type { CacheManager } from '../cache/cache-manager.js'
import { invalid } from '../errors.js'
import type { InvalidatedEvent, InvalidationRule } from './invalidation-types.js'

/**
 * A directed graph "parent → dependents" between cache keys, for dependency-based invalidation
 * (e.g. a cart depends on the products in it). Pure bookkeeping: it never touches a cache.
 *
 * Edges stay until they are removed ({@link remove}, {@link clear}): invalidating a parent does
 * not forget its dependents, so the next change of the same product invalidates the same carts
 * again without the application registering them anew. Registering an edge twice is a no-op. The
 * graph is bounded by `maxEdges`: past it, {@link add} throws instead of evicting, because a
 * silently dropped edge would mean a dependent that is never invalidated (stale data).
 *
 * @example
 * ```ts
 * const graph = new DependencyGraph()
 * graph.add('product:1', 'cart:7')
 * graph.add('cart:7', 'checkout:7')
 * graph.closure(['product:1']) // ['product:1', 'cart:7', 'checkout:7']
 * ```
 */
export class DependencyGraph {
  /** parent → its direct dependents, in registration order. */
  readonly #edges = new Map<string, Set<string>>()
  #size = 0
  readonly #maxEdges: number

  /** @param maxEdges - most edges the graph holds before {@link add} throws. Default 100 000. */
  constructor(maxEdges = 100_000) {
    if (!Number.isSafeInteger(maxEdges) || maxEdges < 1) {
      throw invalid('maxDependencies', `must be a positive integer, got ${String(maxEdges)}`)
    }
    this.#maxEdges = maxEdges
  }

  /** Number of edges. */
  get size(): number {
    return this.#size
  }

  /**
   * Adds the edge `parent → dependent`. Returns `false` when it was already there.
   * @throws `ValidationError` (field `maxDependencies`) when the graph is full.
   */
  add(parent: string, dependent: string): boolean {
    return this.addAll(parent, [dependent]) === 1
  }

  /**
   * Adds `parent → d` for each of `dependents`, all or none: when they would not all fit, nothing
   * is added. Returns how many edges were new.
   * @throws `ValidationError` (field `maxDependencies`) when the graph would exceed its bound.
   */
  addAll(parent: string, dependents: readonly string[]): number {
    const existing = this.#edges.get(parent)
    const fresh = new Set(dependents.filter((d) => !existing?.has(d)))
    if (fresh.size === 0) return 0
    if (this.#size + fresh.size > this.#maxEdges) {
      throw invalid(
        'maxDependencies',
        `the dependency graph holds ${this.#size} of at most ${this.#maxEdges} edges; ` +
          'unregister some (unregisterDependency, clearDependencies) or raise maxDependencies',
      )
    }
    if (existing === undefined) this.#edges.set(parent, fresh)
    else for (const d of fresh) existing.add(d)
    this.#size += fresh.size
    return fresh.size
  }

  /**
   * Removes the edge `parent → dependent`, or every edge out of `parent` when `dependent` is
   * omitted. Returns how many edges were removed.
   */
  remove(parent: string, dependent?: string): number {
    const dependents = this.#edges.get(parent)
    if (dependents === undefined) return 0
    if (dependent === undefined) {
      this.#edges.delete(parent)
      this.#size -= dependents.size
      return dependents.size
    }
    if (!dependents.delete(dependent)) return 0
    if (dependents.size === 0) this.#edges.delete(parent)
    this.#size--
    return 1
  }

  /** Removes every edge. */
  clear(): void {
    this.#edges.clear()
    this.#size = 0
  }

  /**
   * The roots and everything reachable from them, each key once, breadth first (roots first).
   * Terminates on cycles (`a → b → a`) because a key is visited at most once.
   */
  closure(roots: readonly string[]): string[] {
    const seen = new Set<string>(roots)
    const order = [...seen]
    // `order` doubles as the BFS queue: keys are appended as they are discovered.
    for (let i = 0; i < order.length; i++) {
      const dependents = this.#edges.get(order[i]!)
      if (dependents === undefined) continue
      for (const dependent of dependents) {
        if (seen.has(dependent)) continue
        seen.add(dependent)
        order.push(dependent)
      }
    }
    return order
  }

  /**
   * The keys `invalidateByDependency(roots)` deletes: the roots (unless `includeParent` is false)
   * then their dependents, transitively and breadth first, each once.
   */
  invalidationKeys(roots: readonly string[], includeParent: boolean): string[] {
    const keys = this.closure(roots)
    // The closure lists the (distinct) roots first.
    return includeParent ? keys : keys.slice(new Set(roots).size)
  }

  /**
   * A plain, JSON-serialisable copy: `{ [parent]: directDependents[] }`. Built with
   * `Object.fromEntries` so that a key such as `__proto__` becomes an ordinary property.
   */
  toJSON(): Record<string, string[]> {
    return Object.fromEntries([...this.#edges].map(([parent, deps]) => [parent, [...deps]]))
  }
}

/** One firing of a rule, for {@link runRule}. */
export interface RuleRun {
  readonly cache: CacheManager
  readonly graph: DependencyGraph
  readonly rule: Readonly<InvalidationRule>
  /** The event that fired it. */
  readonly event: string
}

/**
 * One run of a rule: removes the keys matching its pattern and, at the same time, its
 * `dependencies` with their dependents, through the cache's public methods so that it reaches
 * Redis and other instances; then reports what it removed through `invalidated`.
 */
export async function runRule(
  { cache, graph, rule, event }: RuleRun,
  invalidated: (payload: InvalidatedEvent) => void,
): Promise<void> {
  const keys = rule.dependencies?.length ? graph.closure(rule.dependencies) : []
  const [removed] = await Promise.all([
    cache.invalidateByPattern(rule.pattern),
    keys.length > 0 ? cache.delete(keys) : undefined,
  ])
  invalidated({ source: 'rule', ruleId: rule.id, event, pattern: rule.pattern, removed, keys })
}

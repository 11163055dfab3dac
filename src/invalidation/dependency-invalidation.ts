import type { CacheManager } from '../cache/cache-manager.js'
import type { DependencyGraph } from './dependency-graph.js'
import type { InvalidatedEvent } from './invalidation-types.js'
import type { InvalidationRule } from './rules.js'

// What the dependency graph makes CacheInvalidation remove: the keys of an
// `invalidateByDependency`, and a rule's `dependencies` with their dependents. Everything goes
// through the cache's public methods, so it reaches Redis and other instances.

/**
 * The keys `invalidateByDependency(roots)` deletes: the roots (unless `includeParent` is false)
 * then their dependents, transitively and breadth first, each once.
 */
export function dependencyKeys(
  graph: DependencyGraph,
  roots: readonly string[],
  includeParent: boolean,
): string[] {
  const keys = graph.closure(roots)
  // The closure lists the (distinct) roots first.
  return includeParent ? keys : keys.slice(new Set(roots).size)
}

/**
 * One run of a rule: removes the keys matching its pattern and, at the same time, its
 * `dependencies` with their dependents; then reports what it removed through `invalidated`.
 */
export async function runRule(
  cache: CacheManager,
  graph: DependencyGraph,
  rule: Readonly<InvalidationRule>,
  event: string,
  invalidated: (payload: InvalidatedEvent) => void,
): Promise<void> {
  const keys = rule.dependencies?.length ? graph.closure(rule.dependencies) : []
  const [removed] = await Promise.all([
    cache.invalidateByPattern(rule.pattern),
    keys.length > 0 ? cache.delete(keys) : undefined,
  ])
  invalidated({
    source: 'rule',
    ruleId: rule.id,
    event,
    pattern: rule.pattern,
    removed,
    keys,
  })
}

/**
 * What a loader may hand `getOrCompute` instead of a bare value: the value, plus how the cache is
 * to keep it. Callers always get the value itself.
 *
 * - `localOnly`: keep it in this process (L1), never in L2, where other instances would take it
 *   as theirs. For values read from a source they must not trust, such as a read replica that may
 *   lag behind a write another instance made and this one has not heard of. Fenced by what this
 *   process knows when the load ends (its own invalidations, and the notices of others that have
 *   arrived), not by Redis's versions: another instance's invalidation whose notice is still on
 *   its way removes the value when the notice arrives, as it does any L1 copy (the bus's bound).
 *   Strict mode never serves it without asking Redis.
 * - `tags`: tags known only once the value is loaded (the rows a query returned), added to the
 *   plan's own. The fill is fenced on them too: an invalidation of one of them while the loader
 *   ran keeps the value out of the cache.
 */
export class Loaded<T = unknown> {
  constructor(
    readonly value: T,
    readonly localOnly: boolean,
    readonly tags: readonly string[],
  ) {}
}

const NO_TAGS: readonly string[] = []

/**
 * Marks a loaded value as local-only (see {@link Loaded}).
 *
 * @example
 * ```ts
 * await cache.getOrCompute(key, async () => localOnly(await readFromReplica()))
 * ```
 */
export function localOnly<T>(value: T): Loaded<T> {
  return new Loaded(value, true, NO_TAGS)
}

/** A loaded value with `tags` beyond the plan's, kept local-only when `local` (see {@link Loaded}). */
export function loaded<T>(value: T, tags: readonly string[], local = false): Loaded<T> {
  return new Loaded(value, local, tags)
}

/** What a loader returned, without its mark: the value, whether it is local-only, its own tags. */
export function unwrapLoaded(result: unknown): Loaded {
  return result instanceof Loaded ? result : new Loaded(result, false, NO_TAGS)
}

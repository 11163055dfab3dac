/**
 * A loaded value that must stay in this process: `getOrCompute` keeps it in L1 (fenced as
 * usual) and never writes it to L2, where other instances would take it as theirs. For values
 * read from a source other instances must not trust, such as a read replica that may lag behind
 * a write another instance has made but this one has not heard of yet.
 */
export class LocalOnly<T = unknown> {
  constructor(readonly value: T) {}
}

/**
 * Marks what a loader returns as local-only (see {@link LocalOnly}); callers get `value` itself.
 *
 * @example
 * ```ts
 * await cache.getOrCompute(key, async () => localOnly(await readFromReplica()))
 * ```
 */
export function localOnly<T>(value: T): LocalOnly<T> {
  return new LocalOnly(value)
}

/** `loaded` without its local-only mark, and whether it had one. */
export function unwrapLoaded(loaded: unknown): [value: unknown, local: boolean] {
  return loaded instanceof LocalOnly ? [loaded.value, true] : [loaded, false]
}

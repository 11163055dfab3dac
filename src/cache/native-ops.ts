import { invalid } from '../errors.js'
import { cacheNow } from './store-types.js'
import type { TieredStore } from './tiered-store.js'

/** Counters whose last shared value is remembered for an outage (the most recently used). */
const MAX_KNOWN_COUNTERS = 10_000

/**
 * Counters and sets. With L2 up they are native Redis types (INCRBY, SADD), shared by every
 * instance and never copied into L1 (another instance may change them at any time). Without L2,
 * or while it is unreachable, they live in this process's L1 so that no call fails because of
 * Redis, a counter going on from the last value Redis gave it here; such local values are not
 * merged back into Redis when it returns.
 */
export class NativeOps {
  readonly #store: TieredStore
  /**
   * The last value Redis gave each counter, and until when it can still be current: an outage
   * then counts on from it rather than from 0 (a rate limiter that forgot its count would let
   * everything through). Other instances' increments meanwhile are not counted.
   */
  readonly #known = new Map<string, { value: number; until: number }>()

  constructor(store: TieredStore) {
    this.#store = store
  }

  async increment(key: string, by: number, ttlMs: number): Promise<number> {
    const store = this.#store
    if (store.l2 !== undefined) {
      const value = await store.l2.increment(key, by, ttlMs)
      if (value !== undefined) {
        // A local copy (left from a degraded period) would shadow the shared counter.
        store.l1?.delete(key)
        this.#remember(key, value, ttlMs)
        return value
      }
    }
    const current = store.l1?.get(key)
    const known = this.#known.get(key)
    let base = known !== undefined && known.until > cacheNow() ? known.value : 0
    if (current !== undefined && current.freshUntil > cacheNow()) {
      if (typeof current.value !== 'number')
        throw invalid('key', `"${key}" holds a value that is not a counter`)
      base = current.value
    }
    const next = base + by
    if (known !== undefined) known.value = next
    store.writeNative(key, next, ttlMs)
    return next
  }

  #remember(key: string, value: number, ttlMs: number): void {
    const known = this.#known
    known.delete(key) // re-inserted last: the oldest goes first
    if (known.size >= MAX_KNOWN_COUNTERS) known.delete(known.keys().next().value!)
    known.set(key, { value, until: cacheNow() + ttlMs })
  }

  async addToSet(key: string, members: readonly string[], ttlMs: number): Promise<number> {
    const store = this.#store
    if (store.l2 !== undefined) {
      const added = await store.l2.addToSet(key, members, ttlMs)
      if (added !== undefined) {
        store.l1?.delete(key)
        return added
      }
    }
    const set = new Set(this.#localSet(key))
    const before = set.size
    for (const member of members) set.add(member)
    store.writeNative(key, set, ttlMs)
    return set.size - before
  }

  async getSet(key: string): Promise<string[]> {
    const store = this.#store
    if (store.l2 !== undefined) {
      const members = await store.l2.getSet(key)
      if (members !== undefined) return members
    }
    return [...this.#localSet(key)]
  }

  #localSet(key: string): Iterable<string> {
    const current = this.#store.l1?.get(key)
    if (current === undefined || current.freshUntil <= cacheNow()) return []
    if (!(current.value instanceof Set))
      throw invalid('key', `"${key}" holds a value that is not a set`)
    return current.value as Set<string>
  }
}

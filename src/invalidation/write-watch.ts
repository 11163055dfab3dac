import type { CacheManager } from '../cache/cache-manager.js'
import type { CacheEvents } from '../cache/events.js'
import { keyMatcher } from '../cache/glob.js'

/**
 * What happened to a key while a warming computation was running:
 * - `clean`: nothing; the computed value may be stored.
 * - `invalidated`: the key was deleted or invalidated (key, tag, pattern, clear). The computation
 *   may have read the source before the write that caused it, so its value must not be stored.
 * - `superseded`: someone stored a newer value; storing ours would overwrite it with an older one.
 */
export type WatchOutcome = 'clean' | 'invalidated' | 'superseded'

/** One computation being watched. */
export interface Watch {
  readonly key: string
  readonly tags: readonly string[]
  outcome: WatchOutcome
}

/**
 * Cache warming stores with `cache.set`, which (unlike `getOrCompute`) is not fenced against the
 * fill race of SPEC guarantee 2. This watch closes that gap as far as this process can see: it
 * listens to the cache's `set`, `delete` and `invalidate` events and marks computations whose key
 * was touched while they ran. It sees what the cache emits locally; a cross-instance bus that
 * re-emits remote invalidations as the same events is covered too.
 *
 * Listeners are attached on first use and removed by {@link close}.
 */
export class WriteWatch {
  readonly #cache: CacheManager
  readonly #watches = new Set<Watch>()
  #attached = false

  constructor(cache: CacheManager) {
    this.#cache = cache
  }

  /** Starts watching `key` (stored with `tags`). Pair every call with {@link end}. */
  begin(key: string, tags: readonly string[]): Watch {
    if (!this.#attached) {
      this.#cache.on('set', this.#onSet)
      this.#cache.on('delete', this.#onDelete)
      this.#cache.on('invalidate', this.#onInvalidate)
      this.#attached = true
    }
    const watch: Watch = { key, tags, outcome: 'clean' }
    this.#watches.add(watch)
    return watch
  }

  /** Stops watching and tells what happened meanwhile. */
  end(watch: Watch): WatchOutcome {
    this.#watches.delete(watch)
    return watch.outcome
  }

  /** Removes the listeners from the cache. */
  close(): void {
    this.#watches.clear()
    if (!this.#attached) return
    this.#cache.off('set', this.#onSet)
    this.#cache.off('delete', this.#onDelete)
    this.#cache.off('invalidate', this.#onInvalidate)
    this.#attached = false
  }

  // The latest event wins: delete-then-set leaves a newer value (superseded), set-then-delete
  // leaves nothing (invalidated).
  readonly #onSet = ({ key }: CacheEvents['set'][0]): void => {
    for (const watch of this.#watches) if (watch.key === key) watch.outcome = 'superseded'
  }

  readonly #onDelete = ({ keys }: CacheEvents['delete'][0]): void => {
    if (this.#watches.size === 0) return
    const deleted = new Set(keys)
    for (const watch of this.#watches) if (deleted.has(watch.key)) watch.outcome = 'invalidated'
  }

  readonly #onInvalidate = (event: CacheEvents['invalidate'][0]): void => {
    if (this.#watches.size === 0) return
    let touches: (watch: Watch) => boolean
    if (event.kind === 'clear') touches = () => true
    else if (event.kind === 'tag') touches = (w) => w.tags.some((tag) => event.tags.includes(tag))
    else {
      const matches = patternMatcher(event.pattern, event.remote === true)
      touches = (w) => matches(w.key)
    }
    for (const watch of this.#watches) if (touches(watch)) watch.outcome = 'invalidated'
  }
}

/**
 * Which keys a pattern invalidation reached. Another instance's RegExp is never run here (its
 * cost could be anything) and a glob that does not compile is not guessed at: both reach every key.
 */
function patternMatcher(pattern: string | RegExp, remote: boolean): (key: string) => boolean {
  if (remote && typeof pattern !== 'string') return () => true
  try {
    return keyMatcher(pattern)
  } catch {
    return () => true
  }
}

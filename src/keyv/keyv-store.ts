import { EventEmitter } from 'node:events'
import type { KeyvEntry, KeyvStoreAdapter, StoredData } from 'keyv'
import type { CacheManager } from '../cache/cache-manager.js'
import { assertCacheLike } from '../cache/validate.js'
import { escapeGlob } from '../drivers/redis-scan.js'
import { ErrorCodes, invalid } from '../errors.js'

/** Options of {@link KeyvStratacache}. */
export interface KeyvStratacacheOptions {
  /**
   * Prepended to every key Keyv hands over (`<namespace>:<key>`), so that Keyv's entries stay apart
   * from the rest of the cache: a `clear()` without a namespace removes only the keys under it, and
   * a Keyv key never overwrites an entry of the Prisma extension or of the application. With `''`,
   * keys are stored as Keyv gives them, and a `clear()` without a namespace clears the whole cache.
   * @default 'keyv:'
   */
  keyPrefix?: string
  /**
   * Whether `disconnect()` closes the cache too (Keyv's and cache-manager's `disconnect()` call
   * it, so does Nest's shutdown through `@nestjs/cache-manager`). Default `false`: the cache
   * belongs to whoever built it, who may share it with the Prisma extension or other stores.
   */
  closeOnDisconnect?: boolean
}

const OPTION_FIELDS = new Set<string>(['keyPrefix', 'closeOnDisconnect'])
const CACHE_METHODS = [
  'get',
  'set',
  'has',
  'delete',
  'getBatch',
  'setBatch',
  'invalidateByPattern',
  'scanKeys',
  'clear',
  'close',
]

/**
 * A Keyv storage adapter over a stratacache {@link CacheManager}: Keyv, cache-manager 7's
 * `createCache` and `@nestjs/cache-manager` then read and write through L1 and Redis, with the
 * cache's invalidation bus keeping instances coherent.
 *
 * - Values are stored as Keyv gives them: serialized strings by default, `{ value, expires }`
 *   objects when Keyv's `serialize` is off (cache-manager's own Keyv), which the cache copies
 *   and encodes like any value.
 * - A TTL from Keyv (ms) becomes the entry's TTL in both tiers; an entry Keyv gives none (or 0)
 *   lives for the cache's `ttl`: the cache always evicts, it never keeps an entry forever.
 * - `clear()` removes the entries of the store's `namespace` only, or every entry under
 *   `keyPrefix` when Keyv has no namespace; never the cache's other entries.
 * - `iterator()` (Keyv's `keyv.iterator()`) lists the namespace's entries with the cache's
 *   `scanKeys` and reads them through `getBatch`, so it never yields an expired or invalidated one.
 *
 * Every method rejects with a `ValidationError` naming the argument at fault. Redis failures
 * never reach Keyv: the cache absorbs them (it keeps serving from L1) and reports them on its own
 * `'error'` event.
 *
 * @example
 * ```ts
 * const cache = new CacheManager({ redis: process.env.REDIS_URL })
 * const keyv = new Keyv({ store: new KeyvStratacache(cache), namespace: 'sessions' })
 * await keyv.set('abc', { user: 1 }, 60_000)
 * ```
 */
export class KeyvStratacache extends EventEmitter implements Omit<KeyvStoreAdapter, 'setMany'> {
  /**
   * The options with their defaults, and `dialect: 'redis'`. Keyv reads `opts` of every store, so
   * it must exist; it is a copy, changing it changes nothing. Keyv 5 offers `keyv.iterator()` only
   * over a store whose `opts.dialect` it knows; `'redis'` is what stands behind the cache (a
   * memory-only cache iterates the same way).
   */
  readonly opts: Required<KeyvStratacacheOptions> & {
    /** The iteration dialect Keyv picks for this store. */
    readonly dialect: 'redis'
  }
  readonly #cache: CacheManager
  #namespace: string | undefined
  /** `keyPrefix` plus `<namespace>:`: everything this store's `clear()` removes starts with it. */
  #scope: string

  /**
   * @throws ValidationError (`cache`) when `cache` is not a CacheManager, (`options`, or the
   * option's name) when an option is unknown or of the wrong type.
   */
  constructor(cache: CacheManager, options: KeyvStratacacheOptions = {}) {
    super()
    assertCacheLike(cache, CACHE_METHODS)
    if (typeof options !== 'object' || options === null || Array.isArray(options)) {
      throw invalid('options', 'must be an object { keyPrefix?, closeOnDisconnect? }')
    }
    for (const field of Object.keys(options)) {
      if (!OPTION_FIELDS.has(field)) throw invalid(field, 'is not a KeyvStratacache option')
    }
    const { keyPrefix = 'keyv:', closeOnDisconnect = false } = options
    if (typeof keyPrefix !== 'string') {
      throw invalid('keyPrefix', `must be a string, got ${typeof keyPrefix}`)
    }
    if (typeof closeOnDisconnect !== 'boolean') {
      throw invalid('closeOnDisconnect', `must be a boolean, got ${typeof closeOnDisconnect}`)
    }
    this.opts = { keyPrefix, closeOnDisconnect, dialect: 'redis' }
    this.#cache = cache
    this.#scope = keyPrefix
  }

  /**
   * The Keyv namespace this store serves; Keyv sets it. Keys Keyv did not prefix with it
   * (`useKeyPrefix: false`) are prefixed here, so that `clear()` finds them. `''` means none.
   *
   * @throws ValidationError (`namespace`) when set to something else than a string or undefined.
   */
  get namespace(): string | undefined {
    return this.#namespace
  }

  /** Sets the namespace (Keyv does, from its own `namespace` option). */
  set namespace(namespace: string | undefined) {
    if (namespace !== undefined && typeof namespace !== 'string') {
      throw invalid('namespace', `must be a string or undefined, got ${typeof namespace}`)
    }
    this.#namespace = namespace === '' ? undefined : namespace
    this.#scope = this.opts.keyPrefix + (this.#namespace === undefined ? '' : `${namespace}:`)
  }

  /**
   * What is stored under `key`, or `undefined`. A failure is also emitted as `'error'`: Keyv turns
   * a rejected `get` into a silent miss (unless `throwOnErrors`), and would never hear of it.
   */
  async get<Value>(key: string): Promise<StoredData<Value> | undefined> {
    try {
      return await this.#cache.get<StoredData<Value>>(this.#cacheKey(key, 'key'))
    } catch (error) {
      if (this.listenerCount('error') > 0) this.emit('error', error)
      throw error
    }
  }

  /** What is stored under each of `keys`, aligned with them; one Redis round trip at most. */
  async getMany<Value>(keys: string[]): Promise<Array<StoredData<Value | undefined>>> {
    return this.#cache.getBatch<StoredData<Value>>(this.#cacheKeys(keys))
  }

  /**
   * Stores `value` for `ttl` ms (none or 0: the cache's `ttl`). Resolves to `true`, which Keyv's
   * `set` passes on; a value the cache cannot encode rejects with `ERR_UNSERIALIZABLE`.
   */
  async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    const cacheKey = this.#cacheKey(key, 'key')
    await this.#cache.set(cacheKey, value, { ttl: keyvTtl(ttl, 'ttl') })
    return true
  }

  /**
   * Stores every entry with one Redis round trip, each for its own `ttl`. Every entry is checked
   * before any is stored, so it is all or nothing: resolves to one `true` per entry, which Keyv's
   * `setMany` passes on (its contract says `void`; `true`s are what Keyv's callers expect).
   */
  async setMany(entries: KeyvEntry[]): Promise<boolean[]> {
    if (!Array.isArray(entries))
      throw invalid('entries', 'must be an array of { key, value, ttl? }')
    const items = entries.map((entry, i) => {
      if (typeof entry !== 'object' || entry === null) {
        throw invalid(`entries[${i}]`, 'must be { key, value, ttl? }')
      }
      return {
        key: this.#cacheKey(entry.key, `entries[${i}].key`),
        value: entry.value,
        ttl: keyvTtl(entry.ttl, `entries[${i}].ttl`),
      }
    })
    await this.#cache.setBatch(items)
    return items.map(() => true)
  }

  /** Whether a fresh entry is stored under `key`. Does not count as a hit or a miss. */
  async has(key: string): Promise<boolean> {
    return this.#cache.has(this.#cacheKey(key, 'key'))
  }

  /** {@link has} for each of `keys`, aligned with them. */
  async hasMany(keys: string[]): Promise<boolean[]> {
    return Promise.all(this.#cacheKeys(keys).map((key) => this.#cache.has(key)))
  }

  /**
   * Removes `key` from both tiers (and from other instances' L1). Resolves to whether a fresh
   * entry was there, as Keyv expects; the cache's `delete` does not say, so it is asked first,
   * and a write landing in between may make the answer stale, never the removal.
   */
  async delete(key: string): Promise<boolean> {
    const cacheKey = this.#cacheKey(key, 'key')
    const existed = await this.#cache.has(cacheKey)
    await this.#cache.delete(cacheKey)
    return existed
  }

  /** Removes every one of `keys`; resolves to whether any was there (as {@link delete}). */
  async deleteMany(keys: string[]): Promise<boolean> {
    const cacheKeys = this.#cacheKeys(keys)
    if (cacheKeys.length === 0) return false
    const existed = await Promise.all(cacheKeys.map((key) => this.#cache.has(key)))
    await this.#cache.delete(cacheKeys)
    return existed.includes(true)
  }

  /**
   * Removes this namespace's entries (keys under `keyPrefix` + `<namespace>:`), or with no
   * namespace every key under `keyPrefix`, in both tiers and other instances' L1. A namespace
   * `a` also holds namespace `a:b`'s keys, as Keyv's key format has it.
   */
  async clear(): Promise<void> {
    // Nothing to scope by: the whole cache is Keyv's.
    if (this.#scope === '') return this.#cache.clear()
    // Escaped: a namespace or prefix with `*` or `[` must not reach other entries.
    await this.#cache.invalidateByPattern(`${escapeGlob(this.#scope)}*`)
  }

  /**
   * The entries of `namespace` (Keyv passes the store's), or with none every entry under
   * `keyPrefix` (what `clear()` would remove), as `[key, value]` pairs: the key as Keyv stored it
   * (`<namespace>:<key>`, from which Keyv removes the namespace), the value as stored, read through
   * the cache (`getBatch`: an entry expired or invalidated since it was listed is passed over, and
   * each value read counts as a hit). Keys come from the cache's `scanKeys`, a batch at a time,
   * with its terms: Redis's keys while it is in use (otherwise this process's L1), a key written
   * meanwhile may or may not come, a key may come twice, a Redis failure ends the listing early.
   *
   * @throws ValidationError (`namespace`) when it is neither a string nor undefined.
   */
  iterator<Value>(
    namespace?: string,
  ): AsyncGenerator<Array<string | Awaited<Value> | undefined>, void> {
    if (namespace !== undefined && typeof namespace !== 'string') {
      throw invalid('namespace', `must be a string or undefined, got ${typeof namespace}`)
    }
    const scope = this.opts.keyPrefix + (namespace ? `${namespace}:` : '')
    // Escaped: a namespace or prefix with `*` or `[` must not list other entries.
    const batches = this.#cache.scanKeys(`${escapeGlob(scope)}*`)
    return this.#entries<Awaited<Value>>(batches)
  }

  async *#entries<Value>(batches: AsyncIterable<string[]>): AsyncGenerator<[string, Value], void> {
    const from = this.opts.keyPrefix.length
    for await (const keys of batches) {
      const values = await this.#cache.getBatch<Value>(keys)
      for (let i = 0; i < keys.length; i++) {
        const value = values[i]
        if (value !== undefined) yield [keys[i]!.slice(from), value]
      }
    }
  }

  /** Closes the cache when `closeOnDisconnect` says so; otherwise does nothing. */
  async disconnect(): Promise<void> {
    if (this.opts.closeOnDisconnect) await this.#cache.close()
  }

  /** The cache's key for a key from Keyv: under `keyPrefix` and the namespace. */
  #cacheKey(key: unknown, field: string): string {
    if (typeof key !== 'string') {
      throw invalid(
        field,
        `must be a string, got ${key === null ? 'null' : typeof key}`,
        ErrorCodes.INVALID_KEY,
      )
    }
    const namespace = this.#namespace
    // Keyv's own rule (`_getKeyPrefix`): a key already under the namespace is not prefixed again.
    if (namespace === undefined || key.startsWith(`${namespace}:`)) {
      return this.opts.keyPrefix + key
    }
    return `${this.#scope}${key}`
  }

  #cacheKeys(keys: unknown): string[] {
    if (!Array.isArray(keys)) {
      throw invalid('keys', 'must be an array of keys', ErrorCodes.INVALID_KEY)
    }
    return keys.map((key, i) => this.#cacheKey(key, `keys[${i}]`))
  }
}

/**
 * A TTL from Keyv as the cache takes it. Keyv means "no expiry" by none or 0; the cache has no
 * such entry, so it gets the cache's default `ttl` (`undefined`).
 */
function keyvTtl(ttl: unknown, field: string): number | undefined {
  if (ttl === undefined || ttl === 0) return undefined
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl < 0) {
    throw invalid(field, `must be a number of ms >= 0, got ${String(ttl)}`, ErrorCodes.INVALID_TTL)
  }
  return ttl
}

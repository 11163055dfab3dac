/**
 * The Redis L2 driver (ioredis, standalone or Cluster).
 *
 * Key layout, with P the `prefix` option:
 *
 * | key                | type            | what                                                      |
 * | ------------------ | --------------- | --------------------------------------------------------- |
 * | `P<key>`           | string          | an entry written by `set` / `setMany` (opaque bytes)      |
 * | `P<key>`           | string (int)    | a counter written by `increment`                          |
 * | `P<key>`           | set             | a native set written by `addToSet`                        |
 * | `P__sc:tag:<tag>`  | set             | tag index: full Redis names of the entries set with <tag> |
 *
 * Every key gets a TTL when written. A tag set's TTL is raised (never lowered) to the TTL of each
 * entry recorded in it, so the index lives exactly as long as its longest-lived member. Keys
 * starting with {@link RESERVED_KEY_PREFIX} (`__sc:`) are the driver's own: reading or writing a
 * caller key that starts with it is refused (`ERR_INVALID_KEY`; deleting one is a no-op), so a
 * caller key can never collide with the tag index. `deleteByPattern` skips the driver's own keys;
 * `clear` removes everything under P.
 *
 * A tag set may name an entry that has since expired, been deleted, or been rewritten without that
 * tag: deleting the tag then removes (or no-ops on) that key. Over-invalidation is the safe side.
 *
 * Redis Cluster: commands that take several keys (MGET, UNLINK of many, the tagged-write and
 * tag-delete scripts) are split per key, because the keys live in different slots; each part is
 * sent concurrently, so the latency stays about one round trip, but a tagged write is no longer
 * atomic (entry first, then its tag sets). SCAN runs on every master. Keys are not given `{...}`
 * hash tags: that would put the whole cache in one slot, on one node.
 */
import { type Cluster, Redis, type RedisOptions } from 'ioredis'
import { ErrorCodes, invalid, StrataCacheError } from '../errors.js'
import type { L2Driver, L2WriteItem } from './l2-driver.js'
import {
  ADD_TO_SET,
  DELETE_TAGS,
  INCREMENT,
  runScript,
  SET_MANY,
  SET_TAGGED,
  TAG_ADD,
} from './redis-scripts.js'

/** Caller keys must not start with this: the driver keeps its own keys (tag index) under it. */
export const RESERVED_KEY_PREFIX = '__sc:'
const TAG_NAMESPACE = `${RESERVED_KEY_PREFIX}tag:`

/** How a {@link RedisDriver} reaches Redis: exactly one of `url`, `options` or `client`. */
export interface RedisDriverOptions {
  /** `redis://[user:password@]host:port/db` or `rediss://...`. The driver creates and owns the client. */
  url?: string
  /** ioredis options. The driver creates and owns the client; its safety defaults apply first. */
  options?: RedisOptions
  /**
   * An ioredis `Redis` or `Cluster` the application already has. It is used as it is (options
   * untouched, no listeners added) and never closed by the driver. It must not have ioredis'
   * `keyPrefix` set: use `prefix` instead.
   */
  client?: Redis | Cluster
  /** Every key the driver writes starts with this. Required, non-empty, e.g. `'myapp:cache:'`. */
  prefix: string
  /** SCAN `COUNT` hint for `deleteByPattern` and `clear`. Default 1000. */
  scanCount?: number
  /** Members popped from tag sets per script call in `deleteByTags`. Default 1000. */
  tagBatch?: number
  /** How long `close()` waits for QUIT before dropping the socket. Default 1000 ms. */
  closeTimeoutMs?: number
}

/**
 * Safety defaults for a client the driver creates (a user's `options` may override any of them).
 *
 * - `connectTimeout` 2 s: a blackholed host fails the attempt instead of hanging ~2 min in SYN.
 * - `socketTimeout` 5 s: a connection that stops answering (half-open TCP after a network
 *   partition, a frozen server) is destroyed and reconnected; without it commands on a dead
 *   socket wait for TCP keepalive, i.e. many minutes.
 * - `maxRetriesPerRequest` 0: when the connection drops, every command in flight or queued is
 *   rejected at once instead of waiting for reconnection attempts.
 * - `autoResendUnfulfilledCommands` false: a command whose reply was lost is not sent again after
 *   reconnecting. The caller was already told it failed (and fell back to memory); replaying an
 *   INCRBY or an old SET later would double-count or resurrect stale data.
 * - `enableOfflineQueue`: true only until the first connection attempt ends (see constructor), so
 *   commands issued at startup wait for the first `ready` (bounded by the two timeouts above),
 *   then false for good: while reconnecting, commands fail immediately rather than pile up.
 * - `retryStrategy`: reconnect forever, exponential from 50 ms, capped at 2 s, with jitter.
 * - `reconnectOnError`: reconnect on `READONLY` (a failover turned our node into a replica).
 * - `keepAlive` 10 s: keeps idle connections through NATs and load balancers.
 */
export const REDIS_CLIENT_DEFAULTS: Readonly<RedisOptions> = Object.freeze({
  connectTimeout: 2_000,
  socketTimeout: 5_000,
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  enableOfflineQueue: true,
  keepAlive: 10_000,
  retryStrategy: (attempt: number) => {
    const base = Math.min(2_000, 50 * 2 ** Math.min(attempt, 6))
    return Math.round(base * (0.8 + Math.random() * 0.4))
  },
  reconnectOnError: (error: Error) => error.message.startsWith('READONLY'),
})

/** Escapes Redis glob metacharacters so that `s` matches itself literally in `SCAN MATCH`. */
export function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&')
}

function positiveInteger(value: unknown, field: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw invalid(field, `must be a positive integer, got ${String(value)}`)
  }
  return value
}

function ttlArg(ttlMs: number): number {
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw invalid(
      'ttlMs',
      `must be a finite number > 0, got ${String(ttlMs)}`,
      ErrorCodes.INVALID_TTL,
    )
  }
  // PX takes whole milliseconds; round up so that a sub-millisecond TTL still lives.
  return Math.ceil(ttlMs)
}

function isClient(value: unknown): value is Redis | Cluster {
  const c = value as { getBuffer?: unknown; scan?: unknown; evalsha?: unknown } | null
  return (
    typeof c === 'object' &&
    c !== null &&
    typeof c.getBuffer === 'function' &&
    typeof c.scan === 'function' &&
    typeof c.evalsha === 'function'
  )
}

/**
 * {@link L2Driver} on Redis through ioredis. Moves bytes, applies the prefix, keeps the tag index;
 * throws freely (wrap it in `ResilientL2` for timeouts, circuit breaking and fallbacks).
 *
 * @example
 * ```ts
 * const driver = new RedisDriver({ url: 'redis://127.0.0.1:6379', prefix: 'shop:cache:' })
 * await driver.set('product:1', Buffer.from('...'), 60_000, ['products'])
 * await driver.deleteByTags(['products'])
 * await driver.close()
 * ```
 */
export class RedisDriver implements L2Driver {
  readonly name: string
  /** The ioredis client in use (ours or the caller's). */
  readonly client: Redis | Cluster
  readonly prefix: string
  readonly #owned: boolean
  readonly #cluster: boolean
  readonly #tagPrefix: string
  readonly #reservedPrefix: string
  readonly #matchPrefix: string
  readonly #scanCount: number
  readonly #tagBatch: number
  readonly #closeTimeoutMs: number
  #closed = false

  constructor(options: RedisDriverOptions) {
    if (typeof options !== 'object' || options === null) {
      throw invalid('options', 'must be an object with a prefix and one of url, options, client')
    }
    const { url, options: redisOptions, client, prefix } = options
    if (typeof prefix !== 'string' || prefix.length === 0) {
      throw invalid('prefix', 'must be a non-empty string (clear() removes every key under it)')
    }
    const given = [url, redisOptions, client].filter((v) => v !== undefined).length
    if (given !== 1) {
      throw invalid('url', `give exactly one of url, options or client (got ${given})`)
    }
    this.#scanCount = positiveInteger(options.scanCount, 'scanCount', 1000)
    this.#tagBatch = positiveInteger(options.tagBatch, 'tagBatch', 1000)
    this.#closeTimeoutMs = positiveInteger(options.closeTimeoutMs, 'closeTimeoutMs', 1000)

    if (client !== undefined) {
      if (!isClient(client)) throw invalid('client', 'must be an ioredis Redis or Cluster instance')
      if (client.options.keyPrefix) {
        throw invalid(
          'client',
          'has ioredis keyPrefix set; pass a client without it (e.g. client.duplicate({ keyPrefix: "" })) and use prefix',
        )
      }
      this.client = client
      this.#owned = false
    } else if (url !== undefined) {
      if (typeof url !== 'string' || !/^rediss?:\/\//.test(url)) {
        throw invalid('url', `must be a redis:// or rediss:// URL, got ${JSON.stringify(url)}`)
      }
      this.client = this.#create((defaults) => new Redis(url, defaults), {})
      this.#owned = true
    } else {
      if (typeof redisOptions !== 'object' || redisOptions === null) {
        throw invalid('options', 'must be an ioredis options object')
      }
      if (redisOptions.keyPrefix) throw invalid('options.keyPrefix', 'is not supported; use prefix')
      this.client = this.#create((merged) => new Redis(merged), redisOptions)
      this.#owned = true
    }

    this.#cluster = (this.client as { isCluster?: boolean }).isCluster === true
    this.name = this.#cluster ? 'redis-cluster' : 'redis'
    this.prefix = prefix
    this.#tagPrefix = prefix + TAG_NAMESPACE
    this.#reservedPrefix = prefix + RESERVED_KEY_PREFIX
    this.#matchPrefix = escapeGlob(prefix)
  }

  /** Creates our own client with the safety defaults; the user's explicit options win. */
  #create(make: (options: RedisOptions) => Redis, userOptions: RedisOptions): Redis {
    const client = make({ ...REDIS_CLIENT_DEFAULTS, ...userOptions })
    // Errors reach callers as command rejections; without a listener ioredis would print every
    // reconnection failure to the console.
    client.on('error', () => {})
    if (userOptions.enableOfflineQueue === undefined) {
      // Queue only during the very first connection attempt, then fail fast forever. ioredis reads
      // this option on every command, so switching it here takes effect at once.
      const failFast = () => {
        client.options.enableOfflineQueue = false
        client.off('ready', failFast)
        client.off('close', failFast)
      }
      client.on('ready', failFast)
      client.on('close', failFast)
    }
    return client
  }

  /** After `close()` a command would wait on a client that no longer reconnects: refuse it. */
  #open(): void {
    if (this.#closed) throw new StrataCacheError(ErrorCodes.CLOSED, 'redis driver is closed')
  }

  #key(key: string): string {
    if (key.startsWith(RESERVED_KEY_PREFIX)) {
      throw invalid(
        'key',
        `"${key}" starts with "${RESERVED_KEY_PREFIX}", which is reserved for stratacache's own keys`,
        ErrorCodes.INVALID_KEY,
      )
    }
    return this.prefix + key
  }

  #keys(keys: readonly string[]): string[] {
    const out = new Array<string>(keys.length)
    for (let i = 0; i < keys.length; i++) out[i] = this.#key(keys[i]!)
    return out
  }

  async get(key: string): Promise<Buffer | undefined> {
    this.#open()
    const value = await this.client.getBuffer(this.#key(key))
    return value ?? undefined
  }

  async getMany(keys: readonly string[]): Promise<(Buffer | undefined)[]> {
    this.#open()
    if (keys.length === 0) return []
    const names = this.#keys(keys)
    const values = this.#cluster
      ? await Promise.all(names.map((name) => this.client.getBuffer(name)))
      : await this.client.mgetBuffer(names)
    const out = new Array<Buffer | undefined>(values.length)
    for (let i = 0; i < values.length; i++) out[i] = values[i] ?? undefined
    return out
  }

  async set(key: string, value: Buffer, ttlMs: number, tags: readonly string[]): Promise<void> {
    this.#open()
    const name = this.#key(key)
    const ttl = ttlArg(ttlMs)
    if (tags.length === 0) {
      await this.client.set(name, value, 'PX', ttl)
    } else if (this.#cluster) {
      await Promise.all([
        this.client.set(name, value, 'PX', ttl),
        ...tags.map((tag) => runScript(this.client, TAG_ADD, [this.#tagPrefix + tag], [name, ttl])),
      ])
    } else {
      const keys = [name]
      for (const tag of tags) keys.push(this.#tagPrefix + tag)
      await runScript(this.client, SET_TAGGED, keys, [value, ttl])
    }
  }

  async setMany(items: readonly L2WriteItem[]): Promise<void> {
    this.#open()
    if (items.length === 0) return
    if (this.#cluster) {
      await Promise.all(items.map((item) => this.set(item.key, item.value, item.ttlMs, item.tags)))
      return
    }
    // One script call per 1000 entries, all sent at once: one round trip of latency, and no single
    // script blocks the server for long on a huge batch.
    const calls: Promise<unknown>[] = []
    for (let start = 0; start < items.length; start += 1000) {
      calls.push(this.#setChunk(items, start, Math.min(items.length, start + 1000)))
    }
    await Promise.all(calls)
  }

  #setChunk(items: readonly L2WriteItem[], start: number, end: number): Promise<unknown> {
    const n = end - start
    const keys = new Array<string>(n)
    const args: (string | number | Buffer)[] = [n]
    const tagIndex = new Map<string, number>()
    const tagKeys: string[] = []
    for (let i = 0; i < n; i++) {
      const item = items[start + i]!
      keys[i] = this.#key(item.key)
      args.push(item.value, ttlArg(item.ttlMs), item.tags.length)
      for (const tag of item.tags) {
        let index = tagIndex.get(tag)
        if (index === undefined) {
          tagKeys.push(this.#tagPrefix + tag)
          index = n + tagKeys.length // Lua KEYS are 1-based: entries 1..n, then tag sets
          tagIndex.set(tag, index)
        }
        args.push(index)
      }
    }
    for (const tagKey of tagKeys) keys.push(tagKey)
    return runScript(this.client, SET_MANY, keys, args)
  }

  async delete(keys: readonly string[]): Promise<number> {
    this.#open()
    // A reserved key cannot hold an entry, so deleting it is a no-op rather than an error: a
    // queued invalidation batch replayed after an outage must not fail on one bad key.
    const names: string[] = []
    for (const key of keys) if (!key.startsWith(RESERVED_KEY_PREFIX)) names.push(this.prefix + key)
    return this.#unlink(names)
  }

  /** UNLINK of full Redis names: one command (in slices of 1000) or, on a Cluster, one per key. */
  async #unlink(names: readonly string[]): Promise<number> {
    if (names.length === 0) return 0
    const calls: Promise<number>[] = []
    if (this.#cluster) {
      for (const name of names) calls.push(this.client.unlink(name))
    } else {
      for (let i = 0; i < names.length; i += 1000) {
        calls.push(this.client.unlink(...names.slice(i, i + 1000)))
      }
    }
    let removed = 0
    for (const count of await Promise.all(calls)) removed += count
    return removed
  }

  async deleteByTags(tags: readonly string[]): Promise<number> {
    this.#open()
    if (tags.length === 0) return 0
    const tagKeys = tags.map((tag) => this.#tagPrefix + tag)
    if (this.#cluster) {
      let removed = 0
      for (const tagKey of tagKeys) removed += await this.#drainTagClientSide(tagKey)
      return removed
    }
    let [removed, left] = (await runScript(this.client, DELETE_TAGS, tagKeys, [
      this.#tagBatch,
    ])) as [number, number]
    // Large tags take several calls. Bound the loop by what was there after the first call, so
    // that writers adding to the tag concurrently cannot keep us here forever; what they add after
    // we are done stays indexed for the next deletion.
    let rounds = Math.ceil(left / this.#tagBatch) + 1
    while (left > 0 && rounds-- > 0) {
      const [more, rest] = (await runScript(this.client, DELETE_TAGS, tagKeys, [
        this.#tagBatch,
      ])) as [number, number]
      removed += more
      left = rest
    }
    return removed
  }

  /** Cluster path of `deleteByTags`: SPOP in batches from the tag set, UNLINK each member. */
  async #drainTagClientSide(tagKey: string): Promise<number> {
    let removed = 0
    let rounds = Math.ceil((await this.client.scard(tagKey)) / this.#tagBatch) + 1
    while (rounds-- > 0) {
      const members = await this.client.spop(tagKey, this.#tagBatch)
      if (members.length === 0) break
      removed += await this.#unlink(members)
    }
    return removed
  }

  async deleteByPattern(pattern: string | RegExp): Promise<number> {
    this.#open()
    let removed = 0
    const reserved = this.#reservedPrefix
    const prefixLength = this.prefix.length
    if (typeof pattern === 'string') {
      await this.#scan(this.#matchPrefix + pattern, async (names) => {
        const entries = names.filter((name) => !name.startsWith(reserved))
        removed += await this.#unlink(entries)
      })
    } else if (pattern instanceof RegExp) {
      await this.#scan(`${this.#matchPrefix}*`, async (names) => {
        const entries = names.filter((name) => {
          if (name.startsWith(reserved)) return false
          pattern.lastIndex = 0 // a /g or /y RegExp keeps state between test() calls
          return pattern.test(name.slice(prefixLength))
        })
        removed += await this.#unlink(entries)
      })
    } else {
      throw invalid('pattern', 'must be a glob string or a RegExp')
    }
    return removed
  }

  async clear(): Promise<void> {
    this.#open()
    await this.#scan(`${this.#matchPrefix}*`, async (names) => {
      await this.#unlink(names)
    })
  }

  /** SCAN with MATCH over the whole keyspace (every master on a Cluster), batch by batch. */
  async #scan(match: string, onBatch: (names: string[]) => Promise<void>): Promise<void> {
    const nodes: (Redis | Cluster)[] = this.#cluster
      ? (this.client as Cluster).nodes('master')
      : [this.client]
    for (const node of nodes) {
      let cursor = '0'
      do {
        const [next, names] = await node.scan(cursor, 'MATCH', match, 'COUNT', this.#scanCount)
        cursor = next
        if (names.length > 0) await onBatch(names)
      } while (cursor !== '0')
    }
  }

  async increment(key: string, by: number, ttlMs: number): Promise<number> {
    this.#open()
    if (!Number.isSafeInteger(by)) throw invalid('by', `must be a safe integer, got ${String(by)}`)
    const value = await runScript(this.client, INCREMENT, [this.#key(key)], [by, ttlArg(ttlMs)])
    return Number(value)
  }

  async addToSet(key: string, members: readonly string[], ttlMs: number): Promise<number> {
    this.#open()
    const name = this.#key(key)
    const ttl = ttlArg(ttlMs)
    if (members.length === 0) return 0
    return Number(await runScript(this.client, ADD_TO_SET, [name], [ttl, ...members]))
  }

  async getSet(key: string): Promise<string[]> {
    this.#open()
    return this.client.smembers(this.#key(key))
  }

  async ping(): Promise<void> {
    this.#open()
    await this.client.ping()
  }

  /** QUITs a client the driver created (waiting at most `closeTimeoutMs`); leaves a given one open. */
  async close(): Promise<void> {
    this.#closed = true
    if (!this.#owned) return
    const client = this.client
    if (client.status === 'end') return
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.#closeTimeoutMs)
      timer.unref()
    })
    try {
      await Promise.race([client.quit().catch(() => {}), timeout])
    } finally {
      clearTimeout(timer)
      // Stops reconnection and drops the socket if QUIT did not finish (server down or slow).
      client.disconnect()
    }
  }
}

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
 * The fence's version keys, leases and write stamps live under `P__sc:` too
 * (`redis-key-layout.ts` names them all; docs/ARCHITECTURE.md has the whole table).
 *
 * Every key gets a TTL when written. A tag set's TTL is raised (never lowered) to the TTL of each
 * entry recorded in it, so the index lives exactly as long as its longest-lived member
 * (`redis-tag-index.ts`). Keys starting with {@link RESERVED_KEY_PREFIX} (`__sc:`) are the
 * driver's own: reading or writing a caller key that starts with it is refused (`ERR_INVALID_KEY`;
 * deleting one is a no-op), so a caller key can never collide with the tag index.
 * `deleteByPattern` skips the driver's own keys; `clear` removes everything under P.
 *
 * Redis Cluster: the driver's own keys are named so that each script stays in one hash slot
 * (`redis-key-layout.ts`); the fence, leases, writes, deletes and tag invalidation go through
 * `redis-cluster-fence.ts`, other multi-key commands are split per key (`redis-cluster.ts`), and
 * SCAN runs on every master (`redis-scan.ts`). The client, ours or the caller's: `redis-client.ts`
 * (a `cluster` list of nodes: `redis-cluster-client.ts`).
 */

import type { Cluster, Redis } from 'ioredis'
import { ErrorCodes, invalid, StrataCacheError } from '../errors.js'
import { integerOption } from '../option-checks.js'
import type { BusNotice } from './bus.js'
import {
  type L2Coordination,
  type L2Driver,
  type L2WriteItem,
  type NoticePublishingDriver,
  RESERVED_KEY_PREFIX,
} from './l2-driver.js'
import { assertOneConnection, closeClient, coalesceWrites, openClient } from './redis-client.js'
import { getBuffers, unlinkNames } from './redis-cluster.js'
import { ClusterFence } from './redis-cluster-fence.js'
import { type RedisDriverOptions, requirePrefix, ttlArg } from './redis-driver-options.js'
import { fenceCoordination, RedisFence } from './redis-fence.js'
import { clusterLayout, type RedisKeyLayout, standaloneLayout } from './redis-key-layout.js'
import { escapeGlob, patternScan, scanBatches, scanMatching } from './redis-scan.js'
import { ADD_TO_SET, INCREMENT, runScript } from './redis-scripts.js'
import { ownNames, registerPrefix, warnIfEvicting, watchServer } from './redis-server-state.js'
import { writeManyTagged, writeTagged } from './redis-tag-index.js'
import { invalidateTags } from './redis-tag-invalidation.js'

export { REDIS_CLIENT_DEFAULTS } from './redis-client.js'
export { type RedisDriverOptions, requirePrefix, ttlArg } from './redis-driver-options.js'
export { escapeGlob, RESERVED_KEY_PREFIX }

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
export class RedisDriver implements L2Driver, NoticePublishingDriver {
  readonly name: string
  /** The ioredis client in use (ours or the caller's). */
  readonly client: Redis | Cluster
  readonly prefix: string
  readonly #owned: boolean
  readonly #cluster: boolean
  /** The names of the driver's own keys (`redis-key-layout.ts`). */
  readonly #layout: RedisKeyLayout
  /** Standalone: every tag set is named this plus the tag (the scripts take it as an argument). */
  readonly #tagPrefix: string
  readonly #scanCount: number
  readonly #tagBatch: number
  readonly #closeTimeoutMs: number
  readonly #fence: RedisFence | undefined
  /** The fence cut along hash slots, on a Cluster (`redis-cluster-fence.ts`). */
  readonly #clusterFence: ClusterFence | undefined
  /** Fencing, leases and stamps (on a Cluster, with the key layout of `redis-key-layout.ts`). */
  readonly coordination: L2Coordination
  /** `deleteByTags` publishes the bus notice it is given (see {@link NoticePublishingDriver}). */
  readonly publishesNotices = true
  /** One connection to one server (not a Cluster, whose keys live on several). */
  readonly ordered: boolean
  /** A Cluster's replaced master is repaired by redoing recent changes; a standalone server is cleared. */
  readonly needsRecentChanges: boolean
  /** Commands of one tick go out in one socket write (our own standalone client). */
  readonly #coalesce: boolean
  #closed = false

  constructor(options: RedisDriverOptions) {
    if (typeof options !== 'object' || options === null) {
      throw invalid('options', 'must be an object with a prefix and one of url, options, client')
    }
    const prefix = requirePrefix(options.prefix)
    assertOneConnection(options)
    this.#scanCount = integerOption(options.scanCount, 'scanCount', 1000)
    this.#tagBatch = integerOption(options.tagBatch, 'tagBatch', 1000)
    this.#closeTimeoutMs = integerOption(options.closeTimeoutMs, 'closeTimeoutMs', 1000)

    // Before a client is created: a refused prefix must not leave one connecting.
    const isCluster =
      options.cluster !== undefined ||
      (options.client as { isCluster?: boolean } | undefined)?.isCluster === true
    const layout = isCluster ? clusterLayout(prefix) : standaloneLayout(prefix)
    const { client, owned } = openClient(options)
    this.client = client
    this.#owned = owned
    this.#layout = layout
    this.#cluster = layout.cluster
    this.ordered = !this.#cluster
    this.needsRecentChanges = this.#cluster
    this.#coalesce = owned && !this.#cluster
    this.name = this.#cluster ? 'redis-cluster' : 'redis'
    this.prefix = prefix
    this.#tagPrefix = layout.tagSet('')
    const fenceWindowMs = integerOption(options.fenceWindowMs, 'fenceWindowMs', 60_000)
    this.#fence = this.#cluster ? undefined : new RedisFence(client as Redis, prefix, fenceWindowMs)
    this.#clusterFence = this.#cluster
      ? new ClusterFence(
          client as Cluster,
          prefix,
          layout,
          fenceWindowMs,
          options.clockSkewMs ?? 100,
        )
      : undefined
    const check = (key?: string): void => {
      this.#open()
      if (key !== undefined) this.#key(key) // validates: reserved keys are refused
    }
    this.coordination = fenceCoordination({
      fence: this.#fence ?? this.#clusterFence!,
      client,
      layout,
      check,
      ttl: ttlArg,
    })
    // Best effort: a cache with a longer prefix that is not listed may lose keys to our clear().
    registerPrefix(this.client, prefix)
    if (!this.#cluster) void warnIfEvicting(this.client as Redis)
  }

  /**
   * See `L2Driver.watchServer`: the server's `run_id`, read on every (re)connection, and its
   * count of evicted keys, read every second (on a Cluster, both of every master in the slot map,
   * every second: `redis-cluster-watch.ts`).
   */
  watchServer(onChange: (reason: string, lost: 'recent' | 'any') => void): () => void {
    return watchServer(this.client, this.#cluster, `${this.prefix}__sc:evicted`, onChange)
  }

  /**
   * After `close()` a command would wait on a client that no longer reconnects: refuse it.
   * Called before every command, which it lets go out with the others of this tick.
   */
  #open(): void {
    if (this.#closed) throw new StrataCacheError(ErrorCodes.CLOSED, 'redis driver is closed')
    if (this.#coalesce) coalesceWrites(this.client as Redis)
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
    const values = await getBuffers(this.client, this.#cluster, names)
    const out = new Array<Buffer | undefined>(values.length)
    for (let i = 0; i < values.length; i++) out[i] = values[i] ?? undefined
    return out
  }

  async set(key: string, value: Buffer, ttlMs: number, tags: readonly string[]): Promise<void> {
    this.#open()
    const name = this.#key(key)
    const ttl = ttlArg(ttlMs)
    if (this.#clusterFence !== undefined) return this.#clusterFence.write(key, value, ttl, tags)
    // The bump goes out first on the same connection: a fill that read the old version and
    // stores after this write is refused.
    const bump = this.#fence?.bumpKeys([key])
    const record = this.#layout.record(key)
    const write = writeTagged(this.client, name, value, ttl, tags, this.#tagPrefix, record)
    await Promise.all([bump, write])
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
    if (this.#fence !== undefined) calls.push(this.#fence.bumpKeys(items.map((item) => item.key)))
    for (let start = 0; start < items.length; start += 1000) {
      calls.push(this.#setChunk(items, start, Math.min(items.length, start + 1000)))
    }
    await Promise.all(calls)
  }

  #setChunk(items: readonly L2WriteItem[], start: number, end: number): Promise<unknown> {
    const chunk = items.slice(start, end)
    const names = new Array<string>(chunk.length)
    const records = new Array<string>(chunk.length)
    const ttls = new Array<number>(chunk.length)
    for (let i = 0; i < chunk.length; i++) {
      names[i] = this.#key(chunk[i]!.key)
      records[i] = this.#layout.record(chunk[i]!.key)
      ttls[i] = ttlArg(chunk[i]!.ttlMs)
    }
    return writeManyTagged(this.client, chunk, names, records, ttls, this.#tagPrefix)
  }

  async delete(keys: readonly string[]): Promise<number> {
    this.#open()
    // A reserved key cannot hold an entry, so deleting it is a no-op rather than an error: a
    // queued invalidation batch replayed after an outage must not fail on one bad key.
    const names: string[] = []
    const live: string[] = []
    for (const key of keys) {
      if (key.startsWith(RESERVED_KEY_PREFIX)) continue
      live.push(key)
      names.push(this.prefix + key)
    }
    if (this.#clusterFence !== undefined) return this.#clusterFence.delete(live)
    // Bump first, delete second: a fill storing in between is deleted, one storing after is refused.
    const bump = this.#fence?.bumpKeys(live)
    const [, removed] = await Promise.all([bump, this.#unlink(names)])
    return removed
  }

  #unlink(names: readonly string[]): Promise<number> {
    return unlinkNames(this.client, this.#cluster, names)
  }

  /**
   * On a standalone server, one script bumps the tags' versions, drains them and publishes
   * `notice` (see `redis-tag-invalidation.ts`); on a Cluster, the tags are drained one by one and
   * `notice` published after.
   */
  async deleteByTags(tags: readonly string[], notice?: BusNotice): Promise<number> {
    this.#open()
    if (tags.length === 0) return 0
    const fence = this.#fence
    if (fence !== undefined) {
      return invalidateTags(this.client as Redis, fence, tags, this.#tagBatch, notice)
    }
    const removed = await this.#clusterFence!.invalidateTags(tags, this.#tagBatch)
    // A Cluster's bus listens with SSUBSCRIBE (`redis-bus-sharded.ts`): SPUBLISH, routed to the
    // channel's master (a script could not: the channel is not in its keys' slot).
    if (notice !== undefined) await this.client.spublish(notice.channel, notice.payload)
    return removed
  }

  async deleteByPattern(pattern: string | RegExp): Promise<number> {
    this.#open()
    if (typeof pattern !== 'string' && !(pattern instanceof RegExp)) {
      throw invalid('pattern', 'must be a glob string or a RegExp')
    }
    const { match, keep } = patternScan(pattern, this.prefix, this.#layout.reserved)
    const own = await ownNames(this.client, this.prefix)
    await this.#bumpAll()
    let removed = 0
    await this.#scan(match, async (names) => {
      removed += await this.#unlink(names.filter((name) => own(name) && keep(name)))
    })
    return removed
  }

  /** See `L2Driver.scanKeys`: one SCAN step of `scanCount` per batch, on every master of a Cluster. */
  async *scanKeys(pattern: string): AsyncGenerator<string[], void, undefined> {
    this.#open()
    if (typeof pattern !== 'string') throw invalid('pattern', 'must be a glob string')
    const { match, keep } = patternScan(pattern, this.prefix, this.#layout.reserved)
    const own = await ownNames(this.client, this.prefix)
    const from = this.prefix.length
    for await (const names of scanBatches(this.client, this.#cluster, match, this.#scanCount)) {
      yield names.filter((name) => own(name) && keep(name)).map((name) => name.slice(from))
      this.#open()
    }
  }

  async clear(): Promise<void> {
    this.#open()
    await this.#bumpAll()
    // Version keys survive a clear: deleting them would let a fill that read "no version" before
    // the clear store after it.
    const versions = this.#layout.versions
    const own = await ownNames(this.client, this.prefix)
    await this.#scan(`${escapeGlob(this.prefix)}*`, async (names) => {
      await this.#unlink(names.filter((n) => own(n) && !n.startsWith(versions)))
    })
  }

  /** Fences every fill in flight (pattern invalidations, clear): on every slot of a Cluster. */
  #bumpAll(): Promise<unknown> {
    return (this.#fence ?? this.#clusterFence)?.bumpAll() ?? Promise.resolve()
  }

  #scan(match: string, onBatch: (names: string[]) => Promise<void>): Promise<void> {
    return scanMatching(this.client, this.#cluster, match, this.#scanCount, onBatch)
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
    if (this.#owned) await closeClient(this.client, this.#closeTimeoutMs)
  }
}

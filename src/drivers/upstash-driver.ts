/**
 * The Upstash L2 driver: Redis over Upstash's REST API (`@upstash/redis`), for runtimes that
 * cannot open TCP sockets (edge functions, workers).
 *
 * It keeps the Redis driver's key layout (`redis-driver.ts`) and runs the Redis driver's own Lua
 * scripts (`upstash-scripts.ts`), so fenced fills, leases, write stamps and the tag index hold as
 * on a standalone Redis. Three things differ:
 *
 * - **Values are stored as base64 text**: a REST command is JSON, which carries no raw bytes. A
 *   prefix must therefore not be shared with the Redis driver (each reads the other's entries as
 *   corrupted: misses).
 * - **No invalidation bus**: pub/sub over REST is not practical, so another instance's L1 cannot
 *   be told of a write. The cache caps L1 lifetimes instead (see `tier-setup.ts`).
 * - **Calls are not ordered**: each command is its own HTTP request, so a write whose version bump
 *   must land first waits for the bump's reply before it is sent (`ordered` is false).
 *
 * Requests are aborted after `commandTimeoutMs`, never retried: failures go to `ResilientL2`.
 */
import { ErrorCodes, invalid, StrataCacheError } from '../errors.js'
import { integerOption } from '../option-checks.js'
import type { L2Coordination, L2Driver, L2WriteItem } from './l2-driver.js'
import { RESERVED_KEY_PREFIX } from './l2-driver.js'
import { requirePrefix, ttlArg } from './redis-driver.js'
import { RedisFence } from './redis-fence.js'
import { type RedisKeyLayout, standaloneLayout } from './redis-key-layout.js'
import { escapeGlob, patternScan } from './redis-scan.js'
import { ADD_TO_SET, INCREMENT, runScript } from './redis-scripts.js'
import { PREFIX_REGISTRY } from './redis-server-state.js'
import { writeManyTagged, writeTagged } from './redis-tag-index.js'
import { invalidateTags } from './redis-tag-invalidation.js'
import {
  assertUpstashInstalled,
  type RestCommand,
  type UpstashConnection,
  UpstashRest,
} from './upstash-client.js'
import {
  assertUpstashConnection,
  decodeValue,
  upstashCoordination,
  valueArg,
} from './upstash-coordination.js'
import { scriptHost } from './upstash-scripts.js'

export type { UpstashConnection } from './upstash-client.js'

/** Options of an {@link UpstashDriver}. */
export interface UpstashDriverOptions extends UpstashConnection {
  /** Every key the driver writes starts with this. Required, non-empty. */
  prefix: string
  /**
   * Each REST request is aborted after this long.
   * @default 250 ms (a cache gives 2 × `commandTimeout`)
   */
  commandTimeoutMs?: number
  /**
   * Longest a fill may take and still store (see the Redis driver).
   * @default 60_000
   */
  fenceWindowMs?: number
  /**
   * SCAN `COUNT` hint for `deleteByPattern`, `scanKeys` and `clear`.
   * @default 1000
   */
  scanCount?: number
  /**
   * Members popped from tag sets per script call in `deleteByTags`.
   * @default 1000
   */
  tagBatch?: number
  /** Replaces `import('@upstash/redis')` (tests). */
  importer?: () => Promise<unknown>
}

const UNLINK_SLICE = 1000

/** {@link L2Driver} on Upstash's REST API; wrap it in `ResilientL2` like the Redis driver. */
export class UpstashDriver implements L2Driver {
  readonly name = 'upstash'
  readonly prefix: string
  readonly coordination: L2Coordination
  /** One HTTP request per command: two commands sent together may land in either order. */
  readonly ordered = false
  readonly #rest: UpstashRest
  readonly #fence: RedisFence
  readonly #host: ReturnType<typeof scriptHost>
  /** The Redis driver's standalone key names (`redis-key-layout.ts`). */
  readonly #layout: RedisKeyLayout
  /** Every tag set is named this plus the tag (the scripts take it as an argument). */
  readonly #tagPrefix: string
  readonly #scanCount: number
  readonly #tagBatch: number
  #closed = false

  constructor(options: UpstashDriverOptions) {
    if (typeof options !== 'object' || options === null) {
      throw invalid('options', 'must be an object with url, token and prefix')
    }
    const prefix = requirePrefix(options.prefix)
    assertUpstashConnection(options, 'options')
    if (options.importer === undefined) assertUpstashInstalled()
    const timeoutMs = integerOption(options.commandTimeoutMs, 'commandTimeoutMs', 250)
    this.#scanCount = integerOption(options.scanCount, 'scanCount', 1000)
    this.#tagBatch = integerOption(options.tagBatch, 'tagBatch', 1000)
    const fenceWindowMs = integerOption(options.fenceWindowMs, 'fenceWindowMs', 60_000)
    this.prefix = prefix
    this.#layout = standaloneLayout(prefix)
    this.#tagPrefix = this.#layout.tagSet('')
    this.#rest = new UpstashRest(
      { url: options.url, token: options.token },
      timeoutMs,
      options.importer,
    )
    this.#host = scriptHost(this.#rest)
    this.#fence = new RedisFence(this.#host, prefix, fenceWindowMs)
    this.coordination = upstashCoordination({
      fence: this.#fence,
      name: (key) => this.#key(key),
      call: (command) => this.#call(command),
    })
    // Best effort, as on Redis: a cache with a longer prefix that is not listed may lose keys to
    // our clear(). (This first request also loads @upstash/redis.)
    this.#rest.call(['SADD', PREFIX_REGISTRY, prefix]).catch(() => {})
  }

  #open(): void {
    if (this.#closed) throw new StrataCacheError(ErrorCodes.CLOSED, 'upstash driver is closed')
  }

  #call<T>(command: RestCommand): Promise<T> {
    this.#open()
    return this.#rest.call(command) as Promise<T>
  }

  #key(key: string): string {
    this.#open()
    if (key.startsWith(RESERVED_KEY_PREFIX)) {
      throw invalid(
        'key',
        `"${key}" starts with "${RESERVED_KEY_PREFIX}", which is reserved for stratacache's own keys`,
        ErrorCodes.INVALID_KEY,
      )
    }
    return this.prefix + key
  }

  async get(key: string): Promise<Buffer | undefined> {
    const text = await this.#call<string | null>(['GET', this.#key(key)])
    return text === null ? undefined : decodeValue(text)
  }

  async getMany(keys: readonly string[]): Promise<(Buffer | undefined)[]> {
    this.#open()
    if (keys.length === 0) return []
    const names = keys.map((key) => this.#key(key))
    const texts = await this.#call<(string | null)[]>(['MGET', ...names])
    return texts.map((text) => (text === null ? undefined : decodeValue(text)))
  }

  async set(key: string, value: Buffer, ttlMs: number, tags: readonly string[]): Promise<void> {
    const name = this.#key(key)
    const ttl = ttlArg(ttlMs)
    // The bump must be applied before the write (a fill storing in between would overwrite it
    // with what it read before): over REST that means waiting for its reply.
    await this.#fence.bumpKeys([key])
    const record = this.#layout.record(key)
    await writeTagged(this.#host, name, valueArg(value), ttl, tags, this.#tagPrefix, record)
  }

  async setMany(items: readonly L2WriteItem[]): Promise<void> {
    this.#open()
    if (items.length === 0) return
    const names = items.map((item) => this.#key(item.key))
    const ttls = items.map((item) => ttlArg(item.ttlMs))
    await this.#fence.bumpKeys(items.map((item) => item.key))
    const calls: Promise<unknown>[] = []
    for (let start = 0; start < items.length; start += 1000) {
      const end = Math.min(items.length, start + 1000)
      const chunk = items
        .slice(start, end)
        .map((item) => ({ ...item, value: valueArg(item.value) }))
      const records = chunk.map((item) => this.#layout.record(item.key))
      calls.push(
        writeManyTagged(
          this.#host,
          chunk,
          names.slice(start, end),
          records,
          ttls.slice(start, end),
          this.#tagPrefix,
        ),
      )
    }
    await Promise.all(calls)
  }

  async delete(keys: readonly string[]): Promise<number> {
    this.#open()
    // A reserved key holds no entry: deleting it is a no-op, as on the Redis driver.
    const live = keys.filter((key) => !key.startsWith(RESERVED_KEY_PREFIX))
    if (live.length === 0) return 0
    // Bump first (and wait for it), delete second: a fill storing in between is deleted.
    await this.#fence.bumpKeys(live)
    return this.#unlink(live.map((key) => this.prefix + key))
  }

  async #unlink(names: readonly string[]): Promise<number> {
    const calls: Promise<number>[] = []
    for (let i = 0; i < names.length; i += UNLINK_SLICE) {
      calls.push(this.#call<number>(['UNLINK', ...names.slice(i, i + UNLINK_SLICE)]))
    }
    let removed = 0
    for (const count of await Promise.all(calls)) removed += count
    return removed
  }

  /** Bumps the tags' versions, drains their sets (one script call, as on Redis); no notice. */
  async deleteByTags(tags: readonly string[]): Promise<number> {
    this.#open()
    if (tags.length === 0) return 0
    return invalidateTags(this.#host, this.#fence, tags, this.#tagBatch, undefined)
  }

  async deleteByPattern(pattern: string | RegExp): Promise<number> {
    this.#open()
    if (typeof pattern !== 'string' && !(pattern instanceof RegExp)) {
      throw invalid('pattern', 'must be a glob string or a RegExp')
    }
    const { match, keep } = patternScan(pattern, this.prefix, this.#layout.reserved)
    const own = await this.#ownNames()
    await this.#fence.bumpAll()
    let removed = 0
    for await (const names of this.#scan(match)) {
      const doomed = names.filter((name) => own(name) && keep(name))
      if (doomed.length > 0) removed += await this.#unlink(doomed)
    }
    return removed
  }

  async *scanKeys(pattern: string): AsyncGenerator<string[], void, undefined> {
    this.#open()
    if (typeof pattern !== 'string') throw invalid('pattern', 'must be a glob string')
    const { match, keep } = patternScan(pattern, this.prefix, this.#layout.reserved)
    const own = await this.#ownNames()
    const from = this.prefix.length
    for await (const names of this.#scan(match)) {
      yield names.filter((name) => own(name) && keep(name)).map((name) => name.slice(from))
    }
  }

  async clear(): Promise<void> {
    this.#open()
    await this.#fence.bumpAll()
    // Version keys survive a clear, as on Redis: a fill that read none before must stay fenced.
    const versions = this.#fence.versionPrefix
    const own = await this.#ownNames()
    for await (const names of this.#scan(`${escapeGlob(this.prefix)}*`)) {
      const doomed = names.filter((n) => own(n) && !n.startsWith(versions))
      if (doomed.length > 0) await this.#unlink(doomed)
    }
  }

  /** One SCAN step per batch (empty when the step found none), the next sent when asked for. */
  async *#scan(match: string): AsyncGenerator<string[], void, undefined> {
    let cursor = '0'
    do {
      const command: RestCommand = ['SCAN', cursor, 'MATCH', match, 'COUNT', this.#scanCount]
      const [next, names] = await this.#call<[string, string[]]>(command)
      cursor = next
      yield names
    } while (cursor !== '0')
  }

  /** As the Redis driver's `ownNames`: leaves the keys of a cache whose prefix extends ours. */
  async #ownNames(): Promise<(name: string) => boolean> {
    const prefixes = await this.#call<string[]>(['SMEMBERS', PREFIX_REGISTRY]).catch(() => [])
    const nested = prefixes.filter(
      (p) => p.length > this.prefix.length && p.startsWith(this.prefix),
    )
    return (name) => name !== PREFIX_REGISTRY && !nested.some((p) => name.startsWith(p))
  }

  async increment(key: string, by: number, ttlMs: number): Promise<number> {
    const name = this.#key(key)
    if (!Number.isSafeInteger(by)) throw invalid('by', `must be a safe integer, got ${String(by)}`)
    return Number(await runScript(this.#host, INCREMENT, [name], [by, ttlArg(ttlMs)]))
  }

  async addToSet(key: string, members: readonly string[], ttlMs: number): Promise<number> {
    const name = this.#key(key)
    const ttl = ttlArg(ttlMs)
    if (members.length === 0) return 0
    return Number(await runScript(this.#host, ADD_TO_SET, [name], [ttl, ...members]))
  }

  async getSet(key: string): Promise<string[]> {
    return this.#call<string[]>(['SMEMBERS', this.#key(key)])
  }

  async ping(): Promise<void> {
    await this.#call(['PING'])
  }

  /** Nothing to release: each command was its own request. Later calls are refused. */
  async close(): Promise<void> {
    this.#closed = true
  }
}

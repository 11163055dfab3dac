import type { Cluster, Redis } from 'ioredis'
import {
  ENTRY_STAMP_BYTES,
  ENTRY_STAMP_OFFSET,
  type FillStart,
  type L2Coordination,
  type LeaseMode,
  type StoreOutcome,
} from './l2-driver.js'
import { type RedisKeyLayout, standaloneLayout } from './redis-key-layout.js'
import {
  BUMP_FN,
  FENCE_POINT_FN,
  type LuaScript,
  NAMED_FN,
  RETAG_FN,
  runScript,
  script,
} from './redis-scripts.js'

export const LEASE_ARG: Record<LeaseMode, string> = { never: '0', 'if-absent': '1', always: '2' }
export const STORE_OUTCOMES: readonly StoreOutcome[] = ['fenced', 'stored', 'awaited']

/*
 * Cross-instance fencing and leases (guarantees 2 and 8), on a standalone Redis.
 *
 * Keys, all under the cache prefix P:
 *   P__sc:v:k:<key>    version of one key: bumped by every set and delete of it
 *   P__sc:v:t:<tag>    version of one tag: bumped by invalidateByTag
 *   P__sc:v:all        version of everything: bumped by pattern invalidations and clear
 *   P__sc:v:seq        the last version given, so that versions only grow
 *   P__sc:lease:<key>  the token of the instance running the loader for <key>
 *   P__sc:wait:<key>   set while fills of other instances wait for that one (it then announces)
 *
 * A version is the server's clock in microseconds when it was bumped (pushed past the previous
 * one when needed). A fill takes a fence point (the clock) before its loader runs, in the round
 * trip that tries to take the lease; its store is a script that writes only if no version of its
 * key, of `all` or of any of its tags is at or past that point. The tags are only needed then, so
 * a fill may add tags its loaded value names (the rows a query returned). Invalidations bump
 * first and delete second (in order, on one connection), so a store that slips in between is
 * still deleted, and one that comes after is refused. Versions live `2 x fenceWindow`; a fill
 * slower than `fenceWindow` does not store.
 */

/** KEYS: the version counter, then the version keys to bump. ARGV: their TTL in ms. */
const BUMP = script(
  'bump',
  `${BUMP_FN}
return bump(KEYS[1], { unpack(KEYS, 2) }, ARGV[1])
`,
  { inOrder: true },
)

/**
 * KEYS: entry, lease, waiters. ARGV: leaseMs, token, lease mode ('0' never, '1' only if there is
 * no value, '2' always). Returns { lease (0/1), current value or '', fence point }. The lease is
 * tried even when a value exists: Lua cannot tell a fresh entry from one kept for
 * stale-while-revalidate, so the caller decides, and gives the lease back when the value turns
 * out to be fresh. A fill that wanted the lease and did not get it marks the key as awaited, so
 * that the holder announces its value.
 */
export const BEGIN_FILL = script(
  'begin-fill',
  `${FENCE_POINT_FN}
local value = redis.call('GET', KEYS[1])
local lease = 0
if ARGV[3] == '2' or (ARGV[3] == '1' and not value) then
  if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[1]) then
    lease = 1
  else
    redis.call('SET', KEYS[3], '1', 'PX', ARGV[1])
  end
end
return { lease, value or '', fence_point() }
`,
)

/**
 * KEYS: entry, lease, waiters, v:all, v:k:key, the entry's tag record. ARGV: value, ttl, token,
 * fence point, version-key prefix, tag-set prefix, tags. Releases the lease if it is ours, then
 * stores only if no version (of the key, everything, or a tag) is at or past the point (one that
 * is not a number, from an older release, counts as past it). Returns 0 when fenced, 1 when
 * stored, 2 when stored and other fills wait for it (their instances are to be told).
 */
const STORE_FILL = script(
  'store-fill',
  `${RETAG_FN}${NAMED_FN}
local point = tonumber(ARGV[4])
if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
local versions = named(ARGV[5], ARGV, 7)
table.insert(versions, KEYS[4])
table.insert(versions, KEYS[5])
for i = 1, #versions, 1000 do
  local got = redis.call('MGET', unpack(versions, i, math.min(i + 999, #versions)))
  for _, version in ipairs(got) do
    if version and (tonumber(version) or point) >= point then return 0 end
  end
end
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
retag(KEYS[1], KEYS[6], ARGV[6], { unpack(ARGV, 7) }, ttl)
return 1 + redis.call('DEL', KEYS[3])
`,
)

/** KEYS: lease. ARGV: token. Deletes the lease only if it is still ours. */
export const RELEASE_LEASE = script(
  'release-lease',
  `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`,
)

/**
 * A fill's first round trip, on a standalone Redis or a Cluster alike (the entry, its lease and
 * its waiters share a slot): the stored value if any, the lease when asked, and the fence point.
 */
export async function beginFill(
  client: Redis | Cluster,
  layout: RedisKeyLayout,
  fill: { key: string; leaseMs: number; token: string; lease: LeaseMode },
): Promise<FillStart> {
  const { key } = fill
  const reply = (await runScript(
    client,
    BEGIN_FILL,
    [layout.entry(key), layout.lease(key), layout.waiters(key)],
    [Math.ceil(fill.leaseMs), fill.token, LEASE_ARG[fill.lease]],
    true,
  )) as [number, Buffer, Buffer]
  return {
    lease: reply[0] === 1,
    value: reply[1].length > 0 ? reply[1] : undefined,
    since: reply[2].toString('latin1'),
  }
}

/** What {@link fenceCoordination} builds a driver's coordination from. */
export interface FenceCoordinationParts {
  /** The fence, standalone or cut along a Cluster's slots. */
  fence: {
    begin(key: string, leaseMs: number, token: string, lease: LeaseMode): Promise<FillStart>
    store(
      key: string,
      value: Buffer,
      ttl: number,
      tags: readonly string[],
      since: string,
      token: string,
    ): Promise<StoreOutcome>
    release(key: string, token: string): Promise<void>
  }
  client: Redis | Cluster
  layout: RedisKeyLayout
  /** Runs before each command: refuses a closed driver, and a reserved key when there is one. */
  check(key?: string): void
  /** A TTL in ms as the scripts' argument. */
  ttl(ms: number): number
}

/** A Redis driver's `coordination` (fills, leases, stamps, the server's clock) on its fence. */
export function fenceCoordination(parts: FenceCoordinationParts): L2Coordination {
  const { fence, client, layout, check, ttl } = parts
  return {
    beginFill: (key, leaseMs, token, lease) => {
      check(key)
      return fence.begin(key, leaseMs, token, lease)
    },
    storeFill: (key, value, ttlMs, tags, since, token) => {
      check(key)
      return fence.store(key, value, ttl(ttlMs), tags, since, token)
    },
    releaseLease: (key, token) => {
      check()
      return fence.release(key, token)
    },
    serverTime: async () => {
      check()
      const [seconds, micros] = await client.time()
      return Number(seconds) * 1000 + Number(micros) / 1000
    },
    getStamp: async (key) => {
      check(key)
      const end = ENTRY_STAMP_OFFSET + ENTRY_STAMP_BYTES - 1
      const bytes = await client.getrangeBuffer(layout.entry(key), ENTRY_STAMP_OFFSET, end)
      return bytes.length === ENTRY_STAMP_BYTES ? bytes.toString('hex') : undefined
    },
  }
}

/** Names and scripts of the fence for one cache prefix (names: `redis-key-layout.ts`). */
export class RedisFence {
  readonly #client: Redis
  readonly #layout: RedisKeyLayout
  readonly #versionTtlMs: number
  readonly #seq: string
  readonly #all: string
  /** Prefix of the tags' version keys. */
  readonly #tagVersions: string
  /** Prefix of the tag sets' names. */
  readonly #tagSets: string
  readonly versionPrefix: string

  constructor(client: Redis, prefix: string, fenceWindowMs: number) {
    this.#client = client
    this.#layout = standaloneLayout(prefix)
    this.#versionTtlMs = fenceWindowMs * 2
    this.versionPrefix = this.#layout.versions
    this.#seq = `${this.versionPrefix}seq`
    this.#all = this.#layout.allVersion('')
    // The one-call tag invalidation names tag versions in Lua, from this prefix.
    this.#tagVersions = this.#layout.tagVersion('')
    this.#tagSets = this.#layout.tagSet('')
  }

  /** Bumps the versions of `keys` (cache keys, unprefixed). Send before the write or delete. */
  bumpKeys(keys: readonly string[]): Promise<unknown> {
    return this.#bump(keys.map((key) => this.#layout.keyVersion(key)))
  }

  /**
   * What bumping tags writes, for a script that bumps them along with other work (the one-call
   * tag invalidation, `redis-tag-invalidation.ts`): the version counter, the prefix of the tags'
   * version keys, the versions' TTL in ms, and the prefix of the tag sets the script drains.
   */
  tagBump(): { seq: string; versionPrefix: string; ttlMs: number; tagSets: string } {
    return {
      seq: this.#seq,
      versionPrefix: this.#tagVersions,
      ttlMs: this.#versionTtlMs,
      tagSets: this.#tagSets,
    }
  }

  /** Fences every fill in flight: for pattern invalidations and clear. */
  bumpAll(): Promise<unknown> {
    return this.#bump([this.#all])
  }

  begin(key: string, leaseMs: number, token: string, lease: LeaseMode): Promise<FillStart> {
    return beginFill(this.#client, this.#layout, { key, leaseMs, token, lease })
  }

  async store(
    key: string,
    value: Buffer,
    ttlMs: number,
    tags: readonly string[],
    since: string,
    token: string,
  ): Promise<StoreOutcome> {
    const l = this.#layout
    const record = l.record(key)
    const keys = [l.entry(key), l.lease(key), l.waiters(key), this.#all, l.keyVersion(key), record]
    const args = [value, Math.ceil(ttlMs), token, since, this.#tagVersions, this.#tagSets, ...tags]
    return STORE_OUTCOMES[(await runScript(this.#client, STORE_FILL, keys, args)) as number]!
  }

  async release(key: string, token: string): Promise<void> {
    await runScript(this.#client, RELEASE_LEASE, [this.#layout.lease(key)], [token])
  }

  #bump(versionKeys: readonly string[]): Promise<unknown> {
    if (versionKeys.length === 0) return Promise.resolve()
    return runScript(
      this.#client,
      BUMP as LuaScript,
      [this.#seq, ...versionKeys],
      [this.#versionTtlMs],
    )
  }
}

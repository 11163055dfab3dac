import type { Redis } from 'ioredis'
import type { FillStart, LeaseMode } from './l2-driver.js'
import { BUMP_FN, type LuaScript, RETAG_FN, runScript, script } from './redis-scripts.js'

const LEASE_ARG: Record<LeaseMode, string> = { never: '0', 'if-absent': '1', always: '2' }

/*
 * Cross-instance fencing and leases (SPEC guarantees 2 and 8), on a standalone Redis.
 *
 * Keys, all under the cache prefix P:
 *   P__sc:v:k:<key>    version of one key: bumped by every set and delete of it
 *   P__sc:v:t:<tag>    version of one tag: bumped by invalidateByTag
 *   P__sc:v:all        version of everything: bumped by pattern invalidations and clear
 *   P__sc:v:seq        counter that keeps two bumps in one microsecond apart
 *   P__sc:lease:<key>  the token of the instance running the loader for <key>
 *
 * A version is `<server seconds>.<microseconds>.<counter>`: never reused, so "equal" means "no
 * invalidation since". A fill reads the versions of its key, its tags and `all` before its loader
 * runs (in the same round trip that tries to take the lease), and its store is a script that
 * writes only if none of them changed. Invalidations bump first and delete second (in order, on
 * one connection), so a store that slips in between is still deleted, and one that comes after is
 * refused. Versions live `2 x fenceWindow`; a fill slower than `fenceWindow` does not store.
 */

/** KEYS: the version counter, then the version keys to bump. ARGV: their TTL in ms. */
const BUMP = script(
  'bump',
  `${BUMP_FN}
return bump(KEYS[1], 2, #KEYS, ARGV[1])
`,
)

/**
 * KEYS: entry, lease, v:all, v:k:key, v:t:tag... ARGV: leaseMs, token, lease mode ('0' never,
 * '1' only if there is no value, '2' always).
 * Returns { lease (0/1), current value or '', { versions of KEYS[3..] } }. The lease is tried even
 * when a value exists: Lua cannot tell a fresh entry from one kept for stale-while-revalidate,
 * so the caller decides, and gives the lease back when the value turns out to be fresh.
 */
const BEGIN_FILL = script(
  'begin-fill',
  `
local value = redis.call('GET', KEYS[1])
local versions = {}
for i = 3, #KEYS do
  versions[#versions + 1] = redis.call('GET', KEYS[i]) or ''
end
local lease = 0
if ARGV[3] == '2' or (ARGV[3] == '1' and not value) then
  if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[1]) then lease = 1 end
end
return { lease, value or '', versions }
`,
)

/**
 * KEYS: entry, lease, v:all, v:k:key, v:t:tag (n), the entry's tag record.
 * ARGV: value, ttl, token, n, versions of KEYS[3 .. 4+n], tag-set prefix, tags (n). Releases the
 * lease if it is ours, then stores only if no version changed since the fill began. Returns 1
 * when stored, 0 when fenced.
 */
const STORE_FILL = script(
  'store-fill',
  `${RETAG_FN}
local n = tonumber(ARGV[4])
if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
for i = 3, 4 + n do
  if (redis.call('GET', KEYS[i]) or '') ~= ARGV[i + 2] then return 0 end
end
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
retag(KEYS[1], KEYS[5 + n], ARGV[7 + n], { unpack(ARGV, 8 + n) }, ttl)
return 1
`,
)

/** KEYS: lease. ARGV: token. Deletes the lease only if it is still ours. */
const RELEASE_LEASE = script(
  'release-lease',
  `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`,
)

/** Names and scripts of the fence for one cache prefix. */
export class RedisFence {
  readonly #client: Redis
  readonly #prefix: string
  readonly #versionTtlMs: number
  readonly #seq: string
  readonly #all: string
  readonly versionPrefix: string

  constructor(client: Redis, prefix: string, fenceWindowMs: number) {
    this.#client = client
    this.#prefix = prefix
    this.#versionTtlMs = fenceWindowMs * 2
    this.versionPrefix = `${prefix}__sc:v:`
    this.#seq = `${this.versionPrefix}seq`
    this.#all = `${this.versionPrefix}all`
  }

  /** Bumps the versions of `keys` (cache keys, unprefixed). Send before the write or delete. */
  bumpKeys(keys: readonly string[]): Promise<unknown> {
    return this.#bump(keys.map((key) => this.#keyVersion(key)))
  }

  /**
   * What bumping `tags` writes, for a script that bumps them along with other work (the one-call
   * tag invalidation, `redis-tag-invalidation.ts`): the version counter, the tags' version keys,
   * and the versions' TTL in ms.
   */
  tagBump(tags: readonly string[]): { seq: string; versions: string[]; ttlMs: number } {
    return {
      seq: this.#seq,
      versions: tags.map((tag) => this.#tagVersion(tag)),
      ttlMs: this.#versionTtlMs,
    }
  }

  /** Fences every fill in flight: for pattern invalidations and clear. */
  bumpAll(): Promise<unknown> {
    return this.#bump([this.#all])
  }

  async begin(
    key: string,
    tags: readonly string[],
    leaseMs: number,
    token: string,
    lease: LeaseMode,
  ): Promise<FillStart> {
    const keys = this.#fenceKeys(key, tags)
    const reply = (await runScript(
      this.#client,
      BEGIN_FILL,
      keys,
      [Math.ceil(leaseMs), token, LEASE_ARG[lease]],
      true,
    )) as [number, Buffer, Buffer[]]
    const versions = reply[2].map((v) => v.toString('latin1'))
    return { lease: reply[0] === 1, value: reply[1].length > 0 ? reply[1] : undefined, versions }
  }

  async store(
    key: string,
    value: Buffer,
    ttlMs: number,
    tags: readonly string[],
    tagPrefix: string,
    record: string,
    versions: readonly string[],
    token: string,
  ): Promise<boolean> {
    const keys = [...this.#fenceKeys(key, tags), record]
    const args = [value, Math.ceil(ttlMs), token, tags.length, ...versions, tagPrefix, ...tags]
    return (await runScript(this.#client, STORE_FILL, keys, args)) === 1
  }

  async release(key: string, token: string): Promise<void> {
    await runScript(this.#client, RELEASE_LEASE, [this.#lease(key)], [token])
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

  /** The KEYS both fill scripts start with: entry, lease, v:all, v:k:key, v:t:tag... */
  #fenceKeys(key: string, tags: readonly string[]): string[] {
    return [
      this.#prefix + key,
      this.#lease(key),
      this.#all,
      this.#keyVersion(key),
      ...tags.map((tag) => this.#tagVersion(tag)),
    ]
  }

  #keyVersion(key: string): string {
    return `${this.versionPrefix}k:${key}`
  }

  #tagVersion(tag: string): string {
    return `${this.versionPrefix}t:${tag}`
  }

  #lease(key: string): string {
    return `${this.#prefix}__sc:lease:${key}`
  }
}

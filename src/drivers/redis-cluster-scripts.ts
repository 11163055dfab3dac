/**
 * The Lua scripts of the fence on a Redis Cluster (`redis-cluster-fence.ts`). Each touches the
 * keys of one cache key or of one tag, all in one hash slot (`redis-key-layout.ts`), and names
 * every one of them in `KEYS`: nothing is named inside Lua.
 */
import { script, TAG_ADD_FN } from './redis-scripts.js'

/**
 * `bump_own(key, ttl)` gives the version key `key` a new version: the server's clock in
 * microseconds, pushed past the version it holds, so that it only grows (a Cluster has no shared
 * counter: each version key is its own). `%.0f`: Lua's default formatting would round 16 digits.
 */
const BUMP_OWN_FN = `
local function bump_own(key, ttl)
  local t = redis.call('TIME')
  local v = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local previous = tonumber(redis.call('GET', key) or '0') or 0
  if v <= previous then v = previous + 1 end
  v = string.format('%.0f', v)
  redis.call('SET', key, v, 'PX', ttl)
  return v
end
`

/** KEYS: a version key. ARGV: its TTL (ms). Bumps it (`clear`, pattern invalidations). */
export const CLUSTER_BUMP = script(
  'cluster-bump',
  `${BUMP_OWN_FN}
return bump_own(KEYS[1], ARGV[1])
`,
)

/**
 * KEYS: entry, its version. ARGV: value, ttl, version TTL. Bumps the key's version and writes
 * the entry, atomically: a fill that began before it and stores after it is refused.
 */
export const CLUSTER_WRITE = script(
  'cluster-write',
  `${BUMP_OWN_FN}
bump_own(KEYS[2], ARGV[3])
redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
return 1
`,
  { inOrder: true },
)

/** KEYS: a key's version, its entry. ARGV: version TTL. Bumps, then unlinks; returns 0/1. */
export const CLUSTER_DELETE = script(
  'cluster-delete',
  `${BUMP_OWN_FN}
bump_own(KEYS[1], ARGV[1])
return redis.call('UNLINK', KEYS[2])
`,
  { inOrder: true },
)

/**
 * KEYS: entry, lease, waiters, the slot's `all` version, the key's version. ARGV: value, ttl,
 * token, fence point. Releases the lease if it is ours, then stores only if neither version is at
 * or past the point (one that is not a number counts as past it). Returns 0 fenced, 1 stored,
 * 2 stored and awaited by other fills.
 */
export const CLUSTER_STORE = script(
  'cluster-store',
  `
local point = tonumber(ARGV[4])
if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
for i = 4, 5 do
  local version = redis.call('GET', KEYS[i])
  if version and (tonumber(version) or point) >= point then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
return 1 + redis.call('DEL', KEYS[3])
`,
)

/**
 * KEYS: a tag's version, its set. ARGV: entry name, ttl, threshold ('' for none). Records the
 * entry in the tag's set, unless the tag's version is at or past the threshold (a fill that began
 * before the tag's last invalidation): returns 1 recorded, 0 refused.
 */
export const CLUSTER_ENLIST = script(
  'cluster-enlist',
  `${TAG_ADD_FN}
if ARGV[3] ~= '' then
  local threshold = tonumber(ARGV[3])
  local version = redis.call('GET', KEYS[1])
  if version and (tonumber(version) or threshold) >= threshold then return 0 end
end
tag_add(KEYS[2], ARGV[1], tonumber(ARGV[2]))
return 1
`,
)

/**
 * KEYS: a tag's version, its set, its draining set. ARGV: version TTL ('' not to bump), batch.
 * Bumps the version (first call of an invalidation), moves up to `batch` members from the set to
 * the draining set, and returns `{ up to batch members of the draining set, members left in both }`.
 * A member leaves the draining set (`CLUSTER_DRAINED`) only once its entry is deleted: an
 * invalidation cut halfway by a failed node leaves the rest there for its replay.
 */
export const CLUSTER_DRAIN_TAG = script(
  'cluster-drain-tag',
  `${BUMP_OWN_FN}
if redis.replicate_commands then redis.replicate_commands() end
if ARGV[1] ~= '' then bump_own(KEYS[1], ARGV[1]) end
local popped = redis.call('SPOP', KEYS[2], ARGV[2])
for i = 1, #popped, 1000 do
  redis.call('SADD', KEYS[3], unpack(popped, i, math.min(i + 999, #popped)))
end
redis.call('PEXPIRE', KEYS[3], 86400000)
local members = redis.call('SRANDMEMBER', KEYS[3], ARGV[2])
return { members, redis.call('SCARD', KEYS[2]) + redis.call('SCARD', KEYS[3]) }
`,
  { inOrder: true },
)

/** KEYS: a tag's draining set. ARGV: members whose entries are deleted. */
export const CLUSTER_DRAINED = script(
  'cluster-drained',
  `
for i = 1, #ARGV, 1000 do
  redis.call('SREM', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
return 1
`,
  { inOrder: true },
)

import type { Cluster, Redis } from 'ioredis'
import { nodeCrypto } from '../module-url.js'

/**
 * The Lua scripts of {@link RedisDriver}, and a runner that sends them with EVALSHA and falls back
 * to EVAL when the server does not know the script yet (first use, or after a restart or a
 * `SCRIPT FLUSH`), except the scripts whose place among the commands matters: those go with EVAL.
 *
 * We do not use ioredis' `defineCommand`: it adds methods to the client object, and a client the
 * user passes in must come back exactly as it was given.
 *
 * On a standalone server, scripts may touch keys they name themselves: the tag sets and version
 * keys of the tags they are given (a prefix and the tag names, so that each tag crosses the wire
 * once), and the entries they pop from tag sets. On a Cluster the driver uses none of those (see
 * `redis-driver.ts`).
 */
export interface LuaScript {
  readonly name: string
  readonly lua: string
  readonly sha: string
  /**
   * Sent with EVAL every time, never EVALSHA: a write whose callers send more commands before its
   * reply and count on it running first (a version bump before the write it fences, an
   * invalidation a later read must not get ahead of). EVALSHA's fallback after `NOSCRIPT` (the
   * server's script cache was flushed) would run it after those commands: a read then finds what
   * the invalidation was to remove, and puts it back in L1. Costs the script's bytes per call.
   */
  readonly inOrder: boolean
}

/** `inOrder`: see {@link LuaScript.inOrder}. */
export function script(name: string, lua: string, { inOrder = false } = {}): LuaScript {
  let sha: string | undefined
  return {
    name,
    lua,
    // Hashed on first use: the first SHA-1 loads the hash (1 to 8 ms), and the scripts are
    // declared when stratacache is imported, Redis or not.
    get sha() {
      if (sha === undefined) sha = nodeCrypto().createHash('sha1').update(lua).digest('hex')
      return sha
    },
    inOrder,
  }
}

/**
 * Shared Lua helper: add `member` to the tag set `tag` and make the set live at least `ttl` ms.
 * PTTL is -1 for a set without TTL (just created by SADD), so a new set always gets one; a longer
 * TTL already there is kept, so the set outlives the longest-lived member recorded in it.
 */
export const TAG_ADD_FN = `
local function tag_add(tag, member, ttl)
  redis.call('SADD', tag, member)
  if redis.call('PTTL', tag) < ttl then
    redis.call('PEXPIRE', tag, ttl)
  end
end
`

/**
 * Shared Lua helper: `retag(entry, record, tagPrefix, tags, ttl)` makes the tag index say exactly
 * that `entry` carries `tags`. The record (`P__sc:kt:<key>`, a set of tag names) remembers the tags
 * the entry was last written with, so that a rewrite without a tag takes the entry out of that
 * tag's set (otherwise invalidating the old tag would delete the new value). Each tag set lives
 * at least `ttl`, and the record as long as the longest of its tag sets, so that no membership
 * outlives the record that can undo it. The tag sets are named from the record's contents, which
 * a standalone server allows (Cluster writes go through `redis-cluster.ts`).
 */
export const RETAG_FN = `
local function retag(entry, record, prefix, tags, ttl)
  local old = redis.call('SMEMBERS', record)
  if #old > 0 then
    local keep = {}
    for _, tag in ipairs(tags) do keep[tag] = true end
    for _, tag in ipairs(old) do
      if not keep[tag] then redis.call('SREM', prefix .. tag, entry) end
    end
    redis.call('DEL', record)
  end
  if #tags == 0 then return end
  local longest = ttl
  for _, tag in ipairs(tags) do
    local set = prefix .. tag
    redis.call('SADD', set, entry)
    local left = redis.call('PTTL', set)
    if left < ttl then
      redis.call('PEXPIRE', set, ttl)
      left = ttl
    end
    if left > longest then longest = left end
  end
  for i = 1, #tags, 1000 do
    redis.call('SADD', record, unpack(tags, i, math.min(i + 999, #tags)))
  end
  redis.call('PEXPIRE', record, longest)
end
`

/**
 * `SET KEYS[1] ARGV[1] PX ARGV[2]` and the tag index for it: KEYS[2] is the entry's tag record,
 * ARGV[3] the tag-set prefix, ARGV[4..] the tags (none: the entry leaves every tag it had).
 * One round trip, atomic: no reader sees the entry without its tags.
 */
export const SET_ENTRY = script(
  'set-entry',
  `${RETAG_FN}
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
retag(KEYS[1], KEYS[2], ARGV[3], { unpack(ARGV, 4) }, ttl)
return 1
`,
  { inOrder: true },
)

/**
 * Many entries in one call: KEYS are, for each entry, its name then its tag record. ARGV[1] is
 * the number of entries, ARGV[2] the tag-set prefix, then for each entry: value, ttl, tag count
 * and the tags.
 */
export const SET_MANY = script(
  'set-many',
  `${RETAG_FN}
local n = tonumber(ARGV[1])
local prefix = ARGV[2]
local a = 3
for i = 1, n do
  local key = KEYS[2 * i - 1]
  local ttl = tonumber(ARGV[a + 1])
  local count = tonumber(ARGV[a + 2])
  redis.call('SET', key, ARGV[a], 'PX', ttl)
  local tags = {}
  for j = 1, count do tags[j] = ARGV[a + 2 + j] end
  retag(key, KEYS[2 * i], prefix, tags, ttl)
  a = a + 3 + count
end
return n
`,
  { inOrder: true },
)

/**
 * Shared Lua helper: `drain(sets, budget)` pops up to `budget` members in total from the tag sets
 * named in the table `sets` and unlinks them; returns the entries that existed and were removed,
 * and the members still in the sets (counted only when the budget ran out).
 *
 * Popping (rather than SMEMBERS + DEL of the set) keeps each call short however large a tag is,
 * and never loses an index entry: a member added while a large tag is being drained stays in the
 * set until a later pop takes it, and a set emptied by SPOP disappears by itself. (SPOP is not
 * deterministic: scripts that use it replicate their effects.)
 */
export const DRAIN_FN = `
if redis.replicate_commands then redis.replicate_commands() end
local function drain(sets, budget)
  local removed = 0
  local exhausted = false
  for _, set in ipairs(sets) do
    while true do
      if budget <= 0 then
        exhausted = true
        break
      end
      local take = math.min(budget, 500)
      local members = redis.call('SPOP', set, take)
      if #members == 0 then break end
      budget = budget - #members
      removed = removed + redis.call('UNLINK', unpack(members))
      if #members < take then break end
    end
  end
  local left = 0
  if exhausted then
    for _, set in ipairs(sets) do left = left + redis.call('SCARD', set) end
  end
  return removed, left
end
`

/**
 * Shared Lua helper: `named(prefix, names, from)` is the table of `prefix .. names[i]` for `i` from
 * `from` on: key names built here from a prefix and tags sent once.
 */
export const NAMED_FN = `
local function named(prefix, names, from)
  local out = {}
  for i = from, #names do out[#out + 1] = prefix .. names[i] end
  return out
end
`

/**
 * Shared Lua helper: `bump(seq, keys, ttl)` gives the version keys named in the table `keys` one
 * new version, each living `ttl` ms, and returns it. A version is the server's clock in
 * microseconds, pushed past the last one given (kept in `seq`) so that versions only grow, even
 * within one microsecond and across a restart that lost `seq`. A fill that began before the bump
 * holds a smaller fence point (`FENCE_POINT_FN`) and is refused when it stores (`redis-fence.ts`).
 * Numbers are written with `%.0f`: Lua's default formatting would round 16 digits.
 */
export const BUMP_FN = `
local function bump(seq, keys, ttl)
  local t = redis.call('TIME')
  local v = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local previous = tonumber(redis.call('GET', seq) or '0') or 0
  if v <= previous then v = previous + 1 end
  v = string.format('%.0f', v)
  redis.call('SET', seq, v, 'PX', 86400000)
  for _, key in ipairs(keys) do
    redis.call('SET', key, v, 'PX', ttl)
  end
  return v
end
`

/**
 * Shared Lua helper: `fence_point()` is the server's clock in microseconds, as text. Every version
 * bumped after it is at least as large, so a fill compares its tags' versions with the point it
 * took before its loader ran (`redis-fence.ts`).
 */
export const FENCE_POINT_FN = `
local function fence_point()
  local t = redis.call('TIME')
  return string.format('%.0f', tonumber(t[1]) * 1000000 + tonumber(t[2]))
end
`

/**
 * Pops up to `ARGV[1]` members in total from the tag sets `KEYS` and unlinks them (see `drain`).
 * Returns `{ removed, left }`.
 */
export const DELETE_TAGS = script(
  'delete-tags',
  `${DRAIN_FN}
local removed, left = drain(KEYS, tonumber(ARGV[1]))
return { removed, left }
`,
  { inOrder: true },
)

/** `INCRBY KEYS[1] ARGV[1]`, with a TTL of `ARGV[2]` ms set only when the key has none. */
export const INCREMENT = script(
  'increment',
  `
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return value
`,
)

/**
 * `SADD KEYS[1] ARGV[2..]`, with a TTL of `ARGV[1]` ms set only when the set has none; returns
 * the number of members added. Members go in slices of 1000 to stay far below Lua's stack limit.
 */
export const ADD_TO_SET = script(
  'add-to-set',
  `
local added = 0
local n = #ARGV
local i = 2
while i <= n do
  local j = math.min(i + 999, n)
  added = added + redis.call('SADD', KEYS[1], unpack(ARGV, i, j))
  i = j + 1
end
if redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return added
`,
)

type ScriptArg = string | Buffer | number

/**
 * ioredis has a `...Buffer` variant of every command at run time, typed only for some. (Not
 * `callBuffer`: with auto-pipelining on, ioredis 5 mishandles it.)
 */
interface BufferEval {
  evalshaBuffer(sha: string, numKeys: number, ...args: ScriptArg[]): Promise<unknown>
  evalBuffer(lua: string, numKeys: number, ...args: ScriptArg[]): Promise<unknown>
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT')
}

/**
 * Runs `script` with EVALSHA (`binaryReply`: strings come back as Buffers, for binary values); on
 * `NOSCRIPT` sends the source with EVAL once, which also caches it on the server for the next
 * EVALSHA. A script {@link LuaScript.inOrder} goes with EVAL at once.
 */
export async function runScript(
  client: Redis | Cluster,
  lua: LuaScript,
  keys: readonly string[],
  args: readonly ScriptArg[],
  binaryReply = false,
): Promise<unknown> {
  if (lua.inOrder) return evalSource(client, lua, keys, args, binaryReply)
  try {
    if (binaryReply)
      return await (client as unknown as BufferEval).evalshaBuffer(
        lua.sha,
        keys.length,
        ...keys,
        ...args,
      )
    return await client.evalsha(lua.sha, keys.length, ...keys, ...args)
  } catch (error) {
    if (!isNoScript(error)) throw error
    return evalSource(client, lua, keys, args, binaryReply)
  }
}

function evalSource(
  client: Redis | Cluster,
  lua: LuaScript,
  keys: readonly string[],
  args: readonly ScriptArg[],
  binaryReply: boolean,
): Promise<unknown> {
  if (binaryReply)
    return (client as unknown as BufferEval).evalBuffer(lua.lua, keys.length, ...keys, ...args)
  return client.eval(lua.lua, keys.length, ...keys, ...args)
}

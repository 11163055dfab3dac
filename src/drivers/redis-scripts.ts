import { createHash } from 'node:crypto'
import type { Cluster, Redis } from 'ioredis'

/**
 * The Lua scripts of {@link RedisDriver}, and a runner that sends them with EVALSHA and falls back
 * to EVAL when the server does not know the script yet (first use, or after a restart or a
 * `SCRIPT FLUSH`).
 *
 * We do not use ioredis' `defineCommand`: it adds methods to the client object, and a client the
 * user passes in must come back exactly as it was given.
 *
 * Every script touches only the keys it is given in `KEYS`, except {@link DELETE_TAGS}, which
 * unlinks the members it pops from tag sets (entry names stored in the set). That is allowed on a
 * standalone server; on a Cluster the driver does not use it (see `redis-driver.ts`).
 */
export interface LuaScript {
  readonly name: string
  readonly lua: string
  readonly sha: string
}

export function script(name: string, lua: string): LuaScript {
  return { name, lua, sha: createHash('sha1').update(lua).digest('hex') }
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
 * `SET KEYS[1] ARGV[1] PX ARGV[2]`, then records `KEYS[1]` in every tag set `KEYS[2..]`.
 * One round trip, atomic: no reader sees the entry without its tags.
 */
export const SET_TAGGED = script(
  'set-tagged',
  `${TAG_ADD_FN}
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
for i = 2, #KEYS do
  tag_add(KEYS[i], KEYS[1], ttl)
end
return 1
`,
)

/**
 * Many entries in one call. `KEYS[1..n]` are the entries, the remaining keys are the tag sets
 * used by the batch (each once). `ARGV[1]` is n, then for each entry: value, ttl, tag count and
 * the indexes (into KEYS) of its tag sets.
 */
export const SET_MANY = script(
  'set-many',
  `${TAG_ADD_FN}
local n = tonumber(ARGV[1])
local a = 2
for i = 1, n do
  local key = KEYS[i]
  local ttl = tonumber(ARGV[a + 1])
  local tags = tonumber(ARGV[a + 2])
  redis.call('SET', key, ARGV[a], 'PX', ttl)
  a = a + 3
  for j = 1, tags do
    tag_add(KEYS[tonumber(ARGV[a])], key, ttl)
    a = a + 1
  end
end
return n
`,
)

/** Records `ARGV[1]` (an entry name) in the single tag set `KEYS[1]` for `ARGV[2]` ms: Cluster path. */
export const TAG_ADD = script(
  'tag-add',
  `${TAG_ADD_FN}
tag_add(KEYS[1], ARGV[1], tonumber(ARGV[2]))
return 1
`,
)

/**
 * Pops up to `ARGV[1]` members in total from the tag sets `KEYS` and unlinks them. Returns
 * `{ removed, left }`: entries that existed and were removed, and members still in the sets.
 *
 * Popping (rather than SMEMBERS + DEL of the set) keeps each call short however large a tag is,
 * and never loses an index entry: a member added while a large tag is being drained stays in the
 * set until a later pop takes it, and a set emptied by SPOP disappears by itself.
 */
export const DELETE_TAGS = script(
  'delete-tags',
  `
if redis.replicate_commands then redis.replicate_commands() end
local budget = tonumber(ARGV[1])
local removed = 0
for i = 1, #KEYS do
  while budget > 0 do
    local members = redis.call('SPOP', KEYS[i], math.min(budget, 500))
    if #members == 0 then break end
    budget = budget - #members
    removed = removed + redis.call('UNLINK', unpack(members))
  end
end
local left = 0
for i = 1, #KEYS do
  left = left + redis.call('SCARD', KEYS[i])
end
return { removed, left }
`,
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
 * Runs `script` with EVALSHA (`binaryReply`: strings come back as Buffers, for binary values); on `NOSCRIPT` sends the source with EVAL once, which also caches
 * it on the server for the next EVALSHA.
 */
export async function runScript(
  client: Redis | Cluster,
  lua: LuaScript,
  keys: readonly string[],
  args: readonly ScriptArg[],
  binaryReply = false,
): Promise<unknown> {
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
    if (binaryReply)
      return (client as unknown as BufferEval).evalBuffer(lua.lua, keys.length, ...keys, ...args)
    return client.eval(lua.lua, keys.length, ...keys, ...args)
  }
}

/**
 * A tag invalidation in one round trip on a standalone Redis: one script bumps the tags' versions
 * (fencing fills in flight on every instance), drains the entries recorded under the tags, and,
 * when given one, publishes the bus notice announcing it, in that order and atomically: the other
 * instances hear of the invalidation only once it is applied, and always when it is. A tag too
 * large for one call is drained by more calls, and its notice is published after the last.
 */
import type { Redis } from 'ioredis'
import type { BusNotice } from './bus.js'
import type { RedisFence } from './redis-fence.js'
import { BUMP_FN, DRAIN_FN, runScript, script } from './redis-scripts.js'
import { drainTags } from './redis-tag-index.js'

/**
 * KEYS: the version counter, the `n` tags' version keys, the `n` tag sets. ARGV: n, version TTL
 * (ms), members to pop at most, channel ('' for no notice), notice payload. Returns
 * `{ removed, left, published (0/1) }`; the notice is published only when nothing is left.
 */
const INVALIDATE_TAGS = script(
  'invalidate-tags',
  `${BUMP_FN}${DRAIN_FN}
local n = tonumber(ARGV[1])
bump(KEYS[1], 2, n + 1, ARGV[2])
local removed, left = drain(n + 2, 2 * n + 1, tonumber(ARGV[3]))
if left == 0 and ARGV[4] ~= '' then
  redis.call('PUBLISH', ARGV[4], ARGV[5])
  return { removed, 0, 1 }
end
return { removed, left, 0 }
`,
)

/**
 * Invalidates `tagKeys` (the tag sets of `tags`) with their versions bumped, publishing `notice`
 * once they are drained; resolves to the entries removed.
 */
export async function invalidateTags(
  client: Redis,
  fence: RedisFence,
  tags: readonly string[],
  tagKeys: readonly string[],
  batch: number,
  notice: BusNotice | undefined,
): Promise<number> {
  const { seq, versions, ttlMs } = fence.tagBump(tags)
  const [removed, left, published] = (await runScript(
    client,
    INVALIDATE_TAGS,
    [seq, ...versions, ...tagKeys],
    [tags.length, ttlMs, batch, notice?.channel ?? '', notice?.payload ?? ''],
  )) as [number, number, number]
  const more = left > 0 ? await drainTags(client, tagKeys, batch, left) : 0
  if (notice !== undefined && published === 0) await client.publish(notice.channel, notice.payload)
  return removed + more
}

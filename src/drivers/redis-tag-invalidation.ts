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
import { BUMP_FN, DRAIN_FN, NAMED_FN, runScript, script } from './redis-scripts.js'
import { drainTags } from './redis-tag-index.js'

/**
 * KEYS: the version counter. ARGV: version TTL (ms), members to pop at most, channel ('' for no
 * notice), notice payload, version-key prefix, tag-set prefix, tags. Returns
 * `{ removed, left, published (0/1) }`; the notice is published only when nothing is left.
 */
const INVALIDATE_TAGS = script(
  'invalidate-tags',
  `${BUMP_FN}${DRAIN_FN}${NAMED_FN}
bump(KEYS[1], named(ARGV[5], ARGV, 7), ARGV[1])
local removed, left = drain(named(ARGV[6], ARGV, 7), tonumber(ARGV[2]))
if left == 0 and ARGV[3] ~= '' then
  redis.call('PUBLISH', ARGV[3], ARGV[4])
  return { removed, 0, 1 }
end
return { removed, left, 0 }
`,
  { inOrder: true },
)

/**
 * Invalidates `tags` (their tag sets and versions named as `fence` names them) with their versions
 * bumped, publishing `notice` once they are drained; resolves to the entries removed.
 */
export async function invalidateTags(
  client: Redis,
  fence: RedisFence,
  tags: readonly string[],
  batch: number,
  notice: BusNotice | undefined,
): Promise<number> {
  const { seq, versionPrefix, ttlMs, tagSets } = fence.tagBump()
  const [removed, left, published] = (await runScript(
    client,
    INVALIDATE_TAGS,
    [seq],
    [ttlMs, batch, notice?.channel ?? '', notice?.payload ?? '', versionPrefix, tagSets, ...tags],
  )) as [number, number, number]
  const tagKeys = left > 0 ? tags.map((tag) => tagSets + tag) : []
  const more = left > 0 ? await drainTags(client, tagKeys, batch, left) : 0
  if (notice !== undefined && published === 0) await client.publish(notice.channel, notice.payload)
  return removed + more
}

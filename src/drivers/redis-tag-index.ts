import type { Cluster, Redis } from 'ioredis'
import type { L2WriteItem } from './l2-driver.js'
import { DELETE_TAGS, runScript, SET_ENTRY, SET_MANY } from './redis-scripts.js'

/**
 * The tag index of the Redis driver: for each tag, a set (`P__sc:tag:<tag>`) of the full Redis
 * names of the entries written with it. A tagged write records its entry in each tag set and
 * raises the set's TTL to the entry's (never lowers it), in the same script call as the SET on a
 * standalone server; deleting tags pops their sets and unlinks the members.
 *
 * Each entry also has a tag record (`P__sc:kt:<key>`, the tags it was last written with), so that
 * a rewrite without a tag takes it out of that tag's set. A tag set may still name an entry that
 * has since expired or been deleted: deleting the tag then no-ops on that key.
 */

/**
 * SET of `name` with a TTL, indexed under exactly `tags` (leaving tags it had before), in one
 * script call. `record` is the entry's tag record, `tagPrefix` the prefix of tag-set names.
 * Standalone servers only: on a Cluster, `RedisDriver` writes through `redis-cluster-fence.ts`.
 */
export function writeTagged(
  client: Redis | Cluster,
  name: string,
  value: Buffer,
  ttl: number,
  tags: readonly string[],
  tagPrefix: string,
  record: string,
): Promise<unknown> {
  return runScript(client, SET_ENTRY, [name, record], [value, ttl, tagPrefix, ...tags])
}

/**
 * One script call writing `items` (at most a few thousand: the caller chunks) with their tags.
 * `names[i]` and `records[i]` are the full names of `items[i]` and of its tag record, `ttls[i]` its
 * TTL argument, all validated by the caller. Standalone servers only (the keys span slots).
 */
export function writeManyTagged(
  client: Redis | Cluster,
  items: readonly L2WriteItem[],
  names: readonly string[],
  records: readonly string[],
  ttls: readonly number[],
  tagPrefix: string,
): Promise<unknown> {
  const n = items.length
  const keys: string[] = []
  const args: (string | number | Buffer)[] = [n, tagPrefix]
  for (let i = 0; i < n; i++) {
    const item = items[i]!
    keys.push(names[i]!, records[i]!)
    args.push(item.value, ttls[i]!, item.tags.length, ...item.tags)
  }
  return runScript(client, SET_MANY, keys, args)
}

/**
 * Goes on draining tag sets that still held `left` members after a first call. The calls are
 * bounded by what was there then, so that writers adding to the tags concurrently cannot keep us
 * here forever; what they add after we are done stays indexed for the next deletion.
 */
export async function drainTags(
  client: Redis | Cluster,
  tagKeys: readonly string[],
  batch: number,
  left: number,
): Promise<number> {
  let removed = 0
  let rounds = Math.ceil(left / batch) + 1
  while (left > 0 && rounds-- > 0) {
    const [more, rest] = (await runScript(client, DELETE_TAGS, tagKeys, [batch])) as [
      number,
      number,
    ]
    removed += more
    left = rest
  }
  return removed
}

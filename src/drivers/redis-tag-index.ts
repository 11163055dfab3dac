import type { Cluster, Redis } from 'ioredis'
import type { L2WriteItem } from './l2-driver.js'
import { drainTagPerKey, setTaggedPerKey } from './redis-cluster.js'
import { DELETE_TAGS, runScript, SET_MANY, SET_TAGGED } from './redis-scripts.js'

/**
 * The tag index of the Redis driver: for each tag, a set (`P__sc:tag:<tag>`) of the full Redis
 * names of the entries written with it. A tagged write records its entry in each tag set and
 * raises the set's TTL to the entry's (never lowers it), in the same script call as the SET on a
 * standalone server; deleting tags pops their sets and unlinks the members.
 *
 * A tag set may name an entry that has since expired, been deleted, or been rewritten without that
 * tag: deleting the tag then removes (or no-ops on) that key. Over-invalidation is the safe side.
 */

/** SET of `name` with a TTL, recorded under each of `tagKeys` (full names of the tag sets). */
export function writeTagged(
  client: Redis | Cluster,
  cluster: boolean,
  name: string,
  value: Buffer,
  ttl: number,
  tagKeys: string[],
): Promise<unknown> {
  if (cluster) return setTaggedPerKey(client, name, value, ttl, tagKeys)
  return runScript(client, SET_TAGGED, [name, ...tagKeys], [value, ttl])
}

/**
 * One script call writing `items` (at most a few thousand: the caller chunks) with their tags.
 * `names[i]` is the full name of `items[i]` and `ttls[i]` its TTL argument, both validated by the
 * caller. Standalone servers only (the keys span slots).
 */
export function writeManyTagged(
  client: Redis | Cluster,
  items: readonly L2WriteItem[],
  names: readonly string[],
  ttls: readonly number[],
  tagPrefix: string,
): Promise<unknown> {
  const n = items.length
  const keys = names.slice()
  const args: (string | number | Buffer)[] = [n]
  const tagIndex = new Map<string, number>()
  for (let i = 0; i < n; i++) {
    const item = items[i]!
    args.push(item.value, ttls[i]!, item.tags.length)
    for (const tag of item.tags) {
      let index = tagIndex.get(tag)
      if (index === undefined) {
        keys.push(tagPrefix + tag)
        index = keys.length // Lua KEYS are 1-based: entries 1..n, then tag sets
        tagIndex.set(tag, index)
      }
      args.push(index)
    }
  }
  return runScript(client, SET_MANY, keys, args)
}

/**
 * Removes every entry recorded under any of `tagKeys`, and the tag sets; resolves to the entries
 * removed (each counted once). Pops `batch` members per call.
 */
export async function deleteTagged(
  client: Redis | Cluster,
  cluster: boolean,
  tagKeys: readonly string[],
  batch: number,
): Promise<number> {
  if (cluster) {
    let removed = 0
    for (const tagKey of tagKeys) removed += await drainTagPerKey(client, tagKey, batch)
    return removed
  }
  let [removed, left] = (await runScript(client, DELETE_TAGS, tagKeys, [batch])) as [number, number]
  // Large tags take several calls. Bound the loop by what was there after the first call, so
  // that writers adding to the tag concurrently cannot keep us here forever; what they add after
  // we are done stays indexed for the next deletion.
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

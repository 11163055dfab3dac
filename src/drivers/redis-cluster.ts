import type { Cluster, Redis } from 'ioredis'
import { runScript, TAG_ADD } from './redis-scripts.js'

/**
 * Multi-key commands on a Redis Cluster. A command that takes several keys (MGET, UNLINK of many,
 * the tagged-write and tag-delete scripts) cannot run there as one, because the keys live in
 * different slots. So it is split per key and the parts are sent concurrently: the latency stays
 * about one round trip, but a tagged write is no longer atomic (entry first, then its tag sets).
 * Keys are not given `{...}` hash tags: that would put the whole cache in one slot, on one node.
 *
 * The helpers taking a `cluster` flag send the single multi-key command on a standalone server.
 */

/** Values of full Redis names, aligned: one MGET, or one GET per name on a Cluster. */
export function getBuffers(
  client: Redis | Cluster,
  cluster: boolean,
  names: string[],
): Promise<(Buffer | null)[]> {
  return cluster
    ? Promise.all(names.map((name) => client.getBuffer(name)))
    : client.mgetBuffer(names)
}

/** UNLINK of full names: one command (in slices of 1000) or, on a Cluster, one per name. */
export async function unlinkNames(
  client: Redis | Cluster,
  cluster: boolean,
  names: readonly string[],
): Promise<number> {
  if (names.length === 0) return 0
  const calls: Promise<number>[] = []
  if (cluster) {
    for (const name of names) calls.push(client.unlink(name))
  } else {
    for (let i = 0; i < names.length; i += 1000) {
      calls.push(client.unlink(...names.slice(i, i + 1000)))
    }
  }
  let removed = 0
  for (const count of await Promise.all(calls)) removed += count
  return removed
}

/** Cluster path of a tagged write: the SET, and each tag set's update, sent concurrently. */
export function setTaggedPerKey(
  client: Cluster | Redis,
  name: string,
  value: Buffer,
  ttl: number,
  tagKeys: readonly string[],
): Promise<unknown> {
  return Promise.all([
    client.set(name, value, 'PX', ttl),
    ...tagKeys.map((tagKey) => runScript(client, TAG_ADD, [tagKey], [name, ttl])),
  ])
}

/**
 * Cluster path of a tag deletion: SPOP the tag set in batches and UNLINK each member. Bounded by
 * the set's size when it starts, so that concurrent writers cannot keep it going forever.
 */
export async function drainTagPerKey(
  client: Cluster | Redis,
  tagKey: string,
  batch: number,
): Promise<number> {
  let removed = 0
  let rounds = Math.ceil((await client.scard(tagKey)) / batch) + 1
  while (rounds-- > 0) {
    const members = await client.spop(tagKey, batch)
    if (members.length === 0) break
    removed += await unlinkNames(client, true, members)
  }
  return removed
}

import type { Cluster, Redis } from 'ioredis'

/**
 * Multi-key reads and deletes of entries on a Redis Cluster. Entries carry no `{...}` hash tag
 * (that would put the whole cache in one slot, on one node), so an MGET or UNLINK of several
 * cannot run there as one command: it is split per name and the parts are sent concurrently,
 * which keeps the latency about one round trip. Each helper takes a `cluster` flag and sends the
 * single multi-key command on a standalone server. (Tagged writes and tag invalidations on a
 * Cluster go through `redis-cluster-fence.ts`.)
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

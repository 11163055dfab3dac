import type { Cluster } from 'ioredis'

/** How often {@link watchClusterMasters} looks at the cluster's masters. */
const MASTER_POLL_MS = 1_000

/** '' after half a poll: a dead master's connection may hold a command for a long time. */
function giveUp(): Promise<string> {
  return new Promise((resolve) => setTimeout(resolve, MASTER_POLL_MS / 2, '').unref())
}

/**
 * The Cluster counterpart of the standalone `run_id` watch: every second, the slot map asked
 * again and the `run_id` of each master in it. A master that is new (a replica promoted by a failover) or another
 * process on a known address (a restart) may lack writes the old one acknowledged (replication is
 * asynchronous): `onChange` is called, and the driver's caller redoes its recent writes. Returns
 * the unwatch.
 */
export function watchClusterMasters(
  client: Cluster,
  onChange: (reason: string) => void,
): () => void {
  let known: Map<string, string> | undefined
  let busy = false
  const check = async () => {
    if (busy || client.status !== 'ready') return
    busy = true
    try {
      // ioredis learns of a new master only on a redirection or when asked (its periodic
      // refresh is off unless `slotsRefreshInterval` is set): ask, at most half a poll.
      const refreshed = new Promise<string>((resolve) =>
        client.refreshSlotsCache(() => resolve('')),
      )
      await Promise.race([refreshed, giveUp()])
      const masters = client.nodes('master')
      const seen = new Map<string, string>()
      await Promise.all(
        masters.map(async (node) => {
          const info = await Promise.race([node.info('server').catch(() => ''), giveUp()])
          const runId = /^run_id:(\w+)/m.exec(info)?.[1]
          if (runId !== undefined) seen.set(`${node.options.host}:${node.options.port}`, runId)
        }),
      )
      if (seen.size === 0) return
      const before = known
      known = new Map([...(before ?? []), ...seen])
      if (before === undefined) return
      for (const [address, runId] of seen) {
        const was = before.get(address)
        if (was === runId) continue
        onChange(
          was === undefined
            ? `Redis Cluster has a new master at ${address} (a failover?); writes the old one acknowledged may be missing`
            : `the Redis Cluster master at ${address} is another server now (run id ${was} became ${runId}); writes it acknowledged may be missing`,
        )
        return
      }
    } finally {
      busy = false
    }
  }
  const timer = setInterval(() => void check(), MASTER_POLL_MS)
  timer.unref()
  void check()
  return () => clearInterval(timer)
}

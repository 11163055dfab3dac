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

/**
 * The Cluster counterpart of the standalone eviction watch: every second, `evicted_keys` of each
 * master in the slot map (which {@link watchClusterMasters} keeps current: a promoted replica is
 * looked at from then on). When one grew since the last look (a new master's first count, or a
 * restarted one's lower count, is only noted), `onEvicted` is called, once per look, by the one
 * instance that swaps the count into that master's claim key (`claimKey:host:port`). Returns the
 * unwatch.
 */
export function watchClusterEvictions(
  client: Cluster,
  claimKey: string,
  onEvicted: (reason: string) => void,
): () => void {
  const last = new Map<string, number>()
  let busy = false
  const check = async () => {
    if (busy || client.status !== 'ready') return
    busy = true
    try {
      const grown: string[] = []
      let evicted = 0
      await Promise.all(
        client.nodes('master').map(async (node) => {
          const address = `${node.options.host}:${node.options.port}`
          const info = await Promise.race([node.info('stats').catch(() => ''), giveUp()])
          const count = Number(/^evicted_keys:(\d+)/m.exec(info)?.[1] ?? Number.NaN)
          if (Number.isNaN(count)) return
          const before = last.get(address)
          last.set(address, count)
          if (before === undefined || count <= before) return
          const claim = `${claimKey}:${address}`
          const claimed = await client.set(claim, count, 'PX', 86_400_000, 'GET').catch(() => null)
          if (claimed === String(count)) return // another instance answers this one
          evicted += count - before
          grown.push(address)
        }),
      )
      if (grown.length === 0) return
      onEvicted(
        `Redis Cluster evicted ${evicted} keys (maxmemory reached on ${grown.join(', ')}): an ` +
          'evicted tag set or version key may have let an invalidation miss entries, so the ' +
          "cache's entries are dropped",
      )
    } finally {
      busy = false
    }
  }
  // The first look on connection, so that evictions from then on are seen.
  const onReady = () => void check()
  client.on('ready', onReady)
  const timer = setInterval(() => void check(), MASTER_POLL_MS)
  timer.unref()
  void check()
  return () => {
    clearInterval(timer)
    client.off('ready', onReady)
  }
}

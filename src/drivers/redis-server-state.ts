/**
 * What a Redis driver keeps track of on its server beyond its own keys: the registry of cache
 * prefixes (so that a clear of `t1` leaves the keys of `t10` alone), the eviction policy (the
 * guarantees need `noeviction`), and which server it is talking to (a failover or a restart
 * may have lost acknowledged writes).
 */
import type { Cluster, Redis } from 'ioredis'
import { watchClusterEvictions, watchClusterMasters } from './redis-cluster-watch.js'

/**
 * A Redis set of every cache prefix in use on this server, outside any prefix: how a cache tells
 * its keys from those of a cache whose prefix extends its own.
 */
export const PREFIX_REGISTRY = '__stratacache:prefixes'

/** Lists `prefix` in the registry. Best effort: a cache not listed may lose keys to a clear. */
export function registerPrefix(client: Redis | Cluster, prefix: string): void {
  client.sadd(PREFIX_REGISTRY, prefix).catch(() => {})
}

/**
 * A filter of scanned names down to the cache's own under `prefix`: without the registry, nor
 * the keys of a cache whose prefix starts with it (`t10` under `t1`, `app:v2:` under `app:`),
 * which a SCAN for `prefix` matches too.
 */
export async function ownNames(
  client: Redis | Cluster,
  prefix: string,
): Promise<(name: string) => boolean> {
  const prefixes = await client.smembers(PREFIX_REGISTRY).catch(() => [] as string[])
  const nested = prefixes.filter((p) => p.length > prefix.length && p.startsWith(prefix))
  return (name) => name !== PREFIX_REGISTRY && !nested.some((p) => name.startsWith(p))
}

const warnedAbout = new WeakSet<object>()

/**
 * Warns (once per client, as a process warning) when Redis may evict keys on its own: an evicted
 * tag set or version key lets an invalidation miss entries or a fill pass its fence, so the
 * guarantees need `maxmemory-policy noeviction` (or memory enough never to reach `maxmemory`).
 */
export async function warnIfEvicting(client: Redis): Promise<void> {
  if (warnedAbout.has(client)) return
  warnedAbout.add(client)
  let policy: string | undefined
  try {
    const reply = (await client.config('GET', 'maxmemory-policy')) as string[]
    policy = reply[1]
  } catch {
    // CONFIG is often disabled on managed Redis; INFO says it too.
    const info = await client.info('memory').catch(() => '')
    policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1]
  }
  if (policy === undefined || policy === 'noeviction') return
  process.emitWarning(
    `Redis evicts keys on its own (maxmemory-policy ${policy}): an evicted tag set or version key ` +
      'can make an invalidation miss entries or let a fill store a value older than a write. Use ' +
      'maxmemory-policy noeviction for the cache, or keep Redis below maxmemory.',
    { code: 'STRATACACHE_EVICTION_POLICY' },
  )
}

/**
 * Calls `onChange` when the server's `run_id` or `master_replid`, read on every (re)connection,
 * is not the one seen before: another server (a replica promoted by a failover, a restart), or
 * the same process with another history (it was a replica meanwhile, resynchronised from another
 * master, and promoted again: what it held before is gone). Returns the unwatch.
 */
export function watchRunId(client: Redis, onChange: (reason: string) => void): () => void {
  let seen: { runId: string; replId: string | undefined } | undefined
  const check = async () => {
    const [server, replication] = await Promise.all([
      client.info('server').catch(() => ''),
      client.info('replication').catch(() => ''),
    ])
    const runId = /^run_id:(\w+)/m.exec(server)?.[1]
    if (runId === undefined) return
    // Absent where INFO replication is hidden (some managed services): the run id alone then.
    const replId = /^master_replid:(\w+)/m.exec(replication)?.[1]
    const before = seen
    seen = { runId, replId }
    if (before === undefined) return
    if (runId !== before.runId) {
      onChange(
        `Redis is another server now (run id ${before.runId} became ${runId}: a failover or a restart); ` +
          'writes the old one acknowledged may be missing',
      )
    } else if (replId !== undefined && before.replId !== undefined && replId !== before.replId) {
      onChange(
        `Redis is another server now (same run id, replication id ${before.replId} became ${replId}: ` +
          'it was a replica of another master meanwhile); writes it acknowledged before may be missing',
      )
    }
  }
  return onEachConnection(client, check)
}

/** Runs `check` now if `client` is connected, and on each (re)connection; returns the stop. */
function onEachConnection(client: Redis, check: () => Promise<void>): () => void {
  const onReady = () => void check()
  client.on('ready', onReady)
  if (client.status === 'ready') void check()
  return () => client.off('ready', onReady)
}

/** How often {@link watchEvictions} reads the server's count of evicted keys. */
const EVICTION_POLL_MS = 1_000

/**
 * Calls `onEvicted` when the server's count of evicted keys grew since the last look (every
 * second): any tag set or version key may be gone, so an invalidation may have missed entries and
 * a fill may have passed its fence. Of the instances that see one count first, only the one that
 * swaps it into `claimKey` is called, so that one clear answers one eviction, not one per
 * instance. Returns the unwatch.
 */
export function watchEvictions(
  client: Redis,
  claimKey: string,
  onEvicted: (reason: string) => void,
): () => void {
  let last: number | undefined
  const check = async () => {
    if (client.status !== 'ready') return
    const info = await client.info('stats').catch(() => '')
    const count = Number(/^evicted_keys:(\d+)/m.exec(info)?.[1] ?? Number.NaN)
    if (Number.isNaN(count)) return
    const before = last
    last = count
    if (before === undefined || count <= before) return // first look, or a restarted server
    const claimed = await client.set(claimKey, count, 'PX', 86_400_000, 'GET').catch(() => null)
    if (claimed === String(count)) return // another instance answers this one
    onEvicted(
      `Redis evicted ${count - before} keys (maxmemory reached): an evicted tag set or version ` +
        "key may have let an invalidation miss entries, so the cache's entries are dropped",
    )
  }
  // The first look on connection, so that evictions from then on are seen.
  const stopLooking = onEachConnection(client, check)
  const timer = setInterval(() => void check(), EVICTION_POLL_MS)
  timer.unref()
  return () => {
    clearInterval(timer)
    stopLooking()
  }
}

/**
 * `L2Driver.watchServer` of a Redis driver: the server's `run_id` (read on every reconnection)
 * and its count of evicted keys (read every second); on a Cluster, both of every master in the
 * slot map, every second (`redis-cluster-watch.ts`). `claimKey` names who answers an eviction.
 * Returns the unwatch.
 */
export function watchServer(
  client: Redis | Cluster,
  cluster: boolean,
  claimKey: string,
  onChange: (reason: string, lost: 'recent' | 'any') => void,
): () => void {
  const any = (reason: string) => onChange(reason, 'any')
  if (cluster) {
    // A Cluster redoes only this instance's recent writes (the driver's `needsRecentChanges`): a
    // clear there means every slot's version and a scan of every master, too slow under load.
    const unwatchMasters = watchClusterMasters(client as Cluster, (reason) =>
      onChange(reason, 'recent'),
    )
    const unwatchEvictions = watchClusterEvictions(client as Cluster, claimKey, any)
    return () => {
      unwatchMasters()
      unwatchEvictions()
    }
  }
  // One server holds every instance's keys: another server may lack any instance's last
  // invalidations, including those of one that stopped for good, so it is cleared whole.
  const unwatchRunId = watchRunId(client as Redis, any)
  const unwatchEvictions = watchEvictions(client as Redis, claimKey, any)
  return () => {
    unwatchRunId()
    unwatchEvictions()
  }
}

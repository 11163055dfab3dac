import { RedisDriver } from '../drivers/redis-driver.js'
import { ResilientL2 } from '../drivers/resilient-l2.js'
import { UpstashDriver } from '../drivers/upstash-driver.js'
import type { ResolvedOptions } from './options.js'
import { isBusObject } from './tier-setup.js'
import type { TieredStore } from './tiered-store.js'

/**
 * The longest failover measured here (a master SIGKILLed: Sentinel and Cluster promote a replica
 * in 2.2 to 3.7 s). A strict write waits at most `max(1 s, 4 × commandTimeout)` for Redis to take
 * its invalidation; a shorter wait can let a failover outlast it.
 */
const FAILOVER_MS = 4_000

/**
 * What this cache's topology cannot keep of the guarantees, in words for a log: said once at
 * start, loudly, rather than found out under a fault. Empty on a standalone Redis or memory only.
 */
export function topologyLimits(options: ResolvedOptions, store: TieredStore): string[] {
  const l2 = store.l2
  if (!(l2 instanceof ResilientL2)) return []
  const driver = l2.driver
  const limits: string[] = []
  if (driver instanceof UpstashDriver) {
    if (!options.strict && !isBusObject(options.bus)) {
      limits.push(
        `Upstash has no invalidation bus: another instance's write reaches this L1 only when its entry expires (at most untrustedLocalTtl, ${options.untrustedLocalTtlMs} ms); use consistency: 'strict' for none`,
      )
    }
    limits.push(
      'Upstash: a server that lost acknowledged writes (failover, restart) or evicts keys is not detected; keep eviction off (noeviction) on that database',
    )
    return limits
  }
  if (!(driver instanceof RedisDriver)) return limits
  const client = driver.client as { isCluster?: boolean; options?: { sentinels?: unknown } }
  const topology =
    client.isCluster === true ? 'Redis Cluster' : client.options?.sentinels ? 'Sentinel' : undefined
  if (topology === undefined) return limits
  const strictWaitMs = Math.max(1_000, 4 * options.commandTimeoutMs)
  if (options.strict && strictWaitMs < FAILOVER_MS) {
    limits.push(
      `${topology}: strict writes wait at most ${strictWaitMs} ms for Redis, less than a failover takes (about ${FAILOVER_MS} ms after a master dies): reads may be stale during one; raise commandTimeout to ${FAILOVER_MS / 4} ms or more`,
    )
  }
  if (topology === 'Redis Cluster') {
    limits.push(
      `Redis Cluster: fills are fenced against tag invalidations on other nodes only if the nodes' clocks are within clockSkew (${options.clockSkewMs} ms) of each other`,
    )
  }
  return limits
}

/** Limits already told to the process's warnings: each once, however many caches are made. */
const warned = new Set<string>()

/**
 * Says each limit: to `log` (the `logger` option) when there is one, every time; otherwise as a
 * process warning (code `STRATACACHE_TOPOLOGY`), once per process.
 */
export function announceTopologyLimits(
  limits: readonly string[],
  log: ((message: string) => void) | undefined,
): void {
  for (const limit of limits) {
    const message = `stratacache: ${limit}`
    if (log !== undefined) log(message)
    else if (!warned.has(message)) {
      warned.add(message)
      process.emitWarning(message, { code: 'STRATACACHE_TOPOLOGY' })
    }
  }
}

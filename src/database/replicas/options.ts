/**
 * The options of {@link withReadReplicas}, validated when the extension is made: a bad value is a
 * `ValidationError` naming the option (`options.replicas[1]`, `options.pollInterval`).
 */
import { CacheManager } from '../../cache/cache-manager.js'
import { type Duration, toMs } from '../../cache/validate.js'
import { invalid } from '../../errors.js'
import type { ReplicaClient } from './replica-health.js'
import type { ReplicaPick } from './replica-pool.js'

/** Options of {@link withReadReplicas}. */
export interface ReadReplicaOptions {
  /**
   * Plain Prisma clients on the replicas (`new PrismaClient({ adapter: new PrismaPg(replicaUrl) })`),
   * at least one, without extensions. Required.
   */
  replicas: readonly ReplicaClient[]
  /**
   * The cache `withCache` uses. With it, other instances' writes, which arrive as its bus's
   * invalidations, send reads of their models to the primary until the replicas have replayed
   * them, and a bus that may have lost messages sends every read to the primary. Without it only
   * this process's writes are known.
   */
  cache?: CacheManager
  /**
   * With `cache`: when every replica has replayed a write, invalidate its tags once more, so that a
   * fill another instance made from a lagging replica before this instance's invalidation reached
   * it (the bus delay) does not stay in the shared cache until its TTL. Costs one more invalidation
   * per burst of writes.
   * @default true
   */
  repairLaggedFills?: boolean
  /**
   * Whether a cache fill a replica answered may be stored in the shared tier (Redis). Default
   * `false`: it stays in this process's L1, so that no instance, the writer included, can read
   * from Redis a row that a lagging replica gave an instance which had not yet heard of a write
   * (the bus delay). `true` shares those fills too (more L2 hits, fewer replica reads), and then
   * only `repairLaggedFills` bounds how long such a row lives there.
   */
  sharedFills?: boolean
  /**
   * `withCache`'s `namespace`, to read model names off other instances' tags.
   * @default 'prisma'
   */
  namespace?: string
  /**
   * How often the replicas' replay positions are polled, ms or `'50ms'`.
   * @default 50
   */
  pollInterval?: Duration
  /**
   * How long a poll (and a probe of the primary) may take before the replica counts as down.
   * @default '1s'
   */
  pollTimeout?: Duration
  /**
   * Which of the replicas fresh enough for a read answers it: `'round-robin'` (default) or
   * `'least-lag'` (the one that has replayed the most).
   */
  pick?: ReplicaPick
}

/** The options resolved: milliseconds, defaults applied. */
export interface ReadReplicaSettings {
  readonly replicas: readonly ReplicaClient[]
  readonly cache: CacheManager | undefined
  readonly repairLaggedFills: boolean
  readonly sharedFills: boolean
  readonly namespace: string
  readonly pollIntervalMs: number
  readonly pollTimeoutMs: number
  readonly pick: ReplicaPick
}

const KNOWN = new Set([
  'replicas',
  'cache',
  'repairLaggedFills',
  'sharedFills',
  'namespace',
  'pollInterval',
  'pollTimeout',
  'pick',
])

export function resolveReadReplicaOptions(options: unknown): ReadReplicaSettings {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalid('options', 'must be an object such as { replicas: [replicaClient] }')
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw invalid(`options.${key}`, 'is not an option of withReadReplicas')
  }
  const given = options as ReadReplicaOptions
  const { replicas } = given
  if (!Array.isArray(replicas) || replicas.length === 0) {
    throw invalid('options.replicas', 'must be a non-empty array of Prisma clients on the replicas')
  }
  replicas.forEach((client: unknown, i) => {
    const candidate = client as Partial<ReplicaClient> | null
    if (
      typeof candidate !== 'object' ||
      candidate === null ||
      typeof candidate.$queryRawUnsafe !== 'function' ||
      typeof candidate.$disconnect !== 'function'
    ) {
      throw invalid(`options.replicas[${i}]`, 'must be a PrismaClient connected to a replica')
    }
  })
  if (new Set(replicas).size !== replicas.length) {
    throw invalid('options.replicas', 'lists the same client twice')
  }
  if (given.cache !== undefined && !(given.cache instanceof CacheManager)) {
    throw invalid('options.cache', 'must be the CacheManager withCache uses')
  }
  const repairLaggedFills = given.repairLaggedFills ?? true
  if (typeof repairLaggedFills !== 'boolean') {
    throw invalid('options.repairLaggedFills', 'must be a boolean')
  }
  const sharedFills = given.sharedFills ?? false
  if (typeof sharedFills !== 'boolean') throw invalid('options.sharedFills', 'must be a boolean')
  const namespace = given.namespace ?? 'prisma'
  if (typeof namespace !== 'string' || namespace.length === 0) {
    throw invalid('options.namespace', 'must be a non-empty string (withCache’s namespace)')
  }
  const pollIntervalMs = toMs(given.pollInterval ?? 50, 'options.pollInterval')
  if (pollIntervalMs < 1) throw invalid('options.pollInterval', 'must be at least 1 ms')
  const pollTimeoutMs = toMs(given.pollTimeout ?? 1000, 'options.pollTimeout')
  if (pollTimeoutMs < 1) throw invalid('options.pollTimeout', 'must be at least 1 ms')
  const pick = given.pick ?? 'round-robin'
  if (pick !== 'round-robin' && pick !== 'least-lag') {
    throw invalid('options.pick', `must be 'round-robin' or 'least-lag', got ${String(pick)}`)
  }
  return {
    replicas: [...replicas],
    cache: given.cache,
    repairLaggedFills,
    sharedFills,
    namespace,
    pollIntervalMs,
    pollTimeoutMs,
    pick,
  }
}

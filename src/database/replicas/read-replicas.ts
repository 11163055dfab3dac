/**
 * `withReadReplicas`: a Prisma Client extension that sends reads to PostgreSQL streaming
 * replicas without ever letting a replica that lags answer, or fill the cache with, data older
 * than a write already acknowledged.
 *
 * Other instances' writes are learnt through the cache's invalidation bus. `withCache`
 * invalidates `<namespace>:<Model>` (and record tags `<namespace>:<Model>#...`) for every model a
 * write touches, after its commit; the bus delivers that to every instance, where the cache
 * re-emits it as an `invalidate` event marked `remote`, synchronously with applying it to L1 and
 * to the fill fence. Recording the write in that same step means that no fill started after the
 * invalidation here can have been routed without knowing of it.
 */
import type { PrismaClientExtends } from '@prisma/client/extension'
import { Prisma } from '@prisma/client/extension'
import type { Types } from '@prisma/client/runtime/client'
import type { CacheManager } from '../../cache/cache-manager.js'
import type { CacheEvents } from '../../cache/events.js'
import { invalid } from '../../errors.js'
import { modelGraphOf } from '../../prisma/schema/dmmf.js'
import type { ModelGraph } from '../../prisma/schema/model-graph.js'
import { EVERYTHING, WriteWatermarks } from './freshness.js'
import { LaggedFillRepair } from './lagged-fill-repair.js'
import { type ReadReplicaOptions, resolveReadReplicaOptions } from './options.js'
import { parseLsn, type ReplicaStatus } from './replica-health.js'
import { ReplicaPool } from './replica-pool.js'
import {
  ReadReplicaRouter,
  type ReadRoutingStats,
  type RouterHookParams,
} from './replica-router.js'

/** `prisma.$readReplicas`. */
export interface ReadReplicasApi {
  /** Each replica: healthy or not, replayed position, lag behind the primary's last probed position. */
  status(): ReplicaStatus[]
  /** Reads per server (and why reads went to the primary), writes recorded, probes. */
  stats(): ReadRoutingStats
  /** Polls every replica now (the background poll does it every `pollInterval`). */
  poll(): Promise<void>
  /**
   * Records a write made behind Prisma's back (another client, `pg`, a migration): reads of
   * `models` (default: all) go to the primary until the replicas have replayed it.
   */
  noteWrite(models?: readonly string[]): void
}

/** The client methods the extension adds. */
export interface ReadReplicasClientMethods {
  /**
   * Runs `fn` with every database read it makes sent to the primary (cache hits are still
   * answered by the cache, which is never older than the primary's last acknowledged write).
   */
  $primary<T>(fn: () => T): Promise<Awaited<T>>
  /** The replicas: their status, the routing counters, and closing them. */
  $readReplicas: ReadReplicasApi
}

type None = Record<never, never>

/** The extension `withReadReplicas` returns, as `$extends` sees it. */
export type ReadReplicasExtension = (
  client: unknown,
) => PrismaClientExtends<
  Types.Extensions.InternalArgs<None, None, None, ReadReplicasClientMethods> &
    Types.Extensions.DefaultArgs
>

type TransactionMethod = (this: unknown, input: unknown, options?: unknown) => Promise<unknown>
type PrimaryClient = {
  $transaction: TransactionMethod
  $disconnect(): Promise<void>
  $queryRawUnsafe(query: string): Promise<unknown>
}

const INSERT_POSITION = 'SELECT pg_current_wal_insert_lsn()::text AS lsn'

/**
 * Read replicas that keep the cache right. Reads outside transactions go to a replica that has
 * replayed every write they depend on, else to the primary; writes, raw SQL and transactions go
 * to the primary. Apply it to the primary's client **before** `withCache`, so that the cache's
 * misses pass through it.
 *
 * @example
 * ```ts
 * const replica = new PrismaClient({ adapter: new PrismaPg({ connectionString: REPLICA_URL }) })
 * const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: DATABASE_URL }) })
 *   .$extends(withReadReplicas({ replicas: [replica], cache }))
 *   .$extends(withCache({ cache }))
 * await prisma.product.update({ where: { id: 1 }, data: { price: 12 } })
 * await prisma.product.findUnique({ where: { id: 1 } }) // the primary, until a replica replayed it
 * await prisma.category.findMany()                      // a replica
 * await prisma.$primary(() => prisma.order.findMany())  // the primary
 * ```
 */
export function withReadReplicas(options: ReadReplicaOptions): ReadReplicasExtension {
  const settings = resolveReadReplicaOptions(options)
  return Prisma.defineExtension((client) => {
    if ('$cache' in client) {
      throw invalid(
        'withReadReplicas',
        'must be applied before withCache: client.$extends(withReadReplicas(...)).$extends(withCache(...))',
      )
    }
    const primary = client as unknown as PrimaryClient
    const graph = modelGraphOf(client, undefined, 'client')
    const watermarks = new WriteWatermarks(async () => {
      const rows = (await primary.$queryRawUnsafe(INSERT_POSITION)) as { lsn: string }[]
      return parseLsn(String(rows[0]?.lsn))
    }, settings.pollIntervalMs)
    const pool = new ReplicaPool(settings.replicas, settings)
    const router = new ReadReplicaRouter(graph, watermarks, pool, settings.sharedFills)
    const { cache } = settings
    const unfollow =
      cache === undefined
        ? () => {}
        : followRemoteWrites(cache, settings.namespace, graph, watermarks)
    const repair =
      cache === undefined || !settings.repairLaggedFills
        ? undefined
        : new LaggedFillRepair(cache, watermarks, pool, settings.pollIntervalMs)
    const api: ReadReplicasApi = {
      status: () => pool.replicas.map((replica) => replica.status(watermarks.lastPrimaryLsn)),
      stats: () => router.stats(repair?.repairs),
      poll: () => pool.poll(),
      noteWrite(models) {
        if (models !== undefined) {
          if (!Array.isArray(models) || models.length === 0) {
            throw invalid('models', 'must list model names (or be left out for every model)')
          }
          models.forEach((model, i) => {
            if (graph.model(model) === undefined) {
              throw invalid(`models[${i}]`, `${String(model)} is not a model of this schema`)
            }
          })
        }
        watermarks.written(models ?? [EVERYTHING])
      },
    }
    const originalTransaction = primary.$transaction
    // The poll timer and the cache listeners go with the extended client: at $disconnect, or
    // when the client is garbage (an application that extends again and again, per request).
    const release = () => {
      pool.close()
      watermarks.close()
      unfollow()
      repair?.close()
    }
    const extended = client.$extends({
      name: 'stratacache-read-replicas',
      query: {
        $allOperations: (params) => router.onQuery(params as unknown as RouterHookParams),
      },
      client: {
        $readReplicas: api,
        $primary<T>(fn: () => T): Promise<Awaited<T>> {
          if (typeof fn !== 'function')
            throw invalid('fn', 'must be a function whose reads go to the primary')
          return router.onPrimary(fn)
        },
        $transaction(this: object, input: unknown, transactionOptions?: unknown) {
          return router.transactions.run(originalTransaction, this, input, transactionOptions)
        },
        async $disconnect() {
          released.unregister(release)
          release()
          await Promise.all([
            primary.$disconnect(),
            ...settings.replicas.map((replica) => replica.$disconnect()),
          ])
        },
      },
    })
    released.register(extended, release, release)
    return extended
  }) as unknown as ReadReplicasExtension
}

/** Releases what an extended client held once nothing references it any more. */
const released = new FinalizationRegistry<() => void>((release) => release())

/** The models named by `withCache` tags among `tags` (other tags are the user's own labels). */
export function modelsOfTags(
  tags: readonly string[],
  namespace: string,
  graph: ModelGraph,
): Set<string> {
  const prefix = `${namespace}:`
  const models = new Set<string>()
  for (const tag of tags) {
    if (!tag.startsWith(prefix)) continue
    const end = tag.indexOf('#', prefix.length)
    const model = tag.slice(prefix.length, end === -1 ? undefined : end)
    if (graph.model(model) !== undefined) models.add(model)
  }
  return models
}

/**
 * Feeds `cache`'s remote invalidations and trust edges into `watermarks`. Returns the function
 * that stops listening.
 */
export function followRemoteWrites(
  cache: CacheManager,
  namespace: string,
  graph: ModelGraph,
  watermarks: WriteWatermarks,
): () => void {
  const onInvalidate = (event: CacheEvents['invalidate'][0]) => {
    if (event.remote !== true) return
    if (event.kind === 'tag') {
      const models = modelsOfTags(event.tags, namespace, graph)
      if (models.size > 0) watermarks.written(models)
    } else {
      // A pattern or a clear: which models it stands for cannot be told.
      watermarks.written([EVERYTHING])
    }
  }
  const onUntrusted = () => watermarks.distrust()
  const onTrusted = () => watermarks.trust()
  cache.on('invalidate', onInvalidate)
  cache.on('untrusted', onUntrusted)
  cache.on('trusted', onTrusted)
  return () => {
    cache.off('invalidate', onInvalidate)
    cache.off('untrusted', onUntrusted)
    cache.off('trusted', onTrusted)
  }
}

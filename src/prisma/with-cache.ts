/**
 * `withCache`: the Prisma Client extension that caches reads and invalidates them on writes, and
 * the codec type it registers for Prisma's `Decimal`.
 */
import { Prisma } from '@prisma/client/extension'
import { Decimal } from '@prisma/client/runtime/client'
import { cacheInternals } from '../cache/cache-manager.js'
import { registerType } from '../cache/codec.js'
import { type PrismaEnvSettings, prismaSettingsFromEnv } from '../config/prisma-env.js'
import { ChangeFeed } from './change-feed/change-feed.js'
import { type ResolvedChangeFeedOptions, resolveChangeFeedOptions } from './change-feed/options.js'
import { accelerateApi, cacheApi } from './extension/cache-api.js'
import { PrismaCache } from './extension/prisma-cache.js'
import { onQuery, type QueryHookParams } from './extension/query-hook.js'
import { relationHintOf } from './metrics/n-plus-one-suggestion.js'
import { type QueryMetricsOptions, resolveMetricsOptions } from './metrics/options.js'
import { QueryMetrics } from './metrics/query-metrics.js'
import { validateWithCacheOptions, type WithCacheOptions } from './options.js'
import { READ_OPERATIONS } from './reads/read-plan.js'
import { modelGraphOf } from './schema/dmmf.js'
import type { ModelGraph } from './schema/model-graph.js'
import type { WithCacheExtension } from './types.js'

/**
 * The caching extension. Reads (`findUnique`, `findUniqueOrThrow`, `findFirst`,
 * `findFirstOrThrow`, `findMany`, `count`, `aggregate`, `groupBy`) are answered from the cache;
 * every write, nested writes and cascades included, invalidates exactly the cached reads it may
 * change, after its transaction commits; raw SQL is never cached and invalidates the tables it
 * names.
 *
 * Apply it after extensions whose query hooks must see every call that reaches the database
 * (`withReadReplicas` routes them): the reads it caches, hits and misses alike, never reach the
 * query hooks of extensions applied after this one.
 *
 * @example
 * ```ts
 * const cache = new CacheManager({ redis: process.env.REDIS_URL })
 * const prisma = new PrismaClient({ adapter }).$extends(
 *   withCache({ cache, models: { Category: 'reference', Inventory: 'hot', AuditLog: false } }),
 * )
 * const product = await prisma.product.findUnique({ where: { id }, include: { reviews: true } })
 * const featured = await prisma.product.findMany({
 *   where: { featured: true },
 *   cacheStrategy: { ttl: 60, swr: 30, tags: ['featured'] }, // seconds, as in Accelerate
 * })
 * await prisma.product.update({ where: { id }, data: { price: 10 } }) // both reads invalidated
 * await prisma.$cache.invalidate({ tags: ['featured'] })
 * ```
 */
export function withCache(options: WithCacheOptions): WithCacheExtension {
  validateWithCacheOptions(options)
  const env = options.env === false ? {} : prismaSettingsFromEnv(options.env ?? process.env)
  // Bad metrics options fail here, when the extension is made, not at the first $extends.
  if (options.metrics !== false) metricsOptions(options, env, undefined)
  const feedOptions = resolveChangeFeedOptions(
    options.changeFeed,
    options.env === false ? {} : (options.env ?? process.env),
    options.namespace ?? 'prisma',
  )
  registerPrismaTypes()
  return Prisma.defineExtension((client) => {
    const graph = modelGraphOf(client, options.schema)
    const metrics = options.metrics === false ? undefined : metricsFor(options, env, graph)
    const runtime = new PrismaCache(options, env, graph, metrics ?? { record() {} })
    if (feedOptions !== undefined) runtime.changeFeed = changeFeedFor(feedOptions, runtime)
    const originalTransaction = (client as { $transaction: TransactionMethod }).$transaction
    const originalDisconnect = (client as unknown as { $disconnect: () => Promise<void> })
      .$disconnect
    const readMethods: Record<string, (this: object, args?: Record<string, unknown>) => unknown> =
      {}
    for (const operation of READ_OPERATIONS) {
      readMethods[operation] = function (this: object, args) {
        return runtime.read(this, operation, args)
      }
    }
    // One layer: its read methods query the client below it, past its own query hook, which sees
    // every other call (writes, raw queries, the fluent API's reads).
    return client.$extends({
      name: 'stratacache',
      query: { $allOperations: (params) => onQuery(runtime, params as unknown as QueryHookParams) },
      model: { $allModels: readMethods },
      client: {
        $cache: cacheApi(runtime, metrics),
        $accelerate: accelerateApi(runtime),
        $transaction(this: object, input: unknown, transactionOptions?: unknown) {
          return runtime.transactions.run(
            originalTransaction,
            this,
            input,
            transactionOptions,
            (effects) => runtime.invalidate(effects),
          )
        },
        async $disconnect(): Promise<void> {
          await runtime.changeFeed?.stop()
          await originalDisconnect.call(client)
        },
      },
    })
  }) as unknown as WithCacheExtension
}

/** The query metrics of one client, their defaults from the environment and the schema. */
function metricsFor(options: WithCacheOptions, env: PrismaEnvSettings, graph: ModelGraph) {
  return new QueryMetrics(metricsOptions(options, env, graph))
}

/** Validated metrics options (a bad one names `options.metrics.<field>`). */
function metricsOptions(
  options: WithCacheOptions,
  env: PrismaEnvSettings,
  graph: ModelGraph | undefined,
): QueryMetricsOptions {
  const given = options.metrics || {}
  const hint = graph === undefined ? {} : { relationHint: relationHintOf(graph) }
  const nPlusOne = given.nPlusOne === false ? (false as const) : { ...hint, ...given.nPlusOne }
  const resolved: QueryMetricsOptions = { slowQueryMs: env.slowQueryMs, ...given, nPlusOne }
  resolveMetricsOptions(resolved, 'options.metrics')
  // The cache's logger hears of them too, besides the callbacks (read at each report: an
  // initialize() may change it).
  const logger = () => cacheInternals(options.cache).logger()
  const { onSlowQuery, onNPlusOne } = resolved
  return {
    ...resolved,
    onSlowQuery: (entry) => {
      const at = entry.callSite === undefined ? '' : ` at ${entry.callSite}`
      logger()?.warn?.(
        entry,
        `stratacache: slow query ${entry.model ?? '$raw'}.${entry.operation}${at}`,
      )
      onSlowQuery?.(entry)
    },
    onNPlusOne: (report) => {
      logger()?.warn?.(
        report,
        `stratacache: N+1 ${report.model ?? '$raw'}.${report.operation} x${report.count}`,
      )
      onNPlusOne?.(report)
    },
  }
}

/** The change feed of one extended client, logging through the cache's logger. */
function changeFeedFor(options: ResolvedChangeFeedOptions, runtime: PrismaCache): ChangeFeed {
  const internals = cacheInternals(runtime.cache)
  return new ChangeFeed({
    options,
    graph: runtime.graph,
    naming: runtime.naming,
    internals,
    log: (level, fields, message) => {
      const logger = internals.logger()
      if (logger !== undefined) logger[level]?.(fields, message)
      else if (level !== 'info') process.emitWarning(message, { code: 'STRATACACHE_CHANGE_FEED' })
    },
  })
}

type TransactionMethod = (this: unknown, input: unknown, options?: unknown) => Promise<unknown>

/**
 * The name Prisma's `Decimal` (decimal.js) is written under in cached entries, so a `Decimal`
 * column comes back from L1 and Redis as a `Decimal` with every digit (guarantee 6); every
 * instance sharing a Redis registers the same. Decimals are immutable: shared, not cloned.
 */
const DECIMAL_TYPE_NAME = 'prisma.Decimal'

let registered = false

/** Registers Prisma's `Decimal` with the codec (once per process; `withCache` calls it). */
export function registerPrismaTypes(): void {
  if (registered) return
  registered = true
  registerType<Decimal>({
    name: DECIMAL_TYPE_NAME,
    is: (value): value is Decimal => Decimal.isDecimal(value),
    serialize: (value) => value.toString(),
    deserialize: (text) => new Decimal(text as string),
  })
}

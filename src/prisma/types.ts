/**
 * The types the extension adds to a Prisma client: `cacheStrategy` on the eight read methods
 * (and only there: on a write it is a type error), `withCacheInfo()` on what they return, and
 * `prisma.$cache`. Shaped like Prisma Accelerate's, so code written for it type-checks unchanged.
 */

import type { PrismaClientExtends } from '@prisma/client/extension'
import type { Types } from '@prisma/client/runtime/client'
import type { ChangeFeedApi, PrismaCacheStats } from './extension/cache-api.js'
import type { AccelerateInfo, CacheInfo } from './extension/cache-info.js'
import type { CacheStrategy, StrategyClass } from './options.js'

/** The per-query option the extension adds to reads: seconds, as in Accelerate, or `false`. */
export interface CacheStrategyArg {
  /** `false` bypasses the cache for this query; `{ ttl, swr, tags }` overrides the model's strategy. */
  readonly cacheStrategy?: CacheStrategy | false
}

/** What a cached read returns: a PrismaPromise with `withCacheInfo()`. */
export interface CachePromise<T> extends Types.Public.PrismaPromise<T> {
  /** Resolves to `{ data, info }`; `info.cacheStatus` is `hit`, `swr`, `miss` or `none`. */
  withCacheInfo(): Promise<{
    /** The query's result. */
    data: T
    /** How the cache answered. */
    info: CacheInfo
  }>
  /** The same in Prisma Accelerate's shape: `info.cacheStatus` is `ttl`, `swr`, `miss` or `none`. */
  withAccelerateInfo(): Promise<{
    /** The query's result. */
    data: T
    /** How the cache answered, in Accelerate's terms. */
    info: AccelerateInfo
  }>
}

type Args<This, Op extends Types.Public.Operation> = Types.Public.Args<This, Op> & CacheStrategyArg
type Result<This, A, Op extends Types.Public.Operation> = Types.Public.Result<This, A, Op>
type Subset<T, U> = { [K in keyof T]: K extends keyof U ? T[K] : never }
type SelectSubset<T, U> = Subset<T, U> &
  (T extends { select: unknown; include: unknown }
    ? 'Please either choose `select` or `include`.'
    : T extends { select: unknown; omit: unknown }
      ? 'Please either choose `select` or `omit`.'
      : unknown)

/** The read methods, as they appear on every model delegate of an extended client. */
export interface CachedReadMethods {
  /** Prisma's `findUnique`, cached per the model's strategy and `cacheStrategy`. */
  findUnique<This, A extends Args<This, 'findUnique'>, const R extends A>(
    this: This,
    args: SelectSubset<R, A>,
  ): CachePromise<Result<This, R, 'findUnique'> | null>
  /** Prisma's `findUniqueOrThrow`, cached. */
  findUniqueOrThrow<This, A extends Args<This, 'findUniqueOrThrow'>, const R extends A>(
    this: This,
    args: SelectSubset<R, A>,
  ): CachePromise<Result<This, R, 'findUniqueOrThrow'>>
  /** Prisma's `findFirst`, cached. */
  findFirst<This, A extends Args<This, 'findFirst'>, const R extends A>(
    this: This,
    args?: SelectSubset<R, A>,
  ): CachePromise<Result<This, R, 'findFirst'> | null>
  /** Prisma's `findFirstOrThrow`, cached. */
  findFirstOrThrow<This, A extends Args<This, 'findFirstOrThrow'>, const R extends A>(
    this: This,
    args?: SelectSubset<R, A>,
  ): CachePromise<Result<This, R, 'findFirstOrThrow'>>
  /** Prisma's `findMany`, cached. */
  findMany<This, A extends Args<This, 'findMany'>, const R extends A>(
    this: This,
    args?: SelectSubset<R, A>,
  ): CachePromise<Result<This, R, 'findMany'>>
  /** Prisma's `count`, cached. */
  count<This, A extends Args<This, 'count'>, const R extends A>(
    this: This,
    args?: Subset<R, A>,
  ): CachePromise<Result<This, R, 'count'>>
  /** Prisma's `aggregate`, cached. */
  aggregate<This, A extends Args<This, 'aggregate'>, const R extends A>(
    this: This,
    args: Subset<R, A>,
  ): CachePromise<Result<This, R, 'aggregate'>>
  /** Prisma's `groupBy`, cached. */
  groupBy<This, A extends Args<This, 'groupBy'>, const R extends A>(
    this: This,
    args: Subset<R, A>,
  ): CachePromise<Result<This, R, 'groupBy'>>
}

/** `prisma.$cache`. */
export interface CacheClientApi {
  /** Invalidates every cached read carrying any of `tags` (given in `cacheStrategy.tags`). */
  invalidate(input: { tags: readonly string[] }): Promise<void>
  /** Invalidates every cached read of this client (its namespace), on every instance. */
  invalidateAll(): Promise<void>
  /** Queries, hits, misses and latency percentiles per model and operation. */
  stats(): PrismaCacheStats
  /** The strategy classes: each one's TTL in ms and the models whose cached reads it holds. */
  classes(): Record<
    StrategyClass,
    {
      /** The class's TTL, ms. */
      ttlMs: number
      /** The models it holds. */
      models: string[]
    }
  >
  /** Invalidates every cached read of the models a strategy class holds. */
  invalidateClass(name: StrategyClass): Promise<void>
  /** The change feed (`changeFeed` option), `undefined` when it is off. */
  readonly changeFeed: ChangeFeedApi | undefined
}

/** `prisma.$accelerate`, as Prisma Accelerate's extension has it. */
export interface AccelerateClientApi {
  /** Invalidates every cached read carrying any of `tags` (1 to 5; letters, digits, `_`). */
  invalidate(input: { tags: readonly string[] }): Promise<void>
  /** Invalidates every cached read of this client. */
  invalidateAll(): Promise<void>
}

/** No result or query extensions: Prisma's own spelling of "nothing" in `InternalArgs`. */
type None = Record<never, never>

/** The extension `withCache` returns, as `$extends` sees it. */
export type WithCacheExtension = (client: unknown) => PrismaClientExtends<
  Types.Extensions.InternalArgs<
    None,
    {
      /** The cached read methods, on every model. */
      $allModels: CachedReadMethods
    },
    None,
    {
      /** The cache's API on the client. */
      $cache: CacheClientApi
      /** The same, in Prisma Accelerate's shape. */
      $accelerate: AccelerateClientApi
    }
  > &
    Types.Extensions.DefaultArgs
>

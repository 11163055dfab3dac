/**
 * What a cached read method returns: a lazy, PrismaPromise-compatible thenable. It runs once,
 * when first awaited, and answers from the cache without entering Prisma's request pipeline (which
 * alone costs tens of microseconds per call). It still works where Prisma expects its own
 * promises: in `$transaction([...])` (it hands Prisma the real query, which then bypasses the
 * cache), and with the fluent API (`prisma.user.findUnique(...).posts()`, resolved by Prisma's
 * own query through the extension's hook, cached there).
 */
import type { PrismaPromiseLike } from '../prisma-internals.js'
import type { ModelNode } from '../schema/model-graph.js'
import { type AccelerateInfo, accelerateInfo, type CacheInfo, newCacheInfo } from './cache-info.js'

/** What a query needs of the extension: run itself, or hand over the equivalent Prisma query. */
export interface QueryRunner {
  /**
   * Runs the read through the cache, filling `info`; `counted`: the call was already counted for
   * N+1 detection when it was made.
   */
  run(
    operation: string,
    args: Record<string, unknown> | undefined,
    info: CacheInfo,
    counted: boolean,
  ): Promise<unknown>
  /** Prisma's own (uncached) query for the same call, as a PrismaPromise. */
  prismaQuery(operation: string, args: Record<string, unknown> | undefined): PrismaPromiseLike
}

export type { PrismaPromiseLike }

const UNREAD_INFO = newCacheInfo()

/** A cached read. `await` it for the data, or call `withCacheInfo()` for `{ data, info }`. */
export class CachedQuery implements PromiseLike<unknown> {
  readonly #runner: QueryRunner
  readonly #operation: string
  readonly #args: Record<string, unknown> | undefined
  readonly #counted: boolean
  #result: Promise<unknown> | undefined

  constructor(
    runner: QueryRunner,
    operation: string,
    args: Record<string, unknown> | undefined,
    counted: boolean,
  ) {
    this.#runner = runner
    this.#operation = operation
    this.#args = args
    this.#counted = counted
  }

  // biome-ignore lint/suspicious/noThenProperty: a thenable is what Prisma's query methods return
  then<A = unknown, B = never>(
    onFulfilled?: ((value: unknown) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.#run().then(onFulfilled, onRejected)
  }

  catch<B = never>(
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<unknown> {
    return this.#run().catch(onRejected)
  }

  finally(onFinally?: (() => void) | null): Promise<unknown> {
    return this.#run().finally(onFinally)
  }

  get [Symbol.toStringTag](): string {
    return 'PrismaPromise'
  }

  /** `$transaction([...])`: the real query runs in the batch, without the cache (guarantee 7). */
  requestTransaction(transaction: unknown): PromiseLike<unknown> {
    const query = this.#runner.prismaQuery(this.#operation, this.#args)
    return query.requestTransaction?.(transaction) ?? query
  }

  get spec(): unknown {
    return this.#runner.prismaQuery(this.#operation, this.#args).spec
  }

  /**
   * The data and how the cache answered: `{ data, info: { cacheStatus: 'hit' | 'swr' | 'miss' |
   * 'none', tier, key, ttl, tags, durationMs } }`.
   *
   * @example
   * ```ts
   * const { data, info } = await prisma.product.findMany({ take: 10 }).withCacheInfo()
   * if (info.cacheStatus === 'hit') metrics.cacheHits.inc()
   * ```
   */
  withCacheInfo(): Promise<{ data: unknown; info: CacheInfo }> {
    const info = newCacheInfo()
    return this.#runner
      .run(this.#operation, this.#args, info, this.#counted)
      .then((data) => ({ data, info }))
  }

  /**
   * `withCacheInfo()` in Prisma Accelerate's shape, so code written for Accelerate runs
   * unchanged: `{ data, info: { cacheStatus: 'ttl' | 'swr' | 'miss' | 'none', lastModified,
   * region, requestId, signature } }`.
   *
   * @example
   * ```ts
   * const { data, info } = await prisma.user.findMany({ cacheStrategy: { ttl: 60 } }).withAccelerateInfo()
   * if (info.cacheStatus === 'ttl') console.log('fresh from the cache')
   * ```
   */
  withAccelerateInfo(): Promise<{ data: unknown; info: AccelerateInfo }> {
    return this.withCacheInfo().then(({ data, info }) => ({ data, info: accelerateInfo(info) }))
  }

  /** A relation of the fluent API, resolved by Prisma's own query. */
  protected fluent(relation: string, args: unknown): unknown {
    const query = this.#runner.prismaQuery(this.#operation, this.#args)
    return (query[relation] as (args: unknown) => unknown)(args)
  }

  #run(): Promise<unknown> {
    // Nobody reads the info of a plain `await`: one scratch object serves them all.
    this.#result ??= this.#runner.run(this.#operation, this.#args, UNREAD_INFO, this.#counted)
    return this.#result
  }
}

/**
 * A `CachedQuery` class for one model with a method per relation field, so that the fluent API
 * (`findUnique(...).reviews()`) works as on Prisma's own promises. Built once per model.
 */
export function cachedQueryClass(node: ModelNode): typeof CachedQuery {
  class ModelQuery extends CachedQuery {}
  for (const relation of node.relations.keys()) {
    if (relation in CachedQuery.prototype) continue
    Object.defineProperty(ModelQuery.prototype, relation, {
      value(this: ModelQuery, args: unknown) {
        return this.fluent(relation, args)
      },
    })
  }
  return ModelQuery
}

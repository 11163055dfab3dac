import { AsyncLocalStorage } from 'node:async_hooks'
import { invalid } from '../../errors.js'

/** Options of {@link runWithQueryContext}. */
export interface QueryContextOptions {
  /** Shown in N+1 reports, e.g. `'GET /orders'`. */
  name?: string
}

/**
 * One request's (or job's) worth of Prisma calls, as seen by the N+1 detector. Each detector
 * keeps its own state in it, so two clients with their own metrics do not mix their counts.
 */
export class QueryContext {
  /** The name given to {@link runWithQueryContext}. */
  readonly name: string | undefined
  /** Prisma calls that went to the database in this context (misses and uncached calls). */
  queries = 0
  /** Time those calls spent in the database, ms. */
  dbTimeMs = 0
  /** Prisma reads answered by the cache (fresh or stale-while-revalidate). */
  cacheHits = 0
  /** Prisma reads the cache could not answer (the database was queried). */
  cacheMisses = 0
  // The common case is one detector: a slot pair, with a map only for a second one.
  #owner: object | undefined = undefined
  #state: unknown = undefined
  #others: Map<object, unknown> | undefined = undefined

  constructor(name: string | undefined) {
    this.name = name
  }

  /**
   * The state `owner` stored in this context, if any.
   *
   * @example
   * ```ts
   * const mine = context.get(detector) as MyState | undefined
   * ```
   */
  get(owner: object): unknown {
    if (this.#owner === owner) return this.#state
    return this.#others?.get(owner)
  }

  /**
   * Stores `owner`'s state in this context.
   *
   * @example
   * ```ts
   * context.set(detector, new MyState())
   * ```
   */
  set(owner: object, state: unknown): void {
    if (this.#owner === undefined || this.#owner === owner) {
      this.#owner = owner
      this.#state = state
      return
    }
    this.#others ??= new Map()
    this.#others.set(owner, state)
  }
}

const storage = new AsyncLocalStorage<QueryContext>()

/**
 * Runs `fn` in a new query context: Prisma calls made inside it, however deep and across every
 * `await`, are counted together for N+1 detection, and a shape repeated `threshold` times is
 * reported once per context. Wrap each web request or job in one. Returns what `fn` returns.
 *
 * @example
 * ```ts
 * app.use((req, res, next) => runWithQueryContext(next, { name: `${req.method} ${req.path}` }))
 * // or
 * await runWithQueryContext(() => handleOrder(orderId), { name: 'order-job' })
 * ```
 */
export function runWithQueryContext<T>(fn: () => T, options: QueryContextOptions = {}): T {
  if (typeof fn !== 'function') throw invalid('fn', `must be a function, got ${typeof fn}`)
  if (typeof options !== 'object' || options === null) {
    throw invalid('options', 'must be an object')
  }
  if (options.name !== undefined && typeof options.name !== 'string') {
    throw invalid('options.name', `must be a string, got ${typeof options.name}`)
  }
  return storage.run(new QueryContext(options.name), fn)
}

/**
 * The query context the caller runs in, or `undefined` outside {@link runWithQueryContext}.
 *
 * @example
 * ```ts
 * currentQueryContext()?.name // 'GET /orders'
 * ```
 */
export function currentQueryContext(): QueryContext | undefined {
  return storage.getStore()
}

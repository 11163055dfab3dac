/**
 * The query context of a request or job ({@link runWithQueryContext}), and its middleware form for
 * development ({@link queryHeaders}): what each request cost the database and what the cache saved
 * it, on the response itself, so a developer sees it in the browser's network panel.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { invalid } from '../../errors.js'
import { checkBoolean, checkObject } from '../../option-checks.js'

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

/** Options of {@link queryHeaders}. */
export interface QueryHeadersOptions {
  /**
   * Whether headers are added. Off in production, where they would tell anyone how the
   * application queries its database.
   * @default process.env.NODE_ENV !== 'production'
   */
  enabled?: boolean
}

/**
 * Express / `node:http` middleware that runs each request in its own query context (as
 * `runWithQueryContext`, named `GET /path` for N+1 reports) and adds, when the response starts:
 *
 * - `x-db-queries`: Prisma calls that went to the database (cache misses and uncached calls);
 * - `x-db-time-ms`: the time they spent in it;
 * - `x-cache-hits` / `x-cache-misses`: Prisma reads the cache answered, or could not.
 *
 * Counted by the query metrics of clients extended with `withCache` (or `withQueryMetrics`).
 * Work done after the headers went out (a streamed body) is not in them.
 *
 * @example `app.use(queryHeaders())` // before the routes
 */
export function queryHeaders(
  options: QueryHeadersOptions = {},
): (req: IncomingMessage, res: ServerResponse, next: () => void) => void {
  checkObject(options, 'options', ['enabled'])
  checkBoolean(options.enabled, 'options.enabled')
  const enabled = options.enabled ?? process.env.NODE_ENV !== 'production'
  if (!enabled) return (_req, _res, next) => next()
  return (req, res, next) => {
    const name = `${req.method ?? 'GET'} ${(req.url ?? '/').split('?')[0]}`
    runWithQueryContext(
      () => {
        const context = currentQueryContext()!
        const writeHead = res.writeHead
        // writeHead is where every response starts (res.end and res.write call it too).
        res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
          if (!res.headersSent) {
            res.setHeader('x-db-queries', String(context.queries))
            res.setHeader('x-db-time-ms', context.dbTimeMs.toFixed(1))
            res.setHeader('x-cache-hits', String(context.cacheHits))
            res.setHeader('x-cache-misses', String(context.cacheMisses))
          }
          return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args)
        } as typeof res.writeHead
        next()
      },
      { name },
    )
  }
}

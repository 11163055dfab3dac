/**
 * Development response headers: what each request cost the database and what the cache saved
 * it, on the response itself, so a developer sees it in the browser's network panel.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { checkBoolean, checkObject } from '../option-checks.js'
import { currentQueryContext, runWithQueryContext } from '../prisma/metrics/query-context.js'

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

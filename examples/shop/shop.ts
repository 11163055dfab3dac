/**
 * The shop's life cycle: bind the port, open the database, seed it when empty, serve, and shut it
 * all down in order. The port is bound first so that a port already taken fails the start at
 * once rather than after the seed; until the app is ready, requests get a 503.
 */
import { createHash, randomBytes } from 'node:crypto'
import { createServer, type RequestListener, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { hostname } from 'node:os'
import type { CacheManager } from '../../src/index.js'
import { createShopApp } from './app.js'
import type { ShopConfig } from './config.js'
import { openDatabase, type ShopDatabase } from './database.js'
import { needsSeed, type SeedSummary, seedShop } from './seed.js'

export interface StartShopOptions {
  readonly config: ShopConfig
  /** The cache to use; the shop closes it when it closes. */
  readonly cache: CacheManager
  /** Progress messages and one line per request; silent when absent. */
  readonly log?: (line: string) => void
}

export interface RunningShop {
  /** The base URL, with the port actually bound (PORT=0 picks a free one). */
  readonly url: string
  readonly database: Pick<ShopDatabase, 'kind' | 'description'>
  /** What the seed wrote, when this start seeded the database. */
  readonly seed: SeedSummary | undefined
  /** From the call to listening with the app ready, seed included, in milliseconds. */
  readonly startupMs: number
  /** The admin token of the `/ops` endpoints (STRATACACHE_ADMIN_TOKEN, or one made for this run). */
  readonly adminToken: string
  /** Stops accepting requests, lets those in flight finish, then closes the cache and database. */
  close(): Promise<void>
}

/** How long requests in flight may take to finish once shutting down. */
const DRAIN_MS = 5_000

export async function startShop({ config, cache, log }: StartShopOptions): Promise<RunningShop> {
  const started = performance.now()
  let handle: RequestListener = answerStarting
  const server = createServer((req, res) => handle(req, res))
  let database: ShopDatabase | undefined
  try {
    await listen(server, config.port, config.host)
    log?.(
      config.database.kind === 'pglite'
        ? 'opening the embedded database (PGlite: seconds, more the first time, which creates it)...'
        : 'connecting to PostgreSQL...',
    )
    database = await openDatabase(config.database)
    let seed: SeedSummary | undefined
    if (await needsSeed(database.prisma)) {
      log?.(`empty database: seeding ${config.seedProducts.toLocaleString('en')} products...`)
      seed = await seedShop(database.prisma, { products: config.seedProducts })
    }
    // A token made for this run unless one is set: the dashboard's actions work out of the box,
    // and only for whoever sees the banner.
    const adminToken = process.env.STRATACACHE_ADMIN_TOKEN ?? randomBytes(18).toString('base64url')
    const app = createShopApp({
      prisma: database.prisma,
      cache,
      adminToken,
      database: database.description,
      namespace: namespaceOf(config.database),
      onResponse: (r) =>
        log?.(`${r.method} ${r.url} -> ${r.status} (x-cache: ${r.cache}) ${r.ms.toFixed(1)} ms`),
      onError: (error) => console.error('request failed:', error),
    })
    handle = app.listener
    const opened = database
    return {
      url: urlOf(server, config.host),
      database: { kind: opened.kind, description: opened.description },
      seed,
      startupMs: performance.now() - started,
      adminToken,
      close: async () => {
        await stopServer(server)
        await cache.close()
        await opened.close()
      },
    }
  } catch (error) {
    // Undo what was opened; the error that stopped the start is the one worth reporting.
    const ignore = () => {}
    await stopServer(server).catch(ignore)
    await cache.close().catch(ignore)
    await database?.close().catch(ignore)
    throw error
  }
}

/**
 * One cache namespace per database: every shop on one PostgreSQL database shares its results,
 * while two embedded databases (on two machines, or two data directories) sharing a Redis keep
 * theirs apart.
 */
function namespaceOf(database: ShopConfig['database']): string {
  if (database.kind === 'postgresql') return 'shop'
  const where = createHash('sha256').update(`${hostname()}:${database.dataDir}`).digest('hex')
  return `shop-pglite-${where.slice(0, 12)}`
}

const STARTING = {
  error: 'starting',
  message: 'the shop is opening and seeding its database; try again in a few seconds',
}

const answerStarting: RequestListener = (_req, res) => {
  res.writeHead(503, { 'content-type': 'application/json; charset=utf-8', 'retry-after': '5' })
  res.end(`${JSON.stringify(STARTING)}\n`)
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') {
        reject(
          new Error(
            `port ${port} on ${host} is already in use (another \`npm start\`?). ` +
              `Stop it, or choose another port: PORT=${port + 1} npm start`,
          ),
        )
      } else if (error.code === 'EACCES') {
        reject(
          new Error(
            `not allowed to listen on port ${port}; choose one above 1023: PORT=3000 npm start`,
          ),
        )
      } else {
        reject(error)
      }
    }
    server.once('error', fail)
    server.listen(port, host, () => {
      server.off('error', fail)
      resolve()
    })
  })
}

async function stopServer(server: Server): Promise<void> {
  if (!server.listening) return
  const closed = new Promise<void>((resolve) => server.close(() => resolve()))
  // close() waits for open connections; idle keep-alive ones are closed now, busy ones get
  // DRAIN_MS to finish their request before they are cut.
  server.closeIdleConnections()
  const timer = setTimeout(() => server.closeAllConnections(), DRAIN_MS)
  await closed
  clearTimeout(timer)
}

function urlOf(server: Server, host: string): string {
  const { port } = server.address() as AddressInfo
  // A wildcard address is not one to type in a browser.
  const shown =
    host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host
  return `http://${shown}:${port}`
}

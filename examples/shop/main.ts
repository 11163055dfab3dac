/**
 * `npm start`: the shop demo. With no environment it runs on an embedded PostgreSQL (PGlite) and
 * an in-process cache; DATABASE_URL and REDIS_URL switch to real servers. Other settings: PORT
 * (3000), HOST (127.0.0.1), SHOP_DATA_DIR (PGlite's directory, or memory://), SHOP_SEED_PRODUCTS
 * (10000), and the cache's own CACHE_* variables.
 */
import { CacheManager, cacheOptionsFromEnv } from '../../src/index.js'
import { startupBanner } from './banner.js'
import { shopConfigFromEnv } from './config.js'
import { type RunningShop, startShop } from './shop.js'

let shop: RunningShop
try {
  const config = shopConfigFromEnv(process.env)
  // The shop's keys get a prefix of their own in a shared Redis, unless CACHE_PREFIX says otherwise.
  const cacheOptions = { prefix: 'shop:', ...cacheOptionsFromEnv(process.env) }
  shop = await startShop({ config, cache: new CacheManager(cacheOptions), log: console.log })
  console.log(startupBanner(shop, cacheOptions))
} catch (error) {
  console.error(`\nThe shop could not start: ${(error as Error).message}`)
  process.exit(1)
}

// Process managers relay signals (npm, tsx and `timeout` each pass Ctrl-C on), so one Ctrl-C can
// arrive several times: later signals are ignored rather than taken as "stop harder". Closing is
// bounded anyway: requests in flight get a few seconds, then their connections are cut.
let stopping = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return
    stopping = true
    console.log(`\n${signal}: finishing requests in flight, then closing the cache and database...`)
    shop.close().then(
      () => console.log('stopped.'),
      (error: unknown) => {
        console.error('error while stopping:', error)
        process.exitCode = 1
      },
    )
  })
}

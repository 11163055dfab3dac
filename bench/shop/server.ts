/**
 * One shop server for the load benchmark (forked by `bench/shop/load.ts`): the demo as
 * `npm start` runs it, silent, on the PostgreSQL schema and cache the parent chose; it sends its
 * URL once it listens, and stops on `close`.
 */
import { shopConfigFromEnv } from '../../examples/shop/config.js'
import { startShop } from '../../examples/shop/shop.js'
import { CacheManager, cacheOptionsFromEnv } from '../../src/index.js'

const config = shopConfigFromEnv(process.env)
const cache = new CacheManager({ prefix: 'shop-bench:', ...cacheOptionsFromEnv(process.env) })
const shop = await startShop({ config, cache })
process.send?.({ url: shop.url, adminToken: shop.adminToken })
process.on('message', (message: { type: string }) => {
  if (message.type === 'close') void shop.close().then(() => process.exit(0))
})
process.on('disconnect', () => void shop.close().then(() => process.exit(0)))

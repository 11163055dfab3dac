/**
 * The shop demo's embedded default: no DATABASE_URL, so PGlite in memory, from an empty database
 * to shutdown, through real HTTP.
 */
import { describe, expect, it } from 'vitest'
import { shopConfigFromEnv } from '../../examples/shop/config.js'
import { startShop } from '../../examples/shop/shop.js'
import { CacheManager } from '../../src/index.js'
import { client, type ProductDetail, type ProductPage } from '../support/shop-http.js'

describe('shop demo with no DATABASE_URL', () => {
  it('runs on embedded PGlite, from an empty database to shutdown', async () => {
    const config = shopConfigFromEnv({
      PORT: '0',
      SHOP_DATA_DIR: 'memory://',
      SHOP_SEED_PRODUCTS: '40',
    })
    expect(config.database.kind).toBe('pglite')
    const shop = await startShop({ config, cache: new CacheManager() })
    try {
      const call = client(() => shop.url)
      expect(shop.seed?.products).toBe(40)
      const list = await call<ProductPage>('GET', '/products?pageSize=5')
      expect(list.body.data).toHaveLength(5)
      expect((await call('GET', '/products/3')).cache).toBe('miss')
      expect((await call('GET', '/products/3')).cache).toBe('hit')
      expect((await call('PATCH', '/products/3', { price: 9.5, stock: 5 })).status).toBe(200)
      const order = await call('POST', '/orders', {
        userId: 1,
        items: [{ productId: 3, quantity: 2 }],
      })
      expect(order.status).toBe(201)
      const after = await call<ProductDetail>('GET', '/products/3')
      expect(after.body).toMatchObject({ price: '9.50', inventory: { stock: 3 } })
      expect(
        (await call('POST', '/orders', { userId: 1, items: [{ productId: 3, quantity: 4 }] }))
          .status,
      ).toBe(409)
      expect((await call<ProductDetail>('GET', '/products/3')).body.inventory.stock).toBe(3)
    } finally {
      await shop.close()
    }
  }, 120_000)
})

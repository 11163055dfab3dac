/**
 * `GET /`: what the service offers, with an example for each endpoint. The start-up banner prints
 * the same examples as curl commands.
 */
import type { Router } from '../http.js'

export interface EndpointDoc {
  readonly method: 'GET' | 'POST' | 'PATCH'
  readonly path: string
  readonly description: string
  /** A path (and query) to try, relative to the base URL. */
  readonly example: string
  /** The JSON body of the example, for POST and PATCH. */
  readonly body?: unknown
  /** Worth trying with its headers, twice: x-cache goes from miss to hit. */
  readonly showsCache?: boolean
}

export const ENDPOINTS: readonly EndpointDoc[] = [
  {
    method: 'GET',
    path: '/products',
    description:
      'Active products, paginated. Query: page, pageSize (≤ 100), category (slug), minPrice, ' +
      'maxPrice, featured (true|false), sort (newest|price_asc|price_desc|name|popular)',
    example: '/products?category=audio&maxPrice=100&sort=price_asc&pageSize=5',
  },
  {
    method: 'GET',
    path: '/products/search',
    description: 'Case-insensitive search in name, description and SKU. Query: q, page, pageSize',
    example: '/products/search?q=nimbus&pageSize=5',
  },
  {
    method: 'GET',
    path: '/products/:id',
    description: 'A product with its category, stock, tags, rating and 5 latest reviews',
    example: '/products/42',
    showsCache: true,
  },
  {
    method: 'PATCH',
    path: '/products/:id',
    description: "Change a product's price, stock or both: { price?, stock? }",
    example: '/products/42',
    body: { price: 24.99, stock: 30 },
  },
  {
    method: 'POST',
    path: '/orders',
    description:
      'Place an order in one transaction: { userId, items: [{ productId, quantity }] }; ' +
      '409 when stock is short, and then nothing changes',
    example: '/orders',
    body: { userId: 1, items: [{ productId: 42, quantity: 2 }] },
  },
  {
    method: 'GET',
    path: '/categories',
    description: 'The category tree, with the slugs /products?category= takes',
    example: '/categories',
  },
  {
    method: 'GET',
    path: '/stats',
    description: 'Cache counters and per-query statistics',
    example: '/stats',
  },
]

export function registerHomeRoutes(router: Router, { database }: { database: string }): void {
  router.get('/', async () => ({
    body: {
      service: 'stratacache shop demo',
      database,
      note: 'every response has an x-cache header (hit, miss, swr or none): try curl -i twice',
      endpoints: ENDPOINTS,
    },
  }))
}

/**
 * The category tree with product counts, to find the slugs `GET /products?category=` takes.
 * Categories are reference data: the extension keeps them five minutes (and drops them at once
 * when one changes).
 */
import { readWithCacheStatus } from '../cache-info.js'
import type { ShopPrisma } from '../cached-client.js'
import type { Router } from '../http.js'

export function registerCategoryRoutes(router: Router, prisma: ShopPrisma): void {
  router.get('/categories', async () => {
    const { data, cacheStatus } = await readWithCacheStatus(
      prisma.category.findMany({
        where: { parentId: null },
        orderBy: { id: 'asc' },
        select: {
          id: true,
          slug: true,
          name: true,
          children: {
            orderBy: { id: 'asc' },
            select: { id: true, slug: true, name: true, _count: { select: { products: true } } },
          },
        },
      }),
    )
    const tree = data.map(({ children, ...category }) => ({
      ...category,
      children: children.map(({ _count, ...child }) => ({ ...child, products: _count.products })),
    }))
    return { body: tree, cache: cacheStatus }
  })
}

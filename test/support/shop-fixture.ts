import type { PrismaClient } from '../../prisma/generated/client.js'

/**
 * A small shop in the test schema, the same every time: a category tree, products with tags,
 * inventory and reviews, users with orders. Ids are those PostgreSQL assigns in a fresh schema.
 */
export async function seedShop(prisma: PrismaClient): Promise<void> {
  await prisma.category.create({ data: { name: 'Audio', slug: 'audio' } })
  await prisma.category.create({ data: { name: 'Cables', slug: 'cables', parentId: 1 } })
  await prisma.category.create({ data: { name: 'Video', slug: 'video' } })
  for (const name of ['new', 'sale', 'gold']) await prisma.tag.create({ data: { name } })
  for (let i = 1; i <= 6; i++) {
    await prisma.product.create({
      data: {
        sku: `SKU-${i}`,
        name: `Product ${i}`,
        price: `${i * 10}.50`,
        featured: i % 2 === 0,
        category: { connect: { id: ((i - 1) % 3) + 1 } },
        inventory: { create: { stock: i * 5 } },
        tags: { connect: [{ id: (i % 3) + 1 }] },
      },
    })
  }
  for (let i = 1; i <= 3; i++) {
    await prisma.user.create({ data: { email: `user${i}@shop.test`, name: `User ${i}` } })
  }
  for (let i = 1; i <= 4; i++) {
    await prisma.review.create({
      data: { productId: i, userId: (i % 3) + 1, rating: (i % 5) + 1, body: `Review ${i}` },
    })
  }
  await prisma.order.create({
    data: {
      userId: 1,
      totalCents: 3100,
      items: {
        create: [
          { productId: 1, quantity: 1, priceCents: 1050 },
          { productId: 2, quantity: 1, priceCents: 2050 },
        ],
      },
    },
  })
}

/** Values as a test compares them: Decimals as their text, everything else as is. */
export function comparable(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? `${v}n` : v)))
}

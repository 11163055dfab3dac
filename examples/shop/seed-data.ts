/**
 * Generates the demo's data set in memory, deterministically: the same options give the same rows,
 * ids included, on every machine. Writing it to the database is seed.ts's job.
 */
import type { OrderStatus, Prisma } from '../../prisma/generated/client.js'
import {
  ADJECTIVES,
  BRANDS,
  CATEGORY_TREE,
  FEATURES,
  FIRST_NAMES,
  LAST_NAMES,
  type LeafCategory,
  REVIEW_BODIES,
  TAGS,
} from './catalog-words.js'
import { Random } from './random.js'

export interface SeedDataOptions {
  /** Number of products; users, reviews and orders scale with it. */
  readonly products: number
  /** Seed of the pseudo-random generator; change it for another, equally reproducible catalog. */
  readonly seed?: number
}

export interface SeedData {
  readonly topCategories: Prisma.CategoryCreateManyInput[]
  readonly leafCategories: Prisma.CategoryCreateManyInput[]
  readonly tags: Prisma.TagCreateManyInput[]
  readonly products: Prisma.ProductCreateManyInput[]
  readonly inventory: Prisma.InventoryCreateManyInput[]
  /** Rows of the implicit many-to-many table between products and tags. */
  readonly productTags: { productId: number; tagId: number }[]
  readonly users: Prisma.UserCreateManyInput[]
  readonly reviews: Prisma.ReviewCreateManyInput[]
  readonly orders: Prisma.OrderCreateManyInput[]
  readonly orderItems: Prisma.OrderItemCreateManyInput[]
}

/** A fixed start date rather than "now", so that timestamps are reproducible too. */
const CATALOG_START = Date.UTC(2025, 0, 1)
const DAY = 86_400_000
const CATALOG_SPAN = 365 * DAY

const ORDER_STATUSES: readonly OrderStatus[] = [
  ...Array<OrderStatus>(12).fill('SHIPPED'),
  ...Array<OrderStatus>(4).fill('PAID'),
  ...Array<OrderStatus>(3).fill('PENDING'),
  'CANCELLED',
]

export function generateSeedData({
  products: productCount,
  seed = 2026,
}: SeedDataOptions): SeedData {
  const random = new Random(seed)
  const categories = generateCategories()
  const tags = TAGS.map((name, i) => ({ id: i + 1, name }))
  const users = generateUsers(random, Math.min(2_000, Math.max(50, Math.round(productCount / 20))))

  const products: Prisma.ProductCreateManyInput[] = []
  const inventory: Prisma.InventoryCreateManyInput[] = []
  const productTags: SeedData['productTags'] = []
  const productDates: Date[] = []
  /** Price in cents of each active product, for the seeded orders. */
  const activePrices = new Map<number, number>()
  for (let id = 1; id <= productCount; id++) {
    const { leafId, leaf } = random.pick(categories.leaves)
    const brand = random.pick(BRANDS)
    const noun = random.pick(leaf.nouns)
    const [min, max] = leaf.price
    // Prices end in .99 or .49, as shops like them.
    const priceCents = random.int(min, max) * 100 + random.pick([99, 49, -1])
    const createdAt = new Date(CATALOG_START + Math.floor(random.next() * CATALOG_SPAN))
    const isActive = random.chance(0.97)
    productDates.push(createdAt)
    products.push({
      id,
      sku: `${leaf.slug.slice(0, 3).toUpperCase()}-${String(id).padStart(6, '0')}`,
      name: `${brand} ${random.pick(ADJECTIVES)} ${noun} ${brand.charAt(0)}${random.int(100, 999)}`,
      description: `${withArticle(random.pick(ADJECTIVES).toLowerCase())} ${noun.toLowerCase()} by ${brand}, ${random.pick(FEATURES)}.`,
      price: (priceCents / 100).toFixed(2),
      isActive,
      featured: random.chance(0.04),
      viewCount: random.int(0, 5_000),
      categoryId: leafId,
      createdAt,
      updatedAt: createdAt,
    })
    inventory.push({
      productId: id,
      stock: random.chance(0.08) ? 0 : random.int(1, 250),
      updatedAt: createdAt,
    })
    for (const tag of random.sample(tags, random.int(0, 3))) {
      productTags.push({ productId: id, tagId: tag.id })
    }
    if (isActive) activePrices.set(id, priceCents)
  }

  return {
    topCategories: categories.top,
    leafCategories: categories.leaves.map(({ leafId, leaf, parentId }) => ({
      id: leafId,
      name: leaf.name,
      slug: leaf.slug,
      parentId,
    })),
    tags,
    products,
    inventory,
    productTags,
    users,
    reviews: generateReviews(random, productDates, users.length),
    ...generateOrders(
      random,
      activePrices,
      users.length,
      Math.max(20, Math.round(productCount / 10)),
    ),
  }
}

/** "A compact", "An eco": the article English wants before the word. */
function withArticle(word: string): string {
  return `${/^[aeiou]/i.test(word) ? 'An' : 'A'} ${word}`
}

function generateCategories() {
  const top: Prisma.CategoryCreateManyInput[] = []
  const leaves: { leafId: number; parentId: number; leaf: LeafCategory }[] = []
  // Parents take the first ids so that the tree reads naturally: 1 = Audio, 2 = Computing...
  let nextLeafId = CATEGORY_TREE.length + 1
  for (const [index, parent] of CATEGORY_TREE.entries()) {
    const parentId = index + 1
    top.push({ id: parentId, name: parent.name, slug: parent.slug })
    for (const leaf of parent.children) leaves.push({ leafId: nextLeafId++, parentId, leaf })
  }
  return { top, leaves }
}

function generateUsers(random: Random, count: number): Prisma.UserCreateManyInput[] {
  return Array.from({ length: count }, (_, index) => {
    const id = index + 1
    const first = random.pick(FIRST_NAMES)
    const last = random.pick(LAST_NAMES)
    return {
      id,
      email: `${first}.${last}.${id}@example.com`.toLowerCase(),
      name: `${first} ${last}`,
      // One administrator, the first user, so the role enum has both values in the data.
      role: id === 1 ? 'ADMIN' : 'CUSTOMER',
      createdAt: new Date(CATALOG_START + Math.floor(random.next() * CATALOG_SPAN)),
    }
  })
}

/** Reviews for about 40 % of the products; `productDates[i]` is when product `i + 1` was created. */
function generateReviews(
  random: Random,
  productDates: readonly Date[],
  userCount: number,
): Prisma.ReviewCreateManyInput[] {
  const userIds = Array.from({ length: userCount }, (_, i) => i + 1)
  const reviews: Prisma.ReviewCreateManyInput[] = []
  for (const [index, productCreated] of productDates.entries()) {
    if (!random.chance(0.4)) continue
    // Distinct reviewers: a user reviews a product at most once (a unique constraint says so).
    for (const userId of random.sample(userIds, random.int(1, 8))) {
      // Ratings lean positive, as they do in real shops.
      const rating = random.pick([1, 2, 3, 3, 4, 4, 4, 5, 5, 5])
      reviews.push({
        id: reviews.length + 1,
        productId: index + 1,
        userId,
        rating,
        body: random.pick(REVIEW_BODIES[rating - 1] ?? []),
        createdAt: new Date(
          productCreated.getTime() + random.int(1, 90) * DAY - random.int(0, DAY),
        ),
      })
    }
  }
  return reviews
}

function generateOrders(
  random: Random,
  activePrices: ReadonlyMap<number, number>,
  userCount: number,
  orderCount: number,
) {
  const orders: Prisma.OrderCreateManyInput[] = []
  const orderItems: Prisma.OrderItemCreateManyInput[] = []
  const activeIds = [...activePrices.keys()]
  for (let id = 1; id <= orderCount; id++) {
    let totalCents = 0
    for (const productId of random.sample(activeIds, random.int(1, 4))) {
      const quantity = random.int(1, 3)
      const priceCents = activePrices.get(productId) ?? 0
      totalCents += priceCents * quantity
      orderItems.push({ orderId: id, productId, quantity, priceCents })
    }
    orders.push({
      id,
      userId: random.int(1, userCount),
      status: random.pick(ORDER_STATUSES),
      totalCents,
      createdAt: new Date(CATALOG_START + CATALOG_SPAN + random.int(0, 30 * DAY)),
    })
  }
  return { orders, orderItems }
}

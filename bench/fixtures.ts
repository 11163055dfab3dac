import { Redis } from 'ioredis'

/** Where the L2 scenarios find Redis. */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

/** Every key the suite writes lives under this prefix; the sweep removes it and nothing else. */
export const ROOT_PREFIX = 'stratabench:'

/** The Redis prefix of one candidate of one scenario, e.g. `stratabench:l2-get:bento:`. */
export function prefixFor(scenario: string, candidate: string): string {
  return `${ROOT_PREFIX}${scenario}:${candidate}:`
}

export interface Review {
  id: number
  userId: number
  rating: number
  comment: string
}

export interface ProductRow {
  id: number
  name: string
  slug: string
  price: number
  stock: number
  createdAt: Date
  tags: string[]
  reviews: Review[]
}

/**
 * A typical Prisma row, as in the brief: a product with its tags and five small review objects
 * (`include: { reviews: true }`), one `Date`; 559 bytes as JSON.
 */
export function productRow(id = 42): ProductRow {
  return {
    id,
    name: `Ergonomic Steel Chair ${id}`,
    slug: `ergonomic-steel-chair-${id}`,
    price: 1999,
    stock: 12,
    createdAt: new Date('2026-03-14T09:26:53.589Z'),
    tags: ['a', 'b'],
    reviews: Array.from({ length: 5 }, (_, i) => ({
      id: id * 10 + i,
      userId: 100 + i,
      rating: 1 + ((id + i) % 5),
      comment: `Review ${i}: solid, as described.`,
    })),
  }
}

/** The same row for every key: values do not differ between candidates. */
export const ROW = productRow()

/** What {@link checkRow} compares with (not read from `ROW`, which a sharing cache hands out). */
const EXPECTED = { name: ROW.name, price: ROW.price, reviews: ROW.reviews.length }

/** `count` keys `product:<i>`. */
export function keys(count: number, prefix = 'product:'): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`)
}

/** One hour, in ms and in s, the TTL of every entry the suite writes. */
export const TTL_MS = 3_600_000

/** A short-lived ioredis client for setup and clean-up. */
export async function adminClient(): Promise<Redis> {
  const redis = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
  })
  redis.on('error', () => {})
  await redis.connect()
  return redis
}

/** Deletes every key under `prefix` (SCAN + UNLINK); returns how many. Never touches other keys. */
export async function sweep(redis: Redis, prefix: string): Promise<number> {
  if (!prefix.startsWith(ROOT_PREFIX))
    throw new Error(`refusing to sweep outside ${ROOT_PREFIX}: ${prefix}`)
  let cursor = '0'
  let removed = 0
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    cursor = next
    if (found.length > 0) removed += await redis.unlink(...found)
  } while (cursor !== '0')
  return removed
}

/** Whether `value` looks like {@link ROW} (same id, name and reviews); `date` = createdAt came back as a Date. */
export function checkRow(value: unknown): { ok: boolean; date: boolean; why?: string } {
  if (typeof value !== 'object' || value === null)
    return { ok: false, date: false, why: `got ${String(value)}` }
  const row = value as Partial<ProductRow>
  if (
    row.name !== EXPECTED.name ||
    row.price !== EXPECTED.price ||
    !Array.isArray(row.reviews) ||
    row.reviews.length !== EXPECTED.reviews
  ) {
    return { ok: false, date: false, why: `unexpected value ${JSON.stringify(value).slice(0, 80)}` }
  }
  return { ok: true, date: row.createdAt instanceof Date }
}

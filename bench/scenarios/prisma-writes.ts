/**
 * What invalidation adds to a Prisma write: the same write through the plain
 * client and through the extended ones, whose difference is the extension's work (working out
 * what the write changed, invalidating it in every tier, telling other instances). Three writes:
 * `product.update` by id, `product.create`, and an order created with three nested items.
 * Nothing is read between writes: each sample is writes only.
 */
import { type ClientKind, openClient } from '../prisma/clients.js'
import { productView, type ShopClient } from '../prisma/shop-client.js'
import { type ShopDatabase, shopDatabase } from '../prisma/shop-database.js'
import { type CandidateSpec, cycle, type Scenario, type Target } from '../scenario.js'

export const WRITE_PLAIN = 'Prisma, no cache'
export const WRITE_EXTENDED = 'Prisma, empty query extension'
export const WRITE_MEMORY = 'withCache, memory only'
export const WRITE_TIERED = 'withCache, L1 + Redis'
export const WRITE_PEER = 'prisma-extension-redis'

const CANDIDATES: { name: string; kind: ClientKind }[] = [
  { name: WRITE_PLAIN, kind: 'plain' },
  { name: WRITE_EXTENDED, kind: 'extended' },
  { name: WRITE_MEMORY, kind: 'memory' },
  { name: WRITE_TIERED, kind: 'tiered' },
  { name: WRITE_PEER, kind: 'peer' },
]

/** Builds one write; `tag` makes unique values unique per candidate. */
type WriteFactory = (shop: ShopClient, db: ShopDatabase, tag: string) => () => PromiseLike<unknown>

function candidate(
  { name, kind }: (typeof CANDIDATES)[number],
  write: WriteFactory,
): CandidateSpec {
  return {
    name,
    kind:
      kind === 'plain' ? 'baseline' : kind === 'peer' || kind === 'extended' ? 'peer' : 'subject',
    async init(ctx) {
      const client = await openClient(kind, ctx.prefix(kind))
      return {
        run: write(client.shop, await shopDatabase.get(), kind),
        facts: () => client.facts(),
        close: () => client.close(),
      }
    },
  }
}

function writeScenario(fields: {
  id: string
  title: string
  write: WriteFactory
  check(value: unknown): void
}): Scenario {
  return {
    id: fields.id,
    group: 'prisma',
    title: fields.title,
    unit: 'per write',
    ratioTo: [WRITE_PLAIN],
    expect: fields.check,
    needsRedis: true,
    showOverhead: true,
    notes: [
      'Each candidate has its own Prisma client (pool of 8 connections) on the same tables; "x time of Prisma" - 1 is the overhead of the extension on that write.',
      '"Prisma, empty query extension" is the control for Prisma\'s own cost of running a write through any query extension: withCache\'s work is the difference between it and withCache.',
      'prisma-extension-redis invalidates a write by SCANning the whole Redis keyspace for its model pattern (MATCH <prefix>:<Model>:*) and unlinking what it finds, then returns: its cost grows with the number of keys in Redis, whoever wrote them.',
    ],
    candidates: CANDIDATES.map((c) => candidate(c, fields.write)),
  }
}

export const prismaUpdate = writeScenario({
  id: 'prisma-update',
  title: 'Prisma product.update by id (price), over the 1000 hot products',
  write: (shop, db) => {
    const next = cycle(db.seed.hotProductIds)
    let n = 0
    return () =>
      shop.product.update({ where: { id: next() }, data: { price: `${10 + (n++ % 90)}.50` } })
  },
  check: (value) => void productView(value),
})

export const prismaCreate = writeScenario({
  id: 'prisma-create',
  title: 'Prisma product.create (one row, in a category)',
  write: (shop, db, tag) => {
    const categories = cycle(db.seed.categoryIds)
    let n = 0
    return () => {
      n++
      return shop.product.create({
        data: {
          sku: `BENCH-${tag}-${n}`,
          name: `Bench product ${tag} ${n}`,
          price: '19.99',
          categoryId: categories(),
        },
      })
    }
  },
  check: (value) => void productView(value),
})

export const prismaNestedCreate = writeScenario({
  id: 'prisma-nested-create',
  title: 'Prisma order.create with 3 nested items (order + order items, one transaction)',
  write: (shop, db) => {
    const users = cycle(db.seed.userIds)
    const hot = db.seed.hotProductIds
    let n = 0
    return () => {
      const first = (n++ * 3) % (hot.length - 2)
      const items = [0, 1, 2].map((k) => ({
        productId: hot[first + k]!,
        quantity: 1 + k,
        priceCents: 1999,
      }))
      return shop.order.create({
        data: { userId: users(), totalCents: 11_994, items: { create: items } },
      })
    }
  },
  check: (value) => {
    if (typeof (value as { id?: unknown } | null)?.id !== 'number')
      throw new Error(`not an order: ${JSON.stringify(value)?.slice(0, 120)}`)
  },
})

export const PRISMA_WRITE_TARGETS: Target[] = [
  {
    label: 'Prisma update, withCache L1 + Redis: invalidation overhead < 10%',
    scenario: 'prisma-update',
    subject: WRITE_TIERED,
    against: WRITE_PLAIN,
    kind: 'max-ratio',
    limit: 1.1,
  },
  {
    label: 'Prisma update, withCache memory only: invalidation overhead < 10%',
    scenario: 'prisma-update',
    subject: WRITE_MEMORY,
    against: WRITE_PLAIN,
    kind: 'max-ratio',
    limit: 1.1,
  },
]

/**
 * Cached Prisma reads against the same query without a cache, on the real
 * PostgreSQL and Redis: `findUnique` by id over the 1000 hot products, and a category page
 * (`findMany`, 20 rows) over the 50 categories, bare and with its category and inventory
 * included. Candidates: the plain client, withCache answering from L1 (L1 + Redis cache),
 * withCache answering from Redis (`local: false`), and prisma-extension-redis answering from
 * Redis. Each call builds its arguments afresh, as an application does.
 */
import {
  type ClientKind,
  type ClientUnderTest,
  expectAnswerFrom,
  openClient,
} from '../prisma/clients.js'
import { PAGE_SIZE, type ShopSeed } from '../prisma/seed.js'
import {
  type CategoryPageArgs,
  productView,
  productViews,
  runRead,
  type ShopRead,
} from '../prisma/shop-client.js'
import { shopDatabase } from '../prisma/shop-database.js'
import { type CandidateSpec, cycle, type Scenario, type Target } from '../scenario.js'

export const PRISMA_UNCACHED = 'Prisma, no cache'
export const PRISMA_L1 = 'withCache, L1 hit (L1 + Redis)'
export const PRISMA_L2 = 'withCache, L2 hit (local: false)'
export const PRISMA_PEER = 'prisma-extension-redis, hit'

/** What one scenario reads: the keys it cycles over, and the read of one key. */
interface ReadSpec {
  keys(seed: ShopSeed): number[]
  read(key: number): ShopRead
}

/** Who must answer, checked with `withCacheInfo()` (or the peer's `meta`) before timing. */
const CANDIDATES: { name: string; kind: ClientKind; answeredBy: string }[] = [
  { name: PRISMA_UNCACHED, kind: 'plain', answeredBy: 'database' },
  { name: PRISMA_L1, kind: 'tiered', answeredBy: 'l1' },
  { name: PRISMA_L2, kind: 'l2', answeredBy: 'l2' },
  { name: PRISMA_PEER, kind: 'peer', answeredBy: 'redis' },
]

function candidate(
  { name, kind, answeredBy }: (typeof CANDIDATES)[number],
  spec: ReadSpec,
): CandidateSpec {
  return {
    name,
    kind: kind === 'plain' ? 'baseline' : kind === 'peer' ? 'peer' : 'subject',
    async init(ctx) {
      const client: ClientUnderTest = await openClient(kind, ctx.prefix(kind))
      try {
        const keys = spec.keys((await shopDatabase.get()).seed)
        // Every key once: the caches hold them all, and PostgreSQL's buffers too for the baseline.
        for (const key of keys) await runRead(client.shop, spec.read(key))
        await expectAnswerFrom(client, spec.read(keys[0]!), answeredBy)
        const next = cycle(keys)
        return {
          run: () => runRead(client.shop, spec.read(next())),
          // The first row, for the runner's probes (Date kept? a copy per read?).
          read: async () => {
            const value = await runRead(client.shop, spec.read(keys[0]!))
            return Array.isArray(value) ? value[0] : value
          },
          facts: () => client.facts(),
          close: () => client.close(),
        }
      } catch (error) {
        await client.close().catch(() => {})
        throw error
      }
    },
  }
}

const NOTES = [
  'Before timing, every candidate reads each key once, then must answer from the tier its name says: withCacheInfo() tier l1 / l2; the peer meta.source "cache"; misses in the facts are those warm-up reads.',
  'withCache with its defaults (metrics on, a private copy per read), TTL 1 h; prisma-extension-redis: auto-caching with invalidateOnWrite, type STRING, TTL 1 h, no in-process tier (every hit is a Redis GET and a parse).',
  'prisma-extension-redis hits are plain JSON.parse results: DateTime fields come back as ISO strings and Decimal as strings ("Date kept: no"); withCache returns Date and Prisma.Decimal, as Prisma does.',
]

function readScenario(fields: {
  id: string
  title: string
  unit: string
  spec: ReadSpec
  check(value: unknown): void
  notes?: string[]
}): Scenario {
  return {
    id: fields.id,
    group: 'prisma',
    title: fields.title,
    unit: fields.unit,
    ratioTo: [PRISMA_UNCACHED],
    expect: fields.check,
    needsRedis: true,
    notes: [...NOTES, ...(fields.notes ?? [])],
    candidates: CANDIDATES.map((c) => candidate(c, fields.spec)),
  }
}

function pageArgs(categoryId: number, withRelations: boolean): CategoryPageArgs {
  return {
    where: { categoryId, isActive: true },
    take: PAGE_SIZE,
    orderBy: { id: 'asc' },
    ...(withRelations ? { include: { category: true, inventory: true } } : {}),
  }
}

function checkPage(value: unknown, withRelations: boolean): void {
  const rows = productViews(value)
  if (rows.length !== PAGE_SIZE) throw new Error(`expected ${PAGE_SIZE} rows, got ${rows.length}`)
  if (withRelations && rows.some((r) => r.stock === undefined || r.categoryName === undefined))
    throw new Error('a row came back without its category or inventory')
}

export const prismaFindUnique = readScenario({
  id: 'prisma-find-unique',
  title: 'Prisma findUnique by id: cached (L1 hit, L2 hit) vs uncached, 1000 hot products',
  unit: 'per query',
  spec: {
    keys: (seed) => seed.hotProductIds,
    read: (id) => ({ op: 'findUnique', args: { where: { id } } }),
  },
  check: (value) => void productView(value),
})

export const prismaFindMany = readScenario({
  id: 'prisma-find-many',
  title: 'Prisma findMany, a category page (categoryId + isActive, take 20, orderBy id), 50 pages',
  unit: 'per page',
  spec: {
    keys: (seed) => seed.categoryIds,
    read: (categoryId) => ({ op: 'findMany', args: pageArgs(categoryId, false) }),
  },
  check: (value) => checkPage(value, false),
})

export const prismaFindManyInclude = readScenario({
  id: 'prisma-find-many-include',
  title: 'Prisma findMany, the same page with include: { category, inventory }, 50 pages',
  unit: 'per page',
  spec: {
    keys: (seed) => seed.categoryIds,
    read: (categoryId) => ({ op: 'findMany', args: pageArgs(categoryId, true) }),
  },
  check: (value) => checkPage(value, true),
})

export const PRISMA_READ_TARGETS: Target[] = [
  {
    label: 'Prisma findUnique, L1 hit >= 200x faster than uncached',
    scenario: 'prisma-find-unique',
    subject: PRISMA_L1,
    against: PRISMA_UNCACHED,
    kind: 'min-speedup',
    limit: 200,
  },
]

/**
 * The operations of the Prisma mixes, each read checked for staleness and against an oracle.
 *
 * Two kinds of reads, over the same products:
 * - `rows` (the read-heavy and write-heavy mixes): 60% a product by id (`findUnique`, the whole
 *   row), 20% the same with its inventory (include), 20% a category page with the inventory of
 *   its 20 products (`findMany`, whole rows);
 * - `display` (the counters mix): what pages show, by `select`: 40% a product card (name, price,
 *   stock), 20% its view counter (name, views), 40% a category page of cards.
 *
 * Writes: a product's `viewCount` + 1 (which also sets its `updatedAt`), or its inventory row's
 * `stock` + 1, a write to a related model. Keys follow a Zipf law over the 1000 hot products and
 * the 50 categories (rank 1 = the first product of the first category), so hot products sit on
 * hot pages.
 */
import { PAGE_SIZE, type ShopSeed } from './seed.js'
import {
  type ProductSelect,
  type ProductView,
  productView,
  productViews,
  type ShopClient,
} from './shop-client.js'
import { type StaleFields, VersionLedger } from './version-ledger.js'

export interface MixSpec {
  id: string
  label: string
  /** Share of the operations that are writes, 0-1. */
  writeShare: number
  /** Whole rows, or what a page shows of them (see the header). */
  reads: 'rows' | 'display'
  /** Share of the writes that change a stock; the others increment a view count. */
  stockShareOfWrites: number
}

/** Zipf exponent of the keys: the first of 1000 products gets ~9% of the operations. */
export const ZIPF_EXPONENT = 0.9

/** Shares of the reads, per kind: [by id, by id with stock or its counter, a page]. */
export const READ_SHARES: Record<MixSpec['reads'], readonly [number, number, number]> = {
  rows: [0.6, 0.2, 0.2],
  display: [0.4, 0.2, 0.4],
}

const CARD: ProductSelect = {
  id: true,
  name: true,
  price: true,
  inventory: { select: { stock: true } },
}
const COUNTER: ProductSelect = { id: true, name: true, viewCount: true }

/** Results kept per read by the oracle: more than reads of one key in flight at once. */
const HISTORY = 64

/** What one operation was; for a read, what it got wrong, and whether an oracle had it. */
export type MixOutcome =
  | { kind: 'write' }
  | { kind: 'read'; stale: StaleFields; oracleHit: boolean }

/**
 * The hits of an ideal cache, one that drops an entry exactly when its result changes: a read is
 * one when the same read, done before this one began, returned the same result. (Every write of
 * the mixes changes what some read returns, and values only grow, so a result never comes back
 * to an earlier one.) A read that began while the same read was still loading is a miss for this
 * cache too: it has nothing yet to answer with.
 */
export class Oracle {
  /** The last results of each read, in the order they were returned. */
  readonly #done = new Map<string, { fingerprint: string; doneAt: number }[]>()

  /** Whether the read `key`, begun at `startedAt` and returning `rows`, is a hit. */
  hit(key: string, startedAt: number, rows: readonly ProductView[]): boolean {
    let fingerprint = ''
    for (const row of rows) fingerprint += `${row.id}:${row.viewCount ?? ''}:${row.stock ?? ''},`
    let done = this.#done.get(key)
    if (done === undefined) {
      done = []
      this.#done.set(key, done)
    }
    // The result the ideal cache held when this read began: the last one returned before.
    let held: string | undefined
    for (let i = done.length - 1; i >= 0; i--) {
      if (done[i]!.doneAt <= startedAt) {
        held = done[i]!.fingerprint
        break
      }
    }
    done.push({ fingerprint, doneAt: performance.now() })
    if (done.length > HISTORY) done.shift()
    return held === fingerprint
  }

  /** Starts over, with the cache under test. */
  clear(): void {
    this.#done.clear()
  }
}

/** A source of numbers in [0, 1), seeded so that a run's key sequence can be replayed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    // mulberry32
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

/** Picks `items[i]` with probability proportional to 1 / (i + 1)^exponent. */
export function zipf<T>(items: readonly T[], exponent: number): (random: number) => T {
  const cumulative = new Float64Array(items.length)
  let total = 0
  for (let i = 0; i < items.length; i++) {
    total += 1 / (i + 1) ** exponent
    cumulative[i] = total
  }
  return (random) => {
    const target = random * total
    let lo = 0
    let hi = items.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (cumulative[mid]! < target) lo = mid + 1
      else hi = mid
    }
    return items[lo]!
  }
}

function countOf(value: unknown, field: 'stock' | 'viewCount'): number {
  const count = (value as Record<string, unknown> | null)?.[field]
  if (typeof count !== 'number') throw new Error(`no ${field} in ${JSON.stringify(value)}`)
  return count
}

/**
 * One worker's next operation, on `shop`, acknowledged in (or checked against) `ledger` and
 * `oracle`.
 */
export function mixOperation(
  shop: ShopClient,
  seed: ShopSeed,
  ledger: VersionLedger,
  oracle: Oracle,
  spec: MixSpec,
  random: () => number,
): () => Promise<MixOutcome> {
  const product = zipf(seed.hotProductIds, ZIPF_EXPONENT)
  const category = zipf(seed.categoryIds, ZIPF_EXPONENT)
  const display = spec.reads === 'display'
  const [byId, second] = READ_SHARES[spec.reads]

  /** `variant` 0: the row (or card); 1: with its inventory (or its view counter). */
  async function readProduct(id: number, variant: 0 | 1): Promise<MixOutcome> {
    const startedAt = performance.now()
    const snapshot = ledger.snapshot([id])
    const select = display ? (variant === 0 ? CARD : COUNTER) : undefined
    const args = select
      ? { where: { id }, select }
      : variant === 1
        ? { where: { id }, include: { inventory: true as const } }
        : { where: { id } }
    const value = await shop.product.findUnique(args)
    const rows = value === null ? [] : [productView(value, display)]
    const withStock = display ? variant === 0 : variant === 1
    const stale = VersionLedger.check(snapshot, rows, withStock)
    return { kind: 'read', stale, oracleHit: oracle.hit(`p${variant}:${id}`, startedAt, rows) }
  }

  async function readPage(categoryId: number): Promise<MixOutcome> {
    const startedAt = performance.now()
    const snapshot = ledger.snapshot(seed.pages.get(categoryId)!)
    const page = { where: { categoryId, isActive: true as const }, take: PAGE_SIZE }
    const value = await shop.product.findMany(
      display
        ? { ...page, orderBy: { id: 'asc' }, select: CARD }
        : { ...page, orderBy: { id: 'asc' }, include: { inventory: true } },
    )
    const rows = productViews(value, display)
    const stale = VersionLedger.check(snapshot, rows, true)
    return { kind: 'read', stale, oracleHit: oracle.hit(`c:${categoryId}`, startedAt, rows) }
  }

  async function writeProduct(id: number): Promise<MixOutcome> {
    const value = await shop.product.update({
      where: { id },
      data: { viewCount: { increment: 1 } },
    })
    ledger.acknowledgeProduct(id, countOf(value, 'viewCount'))
    return { kind: 'write' }
  }

  async function writeStock(id: number): Promise<MixOutcome> {
    const value = await shop.inventory.update({
      where: { productId: id },
      data: { stock: { increment: 1 } },
    })
    ledger.acknowledgeStock(id, countOf(value, 'stock'))
    return { kind: 'write' }
  }

  return () => {
    if (random() < spec.writeShare) {
      return random() < spec.stockShareOfWrites
        ? writeStock(product(random()))
        : writeProduct(product(random()))
    }
    const kind = random()
    if (kind < byId) return readProduct(product(random()), 0)
    if (kind < byId + second) return readProduct(product(random()), 1)
    return readPage(category(random()))
  }
}

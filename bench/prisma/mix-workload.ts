/**
 * The operations of the read-heavy and write-heavy mixes, each read checked for staleness.
 *
 * Reads: 60% a product by id (`findUnique`), 20% the same with its inventory (include), 20% a
 * category page with the inventory of its 20 products (`findMany`). Writes: 60% a product
 * (`viewCount` + 1), 40% its inventory row (`stock` + 1): a write to a related model, which some
 * product reads include. Keys follow a Zipf law over the 1000 hot products and the 50 categories
 * (rank 1 = the first product of the first category), so hot products sit on hot pages.
 */
import { PAGE_SIZE, type ShopSeed } from './seed.js'
import { productView, productViews, type ShopClient } from './shop-client.js'
import { type StaleFields, VersionLedger } from './version-ledger.js'

export interface MixSpec {
  id: string
  label: string
  /** Share of the operations that are writes, 0-1. */
  writeShare: number
}

export const PAGE_SHARE_OF_READS = 0.2
export const WITH_INVENTORY_SHARE_OF_READS = 0.2
export const STOCK_SHARE_OF_WRITES = 0.4
/** Zipf exponent of the keys: the first of 1000 products gets ~9% of the operations. */
export const ZIPF_EXPONENT = 0.9

/** What one operation was, and for a read what it got wrong. */
export type MixOutcome = { kind: 'write' } | { kind: 'read'; stale: StaleFields }

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

function stockOf(value: unknown): number {
  const stock = (value as { stock?: unknown } | null)?.stock
  if (typeof stock !== 'number') throw new Error(`not an inventory row: ${JSON.stringify(value)}`)
  return stock
}

/** One worker's next operation, on `shop`, acknowledged in (or checked against) `ledger`. */
export function mixOperation(
  shop: ShopClient,
  seed: ShopSeed,
  ledger: VersionLedger,
  spec: MixSpec,
  random: () => number,
): () => Promise<MixOutcome> {
  const product = zipf(seed.hotProductIds, ZIPF_EXPONENT)
  const category = zipf(seed.categoryIds, ZIPF_EXPONENT)

  async function readProduct(id: number, withStock: boolean): Promise<MixOutcome> {
    const snapshot = ledger.snapshot([id])
    const value = await shop.product.findUnique(
      withStock ? { where: { id }, include: { inventory: true } } : { where: { id } },
    )
    const rows = value === null ? [] : [productView(value)]
    return { kind: 'read', stale: VersionLedger.check(snapshot, rows, withStock) }
  }

  async function readPage(categoryId: number): Promise<MixOutcome> {
    const snapshot = ledger.snapshot(seed.pages.get(categoryId)!)
    const value = await shop.product.findMany({
      where: { categoryId, isActive: true },
      take: PAGE_SIZE,
      orderBy: { id: 'asc' },
      include: { inventory: true },
    })
    return { kind: 'read', stale: VersionLedger.check(snapshot, productViews(value), true) }
  }

  async function writeProduct(id: number): Promise<MixOutcome> {
    const value = await shop.product.update({
      where: { id },
      data: { viewCount: { increment: 1 } },
    })
    ledger.acknowledgeProduct(id, productView(value).viewCount)
    return { kind: 'write' }
  }

  async function writeStock(id: number): Promise<MixOutcome> {
    const value = await shop.inventory.update({
      where: { productId: id },
      data: { stock: { increment: 1 } },
    })
    ledger.acknowledgeStock(id, stockOf(value))
    return { kind: 'write' }
  }

  return () => {
    if (random() < spec.writeShare) {
      return random() < STOCK_SHARE_OF_WRITES
        ? writeStock(product(random()))
        : writeProduct(product(random()))
    }
    const kind = random()
    if (kind < PAGE_SHARE_OF_READS) return readPage(category(random()))
    return readProduct(
      product(random()),
      kind < PAGE_SHARE_OF_READS + WITH_INVENTORY_SHARE_OF_READS,
    )
  }
}

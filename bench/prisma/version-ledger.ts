/**
 * The staleness check of the mixes: the latest version of each product (its `viewCount`) and of
 * its inventory row (its `stock`) that a write through the client under test has acknowledged.
 * The mixes' writes only ever increment those two columns, and PostgreSQL applies increments of
 * one row one after the other, so a read that returns a lower value than one acknowledged before
 * the read began returned something older than a write it should have seen: a stale read.
 *
 * One ledger per client under test: a write made through another client (another application,
 * as far as this client can tell) is not one it could have invalidated.
 */
import type { ProductView } from './shop-client.js'

/** The acknowledged versions of some rows, taken when a read begins. */
export interface ReadSnapshot {
  readonly ids: readonly number[]
  readonly viewCounts: Int32Array
  readonly stocks: Int32Array
}

/** What one read got wrong (all zero for a fresh read). */
export interface StaleFields {
  /** Rows whose `viewCount` is older than an acknowledged product write. */
  product: number
  /** Rows whose `inventory.stock` is older than an acknowledged inventory write. */
  stock: number
  /** Expected rows missing, rows not expected, or rows without their inventory. */
  wrongRows: number
}

export class VersionLedger {
  readonly #viewCounts: Int32Array
  readonly #stocks: Int32Array

  /** `maxId`: the highest product id the mix touches. */
  constructor(maxId: number) {
    this.#viewCounts = new Int32Array(maxId + 1)
    this.#stocks = new Int32Array(maxId + 1)
  }

  /** A `product.update` returned `viewCount` for product `id`. */
  acknowledgeProduct(id: number, viewCount: number): void {
    if (viewCount > this.#viewCounts[id]!) this.#viewCounts[id] = viewCount
  }

  /** An `inventory.update` returned `stock` for product `id`. */
  acknowledgeStock(id: number, stock: number): void {
    if (stock > this.#stocks[id]!) this.#stocks[id] = stock
  }

  /** The versions a read of `ids` must not go below; take it before the read starts. */
  snapshot(ids: readonly number[]): ReadSnapshot {
    const viewCounts = new Int32Array(ids.length)
    const stocks = new Int32Array(ids.length)
    for (let i = 0; i < ids.length; i++) {
      viewCounts[i] = this.#viewCounts[ids[i]!]!
      stocks[i] = this.#stocks[ids[i]!]!
    }
    return { ids, viewCounts, stocks }
  }

  /**
   * Compares what a read returned (`rows`, in the order of the snapshot's ids) with `snapshot`;
   * `withStock`: the read included the inventory.
   */
  static check(
    snapshot: ReadSnapshot,
    rows: readonly ProductView[],
    withStock: boolean,
  ): StaleFields {
    const stale: StaleFields = { product: 0, stock: 0, wrongRows: 0 }
    if (rows.length !== snapshot.ids.length)
      stale.wrongRows += Math.abs(rows.length - snapshot.ids.length)
    const n = Math.min(rows.length, snapshot.ids.length)
    for (let i = 0; i < n; i++) {
      const row = rows[i]!
      if (row.id !== snapshot.ids[i] || (withStock && row.stock === undefined)) {
        stale.wrongRows++
        continue
      }
      if (row.viewCount !== undefined && row.viewCount < snapshot.viewCounts[i]!) stale.product++
      if (withStock && row.stock! < snapshot.stocks[i]!) stale.stock++
    }
    return stale
  }
}

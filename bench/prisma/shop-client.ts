/**
 * The Prisma calls the scenarios make, and the checks of what they return.
 *
 * {@link ShopClient} types those calls loosely enough that the plain client and both extended
 * clients fit it: each extension gives the model methods types of its own (the calls are the
 * same), and none of them is assignable to another. Results are therefore `unknown` here and
 * checked at run time by {@link productView}, which is also what the staleness check reads.
 */

/** What a page shows of a product (a narrow `select`), instead of the whole row. */
export type ProductSelect = Record<string, true | { select: Record<string, true> }>

export interface ProductByIdArgs {
  where: { id: number }
  include?: { inventory: true }
  select?: ProductSelect
}

export interface CategoryPageArgs {
  where: { categoryId: number; isActive: true }
  take: number
  orderBy: { id: 'asc' }
  include?: { category?: true; inventory?: true }
  select?: ProductSelect
}

export interface ShopClient {
  product: {
    findUnique(args: ProductByIdArgs): PromiseLike<unknown>
    findMany(args: CategoryPageArgs): PromiseLike<unknown>
    update(args: {
      where: { id: number }
      data: { price?: string; viewCount?: { increment: number } }
    }): PromiseLike<unknown>
    create(args: {
      data: { sku: string; name: string; price: string; categoryId: number }
    }): PromiseLike<unknown>
  }
  inventory: {
    update(args: {
      where: { productId: number }
      data: { stock: { increment: number } }
    }): PromiseLike<unknown>
  }
  order: {
    create(args: {
      data: {
        userId: number
        totalCents: number
        items: { create: { productId: number; quantity: number; priceCents: number }[] }
      }
    }): PromiseLike<unknown>
  }
}

/** One of the reads the scenarios measure. */
export type ShopRead =
  | { op: 'findUnique'; args: ProductByIdArgs }
  | { op: 'findMany'; args: CategoryPageArgs }

export function runRead(shop: ShopClient, read: ShopRead): PromiseLike<unknown> {
  return read.op === 'findUnique'
    ? shop.product.findUnique(read.args)
    : shop.product.findMany(read.args)
}

/** What the checks read of a product row (with its inventory, when included). */
export interface ProductView {
  id: number
  name: string
  /** `undefined` when the read did not select it. */
  viewCount: number | undefined
  createdAt: unknown
  /** `inventory.stock`, when the read included the inventory. */
  stock: number | undefined
  /** `category.name`, when the read included the category. */
  categoryName: string | undefined
}

/**
 * Checks that `value` is a product row (`narrow`: what a `select` left of one, its view count
 * optional); throws with what came back otherwise.
 */
export function productView(value: unknown, narrow = false): ProductView {
  const row = value as Partial<Record<string, unknown>> | null
  if (
    typeof row !== 'object' ||
    row === null ||
    typeof row.id !== 'number' ||
    typeof row.name !== 'string' ||
    (typeof row.viewCount !== 'number' && !(narrow && row.viewCount === undefined))
  ) {
    throw new Error(`not a product row: ${JSON.stringify(value)?.slice(0, 120)}`)
  }
  const inventory = row.inventory as { stock?: unknown } | null | undefined
  const category = row.category as { name?: unknown } | null | undefined
  return {
    id: row.id,
    name: row.name,
    viewCount: row.viewCount as number | undefined,
    createdAt: row.createdAt,
    stock: typeof inventory?.stock === 'number' ? inventory.stock : undefined,
    categoryName: typeof category?.name === 'string' ? category.name : undefined,
  }
}

/** Checks that `value` is an array of product rows (see {@link productView}). */
export function productViews(value: unknown, narrow = false): ProductView[] {
  if (!Array.isArray(value))
    throw new Error(`not an array: ${JSON.stringify(value)?.slice(0, 120)}`)
  return value.map((row) => productView(row, narrow))
}

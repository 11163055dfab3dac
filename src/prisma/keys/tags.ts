/**
 * The tags a cached Prisma read carries, and so what a write invalidates. Three kinds per model:
 *
 * - `<ns>:<Model>`: carried by every read that depends on the model as a whole: lists, counts,
 *   aggregates, `findFirst`, and every read that reaches the model through a relation (`include`,
 *   nested `select`, `_count`, relation filters, relation `orderBy`). Every write to the model
 *   invalidates it.
 * - `<ns>:<Model>#<key>=<values>`: carried by a `findUnique` by that unique key (`#id=5`,
 *   `#email="a@b.c"`, `#productId_userId=3,7`). Invalidated by a write that names the record.
 * - `<ns>:<Model>#*`: carried by every such record read of the model. Invalidated by a write
 *   whose records cannot be named (`updateMany`, a cascade, raw SQL), which so reaches them all.
 */
export class TagNaming {
  readonly namespace: string

  constructor(namespace: string) {
    this.namespace = namespace
  }

  /** Every read that depends on `model` as a whole. */
  model(model: string): string {
    return `${this.namespace}:${model}`
  }

  /** Every record read of `model`. */
  allRecords(model: string): string {
    return `${this.namespace}:${model}#*`
  }

  /** The record reads of `model` by one identity (see `record-identity.ts`). */
  record(model: string, identity: string): string {
    return `${this.namespace}:${model}#${identity}`
  }
}

import { createHash } from 'node:crypto'

/**
 * The tags of cached Prisma reads, and so what a write invalidates. A cached read carries a tag
 * for each way a write could change its result; a write emits a tag for each way it changed the
 * data. They meet when the write changed what the read depends on, and only then (within what
 * the tags can say: where they cannot, both fall back to the model as a whole).
 *
 * Per model `M` (`<ns>:M…`), with `<id>` a record identity (`id=5`, `record-identity.ts`) and
 * `<v>` a field value's text, `?` when the write does not know it:
 *
 * | tag          | a write emits it when                  | a read carries it when                    |
 * | ------------ | -------------------------------------- | ----------------------------------------- |
 * | `M`          | it changes M in any way                | it depends on M in ways not told apart    |
 * | `M~`         | it changes M in ways it cannot tell    | it reads M (every precise read)           |
 * | `M#<id>`     | it updates or deletes that row         | it returned the row, every field of it    |
 * | `M#<id>.f`   | it updates field f of that row         | it returned the row and depends on f      |
 * | `M#<id>-`    | it deletes the row or changes its key  | it returned the row, some fields of it    |
 * | `M.f`        | it updates f in any row                | its filter, order or aggregate uses f     |
 * | `M+`         | it creates a row                       | a new row may enter it                    |
 * | `M+f=<v>`    | it creates a row, or sets f, with f=v  | a row enters it only with f=v             |
 * | `M>f=<v>`    | it sets f to v                         | its filter asks f=v (besides the above)   |
 * | `M-`         | it deletes a row                       | a row leaving changes it (counts, offsets)|
 * | `M-f=<v>`    | it deletes a row with f=v              | a row leaving changes it only with f=v    |
 *
 * `<id>` is `*` for rows a write cannot name (`updateMany` by a filter, a cascade): every read
 * that returned rows of M carries the `*` form of its row tags too. Implicit many-to-many join
 * tables have one tag (`<ns>:_AToB`), changed by links and unlinks and by deletes of either side.
 */
export class TagNaming {
  readonly namespace: string

  constructor(namespace: string) {
    this.namespace = namespace
  }

  /** Any change of `model` (the model as a whole). */
  model(model: string): string {
    return `${this.namespace}:${model}`
  }

  /** A change of `model` nothing can describe (raw SQL, `invalidateAll`). */
  unknown(model: string): string {
    return `${this.namespace}:${model}~`
  }

  /** A row of `model` (`identity`: `id=5`, or `*` for rows not named), any of its fields. */
  row(model: string, identity: string): string {
    return `${this.namespace}:${model}#${short(identity)}`
  }

  /** Field `field` of a row of `model`. */
  rowField(model: string, identity: string, field: string): string {
    return `${this.namespace}:${model}#${short(identity)}.${field}`
  }

  /** A row of `model` deleted or re-keyed. */
  rowGone(model: string, identity: string): string {
    return `${this.namespace}:${model}#${short(identity)}-`
  }

  /** Field `field` of `model` updated in some row. */
  field(model: string, field: string): string {
    return `${this.namespace}:${model}.${field}`
  }

  /** A row of `model` created (`field` and `value` given: one whose `field` is `value`). */
  created(model: string, field?: string, value?: string): string {
    return field === undefined
      ? `${this.namespace}:${model}+`
      : `${this.namespace}:${model}+${field}=${short(value!)}`
  }

  /** `field` of a row of `model` set to `value`. */
  entered(model: string, field: string, value: string): string {
    return `${this.namespace}:${model}>${field}=${short(value)}`
  }

  /** A row of `model` deleted (`field` and `value` given: one whose `field` was `value`). */
  deleted(model: string, field?: string, value?: string): string {
    return field === undefined
      ? `${this.namespace}:${model}-`
      : `${this.namespace}:${model}-${field}=${short(value!)}`
  }

  /** The links of an implicit many-to-many relation (its join table, `_ProductToTag`). */
  links(joinTable: string): string {
    return `${this.namespace}:${joinTable}`
  }
}

/** A value's text for a tag, not known to the write that emits it. */
export const UNKNOWN_VALUE = '?'

/** Values longer than this are named by a hash in tags, which stay small in Redis and in L1. */
const MAX_VALUE_TEXT = 64

function short(value: string): string {
  if (value.length <= MAX_VALUE_TEXT) return value
  return `#${createHash('sha256').update(value).digest('base64url').slice(0, 22)}`
}

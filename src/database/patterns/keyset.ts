/**
 * Keyset conditions: "rows strictly after this position" in a total order, as a Prisma `where`.
 * For keys k1..kn and a position v1..vn it is the lexicographic comparison
 * `(k1 > v1) OR (k1 = v1 AND k2 > v2) OR ...` (`<` for descending keys). The order ends with the
 * primary key, so it is strict: every row, including one inserted while a client pages, has
 * exactly one place, and a row that existed is neither repeated nor skipped.
 */
import { invalid } from '../../errors.js'
import type { ModelNode } from '../../prisma/schema/model-graph.js'
import type { Position, SortValue } from './cursor.js'
import type { SortKey } from './order-by.js'

/** Prisma filters have `gt` / `lt` for these types (Boolean is handled apart). */
const COMPARABLE: ReadonlySet<string> = new Set([
  'Int',
  'BigInt',
  'Float',
  'Decimal',
  'String',
  'DateTime',
  'Boolean',
])

/**
 * Checks that each key can carry a keyset: a required scalar Prisma can compare, and for
 * DateTime a column no finer than milliseconds (JavaScript dates are, so a cursor taken from a
 * microsecond column would not find its own row's place). A `ValidationError` on `field`.
 */
export function checkKeysetKeys(model: ModelNode, keys: readonly SortKey[], field: string): void {
  for (const { field: key } of keys) {
    const name = `${model.name}.${key.name}`
    if (!COMPARABLE.has(key.type) || key.kind !== 'scalar') {
      throw invalid(
        field,
        `${name} (${key.type}) cannot be a cursor sort field: Prisma cannot compare it with gt/lt`,
      )
    }
    if (!key.isRequired) {
      throw invalid(
        field,
        `${name} is optional; cursor pagination needs sort fields that are never null`,
      )
    }
    if (key.type === 'DateTime' && finerThanMilliseconds(key.nativeType)) {
      throw invalid(
        field,
        `${name} stores microseconds; cursors hold milliseconds (use @db.Timestamp(3))`,
      )
    }
  }
}

function finerThanMilliseconds(
  nativeType: readonly [string, readonly string[]] | null | undefined,
): boolean {
  if (nativeType === null || nativeType === undefined) return false // Prisma's default: timestamp(3)
  const [type, args] = nativeType
  if (type === 'Date') return false
  const precision = args[0] === undefined ? 6 : Number(args[0]) // PostgreSQL's default is 6
  return precision > 3
}

/**
 * The `where` of the rows after `position` in the order `keys`: strictly after, or from the
 * position's row on when it is inclusive.
 */
export function after(keys: readonly SortKey[], position: Position): Record<string, unknown> {
  const beyond = strictlyAfter(keys, position.values)
  if (!position.inclusive) return beyond
  const at = Object.fromEntries(keys.map((key, i) => [key.field.name, position.values[i]]))
  return { OR: [beyond, at] }
}

function strictlyAfter(
  keys: readonly SortKey[],
  values: readonly SortValue[],
): Record<string, unknown> {
  const branches: Record<string, unknown>[] = []
  for (let i = 0; i < keys.length; i++) {
    const beyond = strictlyBeyond(keys[i]!, values[i]!)
    if (beyond === undefined) continue
    const branch: Record<string, unknown> = {}
    for (let j = 0; j < i; j++) branch[keys[j]!.field.name] = values[j]
    branch[keys[i]!.field.name] = beyond
    branches.push(branch)
  }
  // OR of no branch matches nothing: the position is the last one possible.
  return branches.length === 1 ? branches[0]! : { OR: branches }
}

/** The filter "beyond `value` in the key's direction", or `undefined` when nothing can be. */
function strictlyBeyond(key: SortKey, value: SortValue): unknown {
  const ascending = key.direction === 'asc'
  if (key.field.type === 'Boolean') {
    // false < true; Prisma's Boolean filter has no gt/lt.
    if (ascending) return value === false ? true : undefined
    return value === true ? false : undefined
  }
  return ascending ? { gt: value } : { lt: value }
}

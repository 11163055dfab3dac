/**
 * A bounded, JSON-safe copy of a query's arguments for the slow-query log: a `createMany` of ten
 * thousand rows or a 5 MB JSON filter must not be kept in memory nor printed whole, and values
 * `JSON.stringify` cannot carry (BigInt, Decimal, bytes, cycles) must still be readable.
 */

/** Bounds of a summary; the defaults keep one summary under a few kilobytes. */
export interface SummaryLimits {
  /** Nesting levels kept; deeper objects become `'{…}'` / `'[…]'`. Default 6. */
  maxDepth?: number
  /** Keys kept per object. Default 20. */
  maxKeys?: number
  /** Items kept per array. Default 10. */
  maxItems?: number
  /** Characters kept per string. Default 200. */
  maxString?: number
  /** Values visited in all; past it the rest become `'…'`. Default 300. */
  maxNodes?: number
}

interface Budget {
  maxDepth: number
  maxKeys: number
  maxItems: number
  maxString: number
  nodes: number
  ancestors: object[]
}

const OBJECT_PROTO = Object.prototype

function isDecimal(value: object): boolean {
  // decimal.js (Prisma.Decimal) instances, recognised by shape so that any copy of the class works.
  const candidate = value as { d?: unknown; e?: unknown; s?: unknown; toFixed?: unknown }
  return (
    Array.isArray(candidate.d) &&
    typeof candidate.e === 'number' &&
    typeof candidate.s === 'number' &&
    typeof candidate.toFixed === 'function'
  )
}

function summarizeString(value: string, budget: Budget): string {
  if (value.length <= budget.maxString) return value
  return `${value.slice(0, budget.maxString)}…(+${value.length - budget.maxString} chars)`
}

function summarizeObject(value: object, depth: number, budget: Budget): unknown {
  if (value instanceof Date) {
    return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString()
  }
  if (ArrayBuffer.isView(value)) return `<${value.constructor.name} ${value.byteLength} bytes>`
  if (value instanceof ArrayBuffer) return `<ArrayBuffer ${value.byteLength} bytes>`
  if (isDecimal(value)) return String(value)
  if (value instanceof Map || value instanceof Set) {
    return `<${value.constructor.name} ${value.size}>`
  }
  if (budget.ancestors.includes(value)) return '[Circular]'
  if (depth >= budget.maxDepth) return Array.isArray(value) ? '[…]' : '{…}'
  budget.ancestors.push(value)
  try {
    if (Array.isArray(value)) {
      const kept = Math.min(value.length, budget.maxItems)
      const out: unknown[] = []
      for (let i = 0; i < kept; i++) out.push(summarize(value[i], depth + 1, budget))
      if (value.length > kept) out.push(`…(+${value.length - kept} items)`)
      return out
    }
    const out: Record<string, unknown> = {}
    const proto = Object.getPrototypeOf(value)
    // Class instances (Prisma's Sql, ObjectEnumValue...) are shown by their own fields, named.
    if (proto !== OBJECT_PROTO && proto !== null && typeof proto?.constructor === 'function') {
      out.$type = proto.constructor.name
    }
    let seen = 0
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue
      if (seen === budget.maxKeys) {
        out['…'] = `+${Object.keys(value).length - seen} keys`
        break
      }
      seen++
      out[key] = summarize((value as Record<string, unknown>)[key], depth + 1, budget)
    }
    return out
  } finally {
    budget.ancestors.pop()
  }
}

function summarize(value: unknown, depth: number, budget: Budget): unknown {
  if (budget.nodes <= 0) return '…'
  budget.nodes--
  switch (typeof value) {
    case 'string':
      return summarizeString(value, budget)
    case 'number':
      return Number.isFinite(value) ? value : String(value)
    case 'boolean':
    case 'undefined':
      return value
    case 'bigint':
      return `${value}n`
    case 'symbol':
      return value.toString()
    case 'function':
      return `<Function ${value.name || 'anonymous'}>`
    default:
      return value === null ? null : summarizeObject(value as object, depth, budget)
  }
}

/**
 * Returns a JSON-safe copy of `value` within `limits`: BigInt as `'12n'`, Date as its ISO string,
 * Decimal as its digits, bytes as `'<Uint8Array 16 bytes>'`, cycles as `'[Circular]'`, long
 * strings, arrays and objects cut with a note of what was left out. Never throws.
 *
 * @example
 * ```ts
 * summarizeArgs({ where: { id: 12n, at: new Date(0) } })
 * // { where: { id: '12n', at: '1970-01-01T00:00:00.000Z' } }
 * ```
 */
export function summarizeArgs(value: unknown, limits: SummaryLimits = {}): unknown {
  const budget: Budget = {
    maxDepth: limits.maxDepth ?? 6,
    maxKeys: limits.maxKeys ?? 20,
    maxItems: limits.maxItems ?? 10,
    maxString: limits.maxString ?? 200,
    nodes: limits.maxNodes ?? 300,
    ancestors: [],
  }
  try {
    return summarize(value, 0, budget)
  } catch {
    // A getter that throws, a revoked proxy: the log entry must still be written.
    return '<unreadable>'
  }
}

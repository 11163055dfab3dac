/**
 * Cache key builders for the common key patterns: `entity:id`,
 * `entity:list:params`, `search:query:page`, `query:name:params`, `report:type:params`.
 *
 * Two kinds of input, two rules:
 * - **ids, names and strings** are inserted verbatim, so `CacheKeyBuilder.product(id) === 'product:'
 *   + id` holds exactly (a public contract) and keys stay readable in `redis-cli`. An id that itself
 *   contains `:` can therefore read like another pattern (`product('list:x')` is
 *   `productList('x')`): when ids come from untrusted input, pass parameters as an object instead.
 * - **parameter objects** are serialised canonically by `serializeParams`: keys sorted,
 *   `k=v` joined by `&`, and every reserved character inside a key or value percent-encoded, so
 *   property order never matters and no value can forge another key.
 */
import { invalid } from '../errors.js'

/** What an id may be: a non-empty string, a finite number, or a bigint. */
export type KeyPart = string | number | bigint

/** A scalar parameter value; `null` is kept (Prisma's "IS NULL"), distinct from the string `'null'`. */
export type ParamScalar = string | number | bigint | boolean | null | Date

/**
 * A parameter value: scalars, arrays and nested plain objects. Objects with a `toJSON` method
 * (`Date`, Prisma's `Decimal`) are serialised through it. `undefined` values are skipped, as
 * Prisma and `JSON.stringify` skip them.
 */
export type ParamValue =
  | ParamScalar
  | undefined
  | {
      /** The value serialised in place of the object. */
      toJSON(): unknown
    }
  | readonly ParamValue[]
  | { readonly [key: string]: ParamValue }

/** Parameters of a list, query or report key: a plain object, or a string used as is. */
export type KeyParams = string | { readonly [key: string]: ParamValue }

/** Checks one id-like argument and returns its text. */
function part(value: unknown, field: string): string {
  if (typeof value === 'string') {
    if (value === '') throw invalid(field, 'must not be an empty string')
    return value
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalid(field, `must be a finite number, got ${value}`)
    return String(value)
  }
  if (typeof value === 'bigint') return String(value)
  throw invalid(
    field,
    `must be a non-empty string, a finite number or a bigint, got ${value === null ? 'null' : typeof value}`,
  )
}

/**
 * Characters that carry structure in a serialised parameter list (`'` marks an empty string in an
 * array, so that `['']` and `[]` differ); `%`, the escape itself; glob metacharacters (`*`, `?`,
 * `\`; `[`/`]` are already here), so a key can be dropped into a Redis `MATCH` pattern literally;
 * and control characters, which make keys unreadable in logs and `redis-cli`.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are escaped on purpose
const RESERVED = /[%:&=,[\]{}~'*?\\\u0000-\u001f\u007f]/g

/** Percent-encodes {@link RESERVED} characters; an injective mapping, so distinct strings stay distinct. */
function escapeReserved(s: string): string {
  return s.replace(
    RESERVED,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  )
}

const isPlainObject = (v: object): boolean => {
  const proto = Object.getPrototypeOf(v)
  return proto === Object.prototype || proto === null
}

/**
 * The grammar (after escaping, none of `~ ' [ ] { } , & =` can come from a string): scalar → its
 * text, `null` → `~`; array → `[a,b]` (an empty string in it → `''`); nested object → `{k=v&k=v}`;
 * top-level object → `k=v&k=v` without braces, so `{ role: 'admin' }` gives `role=admin`.
 */
function encodeValue(value: unknown, path: string, seen: Set<object>): string {
  switch (typeof value) {
    case 'string':
      return escapeReserved(value)
    case 'number':
      if (!Number.isFinite(value)) throw invalid(path, `must be a finite number, got ${value}`)
      // -0 and 0 are the same filter.
      return String(value)
    case 'bigint':
    case 'boolean':
      return String(value)
    case 'object': {
      if (value === null) return '~'
      if (seen.has(value)) throw invalid(path, 'is a circular reference')
      seen.add(value)
      try {
        if (Array.isArray(value)) {
          const items = Array.from(value as unknown[], (v, i) => {
            // As in JSON, a hole or `undefined` in an array is null: dropping it would shift indexes.
            if (v === undefined) return '~'
            const text = encodeValue(v, `${path}[${i}]`, seen)
            return text === '' ? "''" : text
          })
          return `[${items.join(',')}]`
        }
        if (value instanceof Date) {
          if (Number.isNaN(value.getTime())) throw invalid(path, 'is an invalid Date')
          return escapeReserved(value.toISOString())
        }
        if (!isPlainObject(value)) {
          const toJSON = (value as { toJSON?: unknown }).toJSON
          if (typeof toJSON === 'function') return encodeValue(toJSON.call(value), path, seen)
          throw invalid(
            path,
            `is a ${value.constructor?.name ?? 'non-plain object'}; use plain objects, arrays and scalars`,
          )
        }
        return `{${encodeEntries(value as Record<string, unknown>, path, seen)}}`
      } finally {
        seen.delete(value)
      }
    }
    default:
      throw invalid(path, `cannot be a ${typeof value} in a cache key`)
  }
}

function encodeEntries(obj: Record<string, unknown>, path: string, seen: Set<object>): string {
  // Code-unit order, not localeCompare: the key must not depend on the machine's locale.
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  return keys
    .map((k) => `${escapeReserved(k)}=${encodeValue(obj[k], `${path}.${k}`, seen)}`)
    .join('&')
}

/**
 * Serialises parameters canonically: a string is returned as is; a plain object becomes its
 * entries sorted by key, `key=value` joined by `&`, with nested arrays as `[a,b]`, nested objects
 * as `{k=v}` and `null` as `~`. Reserved characters inside keys and values (`% : & = , [ ] { } ~ '
 * * ? \` and control characters) are percent-encoded, so two objects that differ give different
 * strings, and property order does not matter.
 *
 * Scalars are keyed by their text: `{ page: 1 }`, `{ page: 1n }` and `{ page: '1' }` give the same
 * key, on purpose — parameters often arrive as query-string text in one place and as numbers in
 * another, and they mean the same list. `undefined` values are skipped.
 *
 * @throws {ValidationError} `field` = `params.<path>` for a NaN/infinite number, an invalid Date, a
 *   circular reference, a function or symbol, or a class instance without `toJSON`.
 *
 * @example
 * ```ts
 * serializeParams({ userId: 123, period: 'week' }) // 'period=week&userId=123'
 * serializeParams({ q: 'a&b=c' })                  // 'q=a%26b%3Dc'
 * serializeParams({ deletedAt: null, id: [1, 2] }) // 'deletedAt=~&id=[1,2]'
 * ```
 */
export function serializeParams(params: KeyParams, field = 'params'): string {
  if (typeof params === 'string') return params
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    throw invalid(field, 'must be a string or a plain object of parameters')
  }
  if (!isPlainObject(params)) throw invalid(field, 'must be a plain object')
  const seen = new Set<object>([params])
  return encodeEntries(params as Record<string, unknown>, field, seen)
}

/**
 * Builders for common cache keys. Static methods only; pure functions of their
 * arguments. Every method throws a `ValidationError` (code `ERR_INVALID_OPTION`, `field` = the
 * argument name) for an empty string, a non-finite number or a value of another type.
 */
// biome-ignore lint/complexity/noStaticOnlyClass: the public API is `CacheKeyBuilder.product(id)`
export class CacheKeyBuilder {
  /**
   * One product.
   * @example `CacheKeyBuilder.product('prod-123') // 'product:prod-123'`
   */
  static product(id: KeyPart): string {
    return `product:${part(id, 'id')}`
  }

  /**
   * A product list. A string is used verbatim (e.g. `` `page:${page}:size:${size}` ``); an
   * object is serialised canonically by `serializeParams`.
   * @example
   * ```ts
   * CacheKeyBuilder.productList('page:1:size:20')           // 'product:list:page:1:size:20'
   * CacheKeyBuilder.productList({ size: 20, page: 1 })      // 'product:list:page=1&size=20'
   * ```
   */
  static productList(filters: KeyParams = {}): string {
    return `product:list:${serializeParams(filters, 'filters')}`
  }

  /**
   * A user's cart.
   * @example `CacheKeyBuilder.cart('user-123') // 'cart:user-123'`
   */
  static cart(userId: KeyPart): string {
    return `cart:${part(userId, 'userId')}`
  }

  /**
   * One order.
   * @example `CacheKeyBuilder.order('ord-9') // 'order:ord-9'`
   */
  static order(orderId: KeyPart): string {
    return `order:${part(orderId, 'orderId')}`
  }

  /**
   * One user.
   * @example `CacheKeyBuilder.user(123456) // 'user:123456'`
   */
  static user(id: KeyPart): string {
    return `user:${part(id, 'id')}`
  }

  /**
   * One category.
   * @example `CacheKeyBuilder.category('audio') // 'category:audio'`
   */
  static category(id: KeyPart): string {
    return `category:${part(id, 'id')}`
  }

  /**
   * One entity of any model (`entity:id`).
   * @example `CacheKeyBuilder.entity('team', 456) // 'team:456'`
   */
  static entity(entity: string, id: KeyPart): string {
    return `${part(entity, 'entity')}:${part(id, 'id')}`
  }

  /**
   * A page of search results. The page is a whole number (0 or more) and always the last segment,
   * so the key stays unambiguous even when the query contains `:`.
   * @example `CacheKeyBuilder.search('audio cables', 1) // 'search:audio cables:1'`
   */
  static search(query: string, page: number = 1): string {
    if (typeof query !== 'string' || query === '') {
      throw invalid('query', 'must be a non-empty string')
    }
    if (!Number.isSafeInteger(page) || page < 0) {
      throw invalid('page', `must be an integer >= 0, got ${String(page)}`)
    }
    return `search:${query}:${page}`
  }

  /**
   * A list of any entity (`entity:list:params`).
   * @example `CacheKeyBuilder.entityList('users', { role: 'admin' }) // 'users:list:role=admin'`
   */
  static entityList(entity: string, params: KeyParams = {}): string {
    return `${part(entity, 'entity')}:list:${serializeParams(params)}`
  }

  /**
   * A named query's result (`query:name:params`). Object parameters are sorted; pass a
   * string to keep an order of your own.
   * @example
   * ```ts
   * CacheKeyBuilder.query('performance', { userId: 123, period: 'week' })
   * // 'query:performance:period=week&userId=123'
   * CacheKeyBuilder.query('performance', 'userId=123&period=week')
   * // 'query:performance:userId=123&period=week'
   * ```
   */
  static query(name: string, params: KeyParams = {}): string {
    return `query:${part(name, 'name')}:${serializeParams(params)}`
  }

  /**
   * Report data (`report:type:params`).
   * @example `CacheKeyBuilder.report('performance', { teamId: 456 }) // 'report:performance:teamId=456'`
   */
  static report(type: string, params: KeyParams = {}): string {
    return `report:${part(type, 'type')}:${serializeParams(params)}`
  }

  /**
   * Any key: the parts joined by `:`, each validated like an id and inserted verbatim.
   * @example `CacheKeyBuilder.build('product', 42, 'views') // 'product:42:views'`
   */
  static build(...parts: KeyPart[]): string {
    if (parts.length === 0) throw invalid('parts', 'must contain at least one part')
    return parts.map((p, i) => part(p, `parts[${i}]`)).join(':')
  }
}

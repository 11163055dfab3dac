import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CacheKeyBuilder, serializeParams } from '../../src/cache/key-builder.js'
import { validationFailure } from '../support/validation.js'

describe('the documented key patterns, exactly', () => {
  it('product, cart, search, productList', () => {
    expect(CacheKeyBuilder.product('prod-123')).toBe('product:prod-123')
    expect(CacheKeyBuilder.cart('user-123')).toBe('cart:user-123')
    expect(CacheKeyBuilder.search('audio cables', 1)).toBe('search:audio cables:1')
    expect(CacheKeyBuilder.productList('page:1:size:20')).toBe('product:list:page:1:size:20')
  })
  it('product:id, product:list:filters, cart:userId, order:orderId, search:query:page', () => {
    const id = 'p1'
    const filters = 'cat=audio'
    expect(CacheKeyBuilder.product(id)).toBe(`product:${id}`)
    expect(CacheKeyBuilder.productList(filters)).toBe(`product:list:${filters}`)
    expect(CacheKeyBuilder.cart('u1')).toBe('cart:u1')
    expect(CacheKeyBuilder.order('o-77')).toBe('order:o-77')
    expect(CacheKeyBuilder.search('q', 3)).toBe('search:q:3')
  })
  it('entity:id, entity:list:params, query:name:params, report:type:params', () => {
    expect(CacheKeyBuilder.user(123456)).toBe('user:123456')
    expect(CacheKeyBuilder.user('123456')).toBe('user:123456')
    expect(CacheKeyBuilder.entity('user', 123456)).toBe('user:123456')
    expect(CacheKeyBuilder.entityList('users', { role: 'admin' })).toBe('users:list:role=admin')
    expect(CacheKeyBuilder.entityList('users', 'role=admin')).toBe('users:list:role=admin')
    // A string keeps the caller's own order; an object is sorted.
    expect(CacheKeyBuilder.query('performance', 'userId=123&period=week')).toBe(
      'query:performance:userId=123&period=week',
    )
    expect(CacheKeyBuilder.query('performance', { userId: 123, period: 'week' })).toBe(
      'query:performance:period=week&userId=123',
    )
    expect(CacheKeyBuilder.report('performance', { teamId: 456 })).toBe(
      'report:performance:teamId=456',
    )
  })
  it('the contract: product(id) === "product:" + id', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), (id) => {
        expect(CacheKeyBuilder.product(id)).toBe(`product:${id}`)
      }),
    )
  })
  it('category, user, order, cart with numbers and bigints', () => {
    expect(CacheKeyBuilder.category('audio')).toBe('category:audio')
    expect(CacheKeyBuilder.category(7)).toBe('category:7')
    expect(CacheKeyBuilder.order(12n)).toBe('order:12')
    expect(CacheKeyBuilder.cart(0)).toBe('cart:0')
    expect(CacheKeyBuilder.product(-1.5)).toBe('product:-1.5')
  })
  it('build joins parts with ":"', () => {
    expect(CacheKeyBuilder.build('product', 42, 'views')).toBe('product:42:views')
    expect(CacheKeyBuilder.build('a')).toBe('a')
    expect(CacheKeyBuilder.build('x', 9007199254740993n)).toBe('x:9007199254740993')
  })
  it('default params give an empty parameter segment, the same as {} and ""', () => {
    expect(CacheKeyBuilder.productList()).toBe('product:list:')
    expect(CacheKeyBuilder.productList({})).toBe('product:list:')
    expect(CacheKeyBuilder.productList('')).toBe('product:list:')
    expect(CacheKeyBuilder.query('top')).toBe('query:top:')
    expect(CacheKeyBuilder.report('daily')).toBe('report:daily:')
    expect(CacheKeyBuilder.entityList('users')).toBe('users:list:')
  })
  it('search page defaults to 1 and accepts 0', () => {
    expect(CacheKeyBuilder.search('cables')).toBe('search:cables:1')
    expect(CacheKeyBuilder.search('cables', 0)).toBe('search:cables:0')
  })
})

describe('validation', () => {
  it.each([
    ['product', (v: never) => CacheKeyBuilder.product(v), 'id'],
    ['user', (v: never) => CacheKeyBuilder.user(v), 'id'],
    ['category', (v: never) => CacheKeyBuilder.category(v), 'id'],
    ['cart', (v: never) => CacheKeyBuilder.cart(v), 'userId'],
    ['order', (v: never) => CacheKeyBuilder.order(v), 'orderId'],
    ['entity id', (v: never) => CacheKeyBuilder.entity('team', v), 'id'],
    ['entity name', (v: never) => CacheKeyBuilder.entity(v, 1), 'entity'],
    ['entityList', (v: never) => CacheKeyBuilder.entityList(v), 'entity'],
    ['query', (v: never) => CacheKeyBuilder.query(v), 'name'],
    ['report', (v: never) => CacheKeyBuilder.report(v), 'type'],
    ['build', (v: never) => CacheKeyBuilder.build('a', v), 'parts[1]'],
  ] as const)('%s rejects bad ids, naming the argument', (_name, call, field) => {
    for (const bad of ['', Number.NaN, Number.POSITIVE_INFINITY, null, undefined, {}, true, []]) {
      validationFailure(() => call(bad as never), field)
    }
  })
  it('messages say what was given', () => {
    expect(validationFailure(() => CacheKeyBuilder.product(''), 'id')).toContain('empty')
    expect(validationFailure(() => CacheKeyBuilder.product(Number.NaN), 'id')).toContain('NaN')
    expect(validationFailure(() => CacheKeyBuilder.product(null as never), 'id')).toContain('null')
    expect(validationFailure(() => CacheKeyBuilder.product({} as never), 'id')).toContain('object')
  })
  it('build needs at least one part', () => {
    validationFailure(() => CacheKeyBuilder.build(), 'parts')
  })
  it('search validates the query and the page', () => {
    validationFailure(() => CacheKeyBuilder.search(''), 'query')
    validationFailure(() => CacheKeyBuilder.search(3 as never), 'query')
    for (const page of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '2' as never]) {
      validationFailure(() => CacheKeyBuilder.search('q', page), 'page')
    }
  })
  it('rejects params that are neither a string nor a plain object', () => {
    validationFailure(() => CacheKeyBuilder.productList([] as never), 'filters')
    validationFailure(() => CacheKeyBuilder.productList(null as never), 'filters')
    validationFailure(() => CacheKeyBuilder.productList(5 as never), 'filters')
    validationFailure(() => CacheKeyBuilder.productList(new Map() as never), 'filters')
    validationFailure(() => CacheKeyBuilder.query('q', [] as never), 'params')
  })
  it('rejects values a key cannot carry, naming their path', () => {
    validationFailure(() => serializeParams({ a: Number.NaN }), 'params.a')
    validationFailure(
      () => serializeParams({ a: { b: [1, Number.POSITIVE_INFINITY] } }),
      'params.a.b[1]',
    )
    validationFailure(() => serializeParams({ d: new Date('nope') }), 'params.d')
    validationFailure(() => serializeParams({ f: (() => 1) as never }), 'params.f')
    validationFailure(() => serializeParams({ s: Symbol('x') as never }), 'params.s')
    validationFailure(() => serializeParams({ m: new Map() as never }), 'params.m')
    expect(
      validationFailure(() => serializeParams({ m: new Map() as never }), 'params.m'),
    ).toContain('Map')
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(validationFailure(() => serializeParams(cyclic as never), 'params.self')).toContain(
      'circular',
    )
    const arr: unknown[] = []
    arr.push(arr)
    validationFailure(() => serializeParams({ arr } as never), 'params.arr[0]')
  })
  it('allows the same object twice when it is not a cycle', () => {
    const shared = { x: 1 }
    expect(serializeParams({ a: shared, b: shared })).toBe('a={x=1}&b={x=1}')
  })
})

describe('canonical parameter serialisation', () => {
  it('sorts keys by code unit, whatever the property order', () => {
    expect(serializeParams({ b: 2, a: 1, C: 3 })).toBe('C=3&a=1&b=2')
    expect(serializeParams({ a: 1, b: 2, C: 3 })).toBe('C=3&a=1&b=2')
    expect(CacheKeyBuilder.productList({ size: 20, page: 1 })).toBe(
      CacheKeyBuilder.productList({ page: 1, size: 20 }),
    )
  })
  it('renders scalars, null, arrays, nested objects, dates and toJSON objects', () => {
    expect(
      serializeParams({
        s: 'x y',
        n: -2.5,
        b: true,
        big: 10n,
        nil: null,
        arr: ['a', 1, null],
        obj: { lte: 9, gte: 1 },
        when: new Date('2024-01-02T03:04:05.000Z'),
        dec: new FakeDecimal('19.99'),
        skip: undefined,
      }),
    ).toBe(
      'arr=[a,1,~]&b=true&big=10&dec=19.99&n=-2.5&nil=~&obj={gte=1&lte=9}&s=x y&when=2024-01-02T03%3A04%3A05.000Z',
    )
  })
  it('percent-encodes separators inside keys and values', () => {
    expect(serializeParams({ q: 'a&b=c' })).toBe('q=a%26b%3Dc')
    expect(serializeParams({ 'k=1&x': 'v' })).toBe('k%3D1%26x=v')
    expect(serializeParams({ q: 'x:y' })).toBe('q=x%3Ay')
    expect(serializeParams({ q: '100%' })).toBe('q=100%25')
    expect(serializeParams({ q: '*?[]\\' })).toBe('q=%2A%3F%5B%5D%5C')
    expect(serializeParams({ q: "it's\n" })).toBe('q=it%27s%0A')
  })
  it('cannot be forged by values holding separators', () => {
    expect(serializeParams({ a: '1&b=2' })).not.toBe(serializeParams({ a: '1', b: '2' }))
    expect(serializeParams({ a: '~' })).not.toBe(serializeParams({ a: null }))
    expect(serializeParams({ a: '[x]' })).not.toBe(serializeParams({ a: ['x'] }))
    expect(serializeParams({ a: '{b=1}' })).not.toBe(serializeParams({ a: { b: 1 } }))
    expect(serializeParams({ a: ['x,y'] })).not.toBe(serializeParams({ a: ['x', 'y'] }))
    expect(serializeParams({ a: [''] })).not.toBe(serializeParams({ a: [] }))
    expect(serializeParams({ a: ["''"] })).not.toBe(serializeParams({ a: [''] }))
    expect(serializeParams({ a: '' })).not.toBe(serializeParams({ a: null }))
    expect(CacheKeyBuilder.productList({ a: 'x:y' })).not.toContain('x:y')
  })
  it('skips undefined properties, keeps array positions as null (like JSON)', () => {
    expect(serializeParams({ a: 1, b: undefined })).toBe(serializeParams({ a: 1 }))
    // biome-ignore lint/suspicious/noSparseArray: a hole is what is being tested
    expect(serializeParams({ a: [1, , 3] as never })).toBe('a=[1,~,3]')
    expect(serializeParams({ a: [1, undefined, 3] })).toBe('a=[1,~,3]')
  })
  it('keys scalars by their text, on purpose (query-string values equal numbers)', () => {
    expect(serializeParams({ page: 1 })).toBe(serializeParams({ page: '1' }))
    expect(serializeParams({ page: 1n })).toBe(serializeParams({ page: '1' }))
    expect(serializeParams({ on: true })).toBe(serializeParams({ on: 'true' }))
    expect(serializeParams({ z: -0 })).toBe(serializeParams({ z: 0 }))
  })
  it('accepts null-prototype objects', () => {
    const o = Object.assign(Object.create(null), { b: 1, a: 2 })
    expect(serializeParams(o)).toBe('a=2&b=1')
  })
})

/** Stands in for Prisma's Decimal: a class instance whose toJSON gives its text. */
class FakeDecimal {
  constructor(private readonly text: string) {}
  toJSON(): string {
    return this.text
  }
}

// ---- property tests ----

/** What a filter object means, as far as a key is concerned: sorted keys, scalars as text. */
function meaning(value: unknown): unknown {
  if (value === null || value === undefined) return null
  if (Array.isArray(value)) return Array.from(value, meaning)
  if (value instanceof Date) return ['s', value.toISOString()]
  if (typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => [k, meaning(v)])
    return ['o', entries]
  }
  return ['s', String(value)]
}

/**
 * A decoder for the serialised form, written independently of the encoder. If every key decodes
 * back to the meaning of the object it came from, the encoding is injective: two objects with
 * different meanings cannot share a key. Any separator left unescaped breaks the round trip.
 */
function decode(text: string): unknown {
  return ['o', decodeEntries(text)]
}
function splitTopLevel(text: string, separator: string): string[] {
  const pieces: string[] = []
  let depth = 0
  let start = 0
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '[' || c === '{') depth++
    else if (c === ']' || c === '}') depth--
    else if (c === separator && depth === 0) {
      pieces.push(text.slice(start, i))
      start = i + 1
    }
    if (depth < 0) throw new Error(`unbalanced: ${text}`)
  }
  if (depth !== 0) throw new Error(`unbalanced: ${text}`)
  pieces.push(text.slice(start))
  return pieces
}
function decodeEntries(text: string): unknown[] {
  if (text === '') return []
  return splitTopLevel(text, '&').map((entry) => {
    const eq = entry.indexOf('=')
    if (eq < 0) throw new Error(`entry without "=": ${entry}`)
    return [decodeURIComponent(entry.slice(0, eq)), decodeValue(entry.slice(eq + 1))]
  })
}
function decodeValue(text: string): unknown {
  if (text === '~') return null
  if (text.startsWith('[') && text.endsWith(']')) {
    const inner = text.slice(1, -1)
    if (inner === '') return []
    return splitTopLevel(inner, ',').map((item) => (item === "''" ? ['s', ''] : decodeValue(item)))
  }
  if (text.startsWith('{') && text.endsWith('}')) return ['o', decodeEntries(text.slice(1, -1))]
  if (/[~'[\]{},&=:*?\\]/.test(text)) throw new Error(`unescaped separator in ${text}`)
  return ['s', decodeURIComponent(text)]
}

/** Strings drawn from an alphabet rich in separators, so that forging attempts are frequent. */
function separatorStrings(maxLength: number) {
  return fc.string({
    unit: fc.constantFrom(
      'a',
      '1',
      ':',
      '&',
      '=',
      ',',
      '[',
      ']',
      '{',
      '}',
      '~',
      "'",
      '%',
      '2',
      'F',
      ' ',
      '*',
      '\\',
      '\n',
    ),
    maxLength,
  })
}
function paramsArbitrary(text: fc.Arbitrary<string>) {
  const scalar = fc.oneof(
    text,
    fc.integer({ min: -3, max: 3 }),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.bigInt({ min: -3n, max: 3n }),
    fc.date({ min: new Date(0), max: new Date(3), noInvalidDate: true }),
  )
  const { value } = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      scalar,
      fc.array(tie('value'), { maxLength: 3 }),
      fc.dictionary(text, tie('value'), { maxKeys: 3 }),
    ),
  }))
  const params = fc.dictionary(text, value, { maxKeys: 4 }) as fc.Arbitrary<Record<string, never>>
  return { value, params }
}
const wide = paramsArbitrary(separatorStrings(6))
/**
 * A tiny domain of look-alikes (`null`/`'~'`/`''`, `[]`/`['']`/`'[]'`, `'1&b=1'`/`{ a: '1', b: '1' }`...)
 * where two independent draws often mean the same thing or nearly so: the pairs an encoder bug
 * would make collide.
 */
const narrowKey = fc.constantFrom('a', 'b', 'a=1')
const narrowScalar = fc.constantFrom<unknown>(
  '',
  '~',
  "''",
  '1',
  1,
  null,
  undefined,
  '1,1',
  '1&b=1',
  '1=1',
  '[]',
)
const narrowValue = fc.oneof(
  narrowScalar,
  fc.array(narrowScalar, { maxLength: 2 }),
  fc.dictionary(narrowKey, narrowScalar, { maxKeys: 2 }),
)
const narrow = {
  key: narrowKey,
  value: narrowValue,
  params: fc.dictionary(narrowKey, narrowValue, { maxKeys: 2 }) as fc.Arbitrary<
    Record<string, never>
  >,
}

describe('properties', () => {
  it('every key decodes back to what its object means (so the encoding is injective)', () => {
    fc.assert(
      fc.property(wide.params, (a) => {
        expect(decode(serializeParams(a))).toEqual(meaning(a))
      }),
      { numRuns: 3000 },
    )
  })
  it('two filter objects with different meanings never give the same key', () => {
    // Each run draws a crowd of objects and checks every pair through a map (key → meaning), so a
    // run tries thousands of pairs instead of one.
    fc.assert(
      fc.property(fc.array(narrow.params, { minLength: 100, maxLength: 300 }), (crowd) => {
        const seen = new Map<string, string>()
        for (const a of crowd) {
          const key = CacheKeyBuilder.productList(a)
          const what = JSON.stringify(meaning(a))
          const before = seen.get(key)
          if (before !== undefined) expect({ key, what }).toEqual({ key, what: before })
          seen.set(key, what)
        }
      }),
      { numRuns: 300 },
    )
  })
  it('a generated object and a small variation of it never collide', () => {
    // Random pairs rarely share structure; mutate one value so near-misses are tried too.
    fc.assert(
      fc.property(narrow.params, narrow.key, narrow.value, (a, k, v) => {
        const b = { ...a, [k]: v } as Record<string, never>
        const same = JSON.stringify(meaning(a)) === JSON.stringify(meaning(b))
        expect(serializeParams(a) === serializeParams(b)).toBe(same)
      }),
      { numRuns: 3000 },
    )
  })
  it('property order never matters', () => {
    fc.assert(
      fc.property(wide.params, (a) => {
        const reversed = Object.fromEntries(Object.entries(a).reverse())
        expect(serializeParams(reversed)).toBe(serializeParams(a))
      }),
    )
  })
  it('an object key never contains a ":" beyond the pattern, so it cannot alias another prefix', () => {
    fc.assert(
      fc.property(wide.params, (a) => {
        expect(CacheKeyBuilder.entityList('users', a).split(':')).toHaveLength(3)
      }),
    )
  })
})

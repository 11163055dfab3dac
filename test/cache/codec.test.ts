import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  cloneValue,
  copyValue,
  decodeEntry,
  encodedSize,
  encodeEntry,
  measureEntry,
  registerType,
} from '../../src/cache/codec.js'
import { ErrorCodes, ValidationError } from '../../src/errors.js'
import { Label, Money } from '../support/codec-types.js'
import { expectNoSharedReferences, expectSame } from '../support/same-value.js'

const isImmutable = (value: object): boolean => value instanceof Label

function prismaRow(id = 1) {
  return {
    id,
    email: `user${id}@example.com`,
    name: 'Ada Lovelace',
    balance: new Money(123_45n, 'EUR'),
    score: 98.5,
    active: true,
    createdAt: new Date('2024-02-29T12:34:56.789Z'),
    deletedAt: null,
    avatar: Buffer.from('png bytes'),
    posts: Array.from({ length: 5 }, (_, j) => ({
      id: j,
      title: `Post ${j}`,
      published: j % 2 === 0,
      views: BigInt(j) * 1_000_000_000_000n,
      createdAt: new Date(1_700_000_000_000 + j),
    })),
  }
}

function withOwnProtoKey(): Record<string, unknown> {
  return JSON.parse('{"a": 1, "__proto__": {"polluted": true}}') as Record<string, unknown>
}

const SUPPORTED: [string, unknown][] = [
  ['a string', 'héllo wörld 😀'],
  ['an empty string', ''],
  ['a string with lone surrogates', 'a\uD800b\uDC00'],
  ['an integer', 42],
  ['a negative integer', -7],
  ['a float', 3.25],
  ['MAX_SAFE_INTEGER', Number.MAX_SAFE_INTEGER],
  ['a large float', 1.7976931348623157e308],
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['-Infinity', Number.NEGATIVE_INFINITY],
  ['-0', -0],
  ['true', true],
  ['false', false],
  ['null', null],
  ['undefined', undefined],
  ['a small bigint', 5n],
  ['a negative bigint', -5n],
  ['2^64 - 1n', 2n ** 64n - 1n],
  ['a bigint beyond 64 bits', 2n ** 200n + 7n],
  ['a negative bigint beyond 64 bits', -(2n ** 100n)],
  ['a plain object', { a: 1, b: 'x', nested: { c: [1, 2] } }],
  ['properties whose value is undefined', { a: undefined, b: null, c: 0 }],
  ['an empty object', {}],
  ['a null-prototype object', Object.assign(Object.create(null) as object, { a: 1, b: { c: 2 } })],
  ['an own __proto__ key', withOwnProtoKey()],
  ['a key with a lone surrogate', { '\uDC00x': 1, y: 2 }],
  ['integer-like keys', { b: 1, 2: 'two', 1: 'one', a: 0 }],
  ['a key named constructor', { constructor: 'not a function', id: 1 }],
  [
    'an object with 70,000 keys',
    Object.fromEntries(Array.from({ length: 70_000 }, (_, i) => [`k${i}`, i])),
  ],
  ['an array', [1, 'a', null, undefined, [2, [3]]]],
  ['an empty array', []],
  // biome-ignore lint/suspicious/noSparseArray: holes are what this case is about
  ['a sparse array', [1, , 3]],
  ['a Date', new Date('2024-02-29T12:34:56.789Z')],
  ['a Date with whole seconds', new Date('2024-01-01T00:00:00Z')],
  ['a Date before 1970', new Date(-1e12 + 1)],
  ['the last valid Date', new Date(8.64e15)],
  ['an invalid Date', new Date(Number.NaN)],
  [
    'a Map with keys of several types',
    new Map<unknown, unknown>([
      [1, 'one'],
      ['1', 'string one'],
      [{ k: 1 }, [1]],
      [null, new Date(0)],
      [2n, new Map([['inner', new Set([1])]])],
    ]),
  ],
  ['an empty Map', new Map()],
  ['a Set', new Set<unknown>([1, '1', { a: 1 }, null, undefined])],
  ['a Uint8Array', new Uint8Array([0, 1, 255])],
  [
    'a Uint8Array view on a larger buffer',
    new Uint8Array(new Uint8Array([9, 8, 7, 6]).buffer, 1, 2),
  ],
  ['a Buffer', Buffer.from('bytes')],
  ['an empty Buffer', Buffer.alloc(0)],
  ['a Float64Array', new Float64Array([1.5, -0, Number.NaN, Number.POSITIVE_INFINITY])],
  ['an Int16Array', new Int16Array([-32768, 32767])],
  ['a Uint8ClampedArray', new Uint8ClampedArray([0, 128, 255])],
  ['a BigInt64Array', new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n])],
  ['an ArrayBuffer', new Uint8Array([1, 2, 3]).buffer],
  ['a RegExp', /ab+c/gi],
  ['a unicode sticky RegExp', /\p{L}+/suy],
  ['a registered type with clone', new Money(1999n, 'EUR')],
  ['a registered immutable type', new Label('frozen')],
  ['a typical Prisma row', prismaRow()],
  [
    'a mix nested in a Map',
    new Map<string, unknown>([
      ['row', { m: new Money(1n, 'USD'), tags: new Set(['a']), at: [new Date(1)] }],
    ]),
  ],
]

describe('copyValue, cloneValue and the L2 entry format carry every supported type', () => {
  describe.each(SUPPORTED)('%s', (_name, value) => {
    it('copyValue returns an equal value that shares nothing mutable with the original', () => {
      const copy = copyValue(value)
      expectSame(copy, value, { canonicalised: true })
      expectNoSharedReferences(value, copy, isImmutable)
    })

    it('cloneValue returns an equal value that shares nothing mutable with the copy', () => {
      const copy = copyValue(value)
      const clone = cloneValue(copy)
      expectSame(clone, copy)
      expectNoSharedReferences(copy, clone, isImmutable)
    })

    it.each([
      ['uncompressed', Number.POSITIVE_INFINITY],
      ['compressed when it helps', 0],
    ])('encodeEntry/decodeEntry round-trips it (%s)', (_mode, threshold) => {
      const copy = copyValue(value)
      const bytes = encodeEntry(
        { value: copy, freshUntil: 1_700_000_000_000, tags: ['t1', 't2'] },
        threshold,
      )
      const entry = decodeEntry(bytes, 'key')
      expectSame(entry.value, copy)
      expectNoSharedReferences(copy, entry.value, isImmutable)
      expect(entry).toMatchObject({
        freshUntil: 1_700_000_000_000,
        tags: ['t1', 't2'],
        native: false,
      })
      expect(entry.size).toBe(bytes.length)
    })

    it('measureEntry gives the size of the body encodeEntry writes, without encoding', () => {
      const copy = copyValue(value)
      const entry = { value: copy, freshUntil: 1_700_000_000_000, tags: ['t1'], loadMs: 12.5 }
      expect(measureEntry(entry).size).toBe(encodeEntry(entry, false).length - 10)
    })
  })
})

/** Sizes at every boundary of msgpack's headers and number formats, counted and packed. */
const BOUNDARIES: [string, unknown][] = [
  ...[31, 32, 255, 256, 65_535, 65_536].flatMap((n): [string, unknown][] => [
    [`an ASCII string of ${n} bytes`, 'a'.repeat(n)],
    [`a UTF-8 string of ${n} bytes, ${n - 1} of them ASCII`, `${'a'.repeat(n - 2)}é`],
    [`a string of ${Math.floor(n / 4)} astral characters`, '😀'.repeat(Math.floor(n / 4))],
  ]),
  ...[15, 16, 65_535, 65_536].flatMap((n): [string, unknown][] => [
    [`an array of ${n} items`, Array.from({ length: n }, (_, i) => i)],
    [`an object of ${n} keys`, Object.fromEntries(Array.from({ length: n }, (_, i) => [i, 0]))],
    [`a Set of ${n} members`, new Set(Array.from({ length: n }, (_, i) => i))],
  ]),
  [
    'integers at every format boundary',
    [0, 31, 32, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 2 ** 53, -1, -32, -33]
      .concat([-128, -129, -32_768, -32_769, -(2 ** 31), -(2 ** 31) - 1, 0.5, -0.5, 1e300])
      .concat([Number.MIN_VALUE]),
  ],
  [
    'bigints at every format boundary',
    [
      0n,
      -1n,
      2n ** 63n - 1n,
      2n ** 63n,
      -(2n ** 63n),
      -(2n ** 63n) - 1n,
      2n ** 64n - 1n,
      2n ** 64n,
    ],
  ],
  [
    'Dates at every timestamp boundary',
    [0, 1, 999, 1000, -1, -1000, 2 ** 32 * 1000 - 1000, 2 ** 32 * 1000 - 1, 2 ** 32 * 1000, 8.64e15]
      .concat([-8.64e15, Number.NaN])
      .map((ms) => new Date(ms)),
  ],
  ['-0 inside a record', { a: -0, b: [-0] }],
  ['a record with a key named constructor', [{ constructor: 1 }, { constructor: 'Object' }]],
]

describe('measureEntry counts exactly what msgpack writes', () => {
  it.each(BOUNDARIES)('%s', (_name, value) => {
    const entry = { value: copyValue(value), freshUntil: Number.POSITIVE_INFINITY, tags: [] }
    expect(measureEntry(entry).size).toBe(encodeEntry(entry, false).length - 10)
  })

  it('lets a memory-only cache set and get without loading msgpackr', async () => {
    // A fresh process: this one has loaded msgpackr long ago.
    const script = `
      import { createRequire } from 'node:module'
      import { CacheManager } from './src/index.ts'
      const cache = new CacheManager()
      const value = { id: 1, at: new Date(0), tags: ['a'], nested: { n: null, big: 2n ** 40n } }
      await cache.set('k', value)
      const back = await cache.get('k')
      await cache.close()
      const loaded = Object.keys(createRequire(import.meta.url).cache).filter((f) => f.includes('msgpackr'))
      console.log(JSON.stringify({ same: back.at.getTime() === 0 && back.nested.big === value.nested.big, loaded }))`
    const root = fileURLToPath(new URL('../..', import.meta.url))
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: root },
    )
    expect(JSON.parse(stdout)).toEqual({ same: true, loaded: [] })
  })

  it('gives every entry a fresh stamp of the form encodeEntry writes', () => {
    const first = measureEntry({ value: 1, freshUntil: 1, tags: [] }).stamp
    const second = measureEntry({ value: 1, freshUntil: 1, tags: [] }).stamp
    expect(first).toMatch(/^[0-9a-f]{16}$/)
    expect(second).not.toBe(first)
    expect(second.slice(0, 8)).toBe(first.slice(0, 8))
  })
})

describe('binary types keep their identity', () => {
  it('a Buffer comes back as a Buffer and a Uint8Array as a plain Uint8Array, from every path', () => {
    const value = { buffer: Buffer.from([1, 2]), bytes: new Uint8Array([3, 4]) }
    const copy = copyValue(value) as typeof value
    const decoded = decodeEntry(encodeEntry({ value: copy, freshUntil: 1, tags: [] }, false), 'k')
      .value as typeof value
    for (const out of [copy, cloneValue(copy), decoded]) {
      expect(Buffer.isBuffer(out.buffer)).toBe(true)
      expect(Buffer.isBuffer(out.bytes)).toBe(false)
      expect(Object.getPrototypeOf(out.bytes)).toBe(Uint8Array.prototype)
    }
  })

  it('copyValue gives a Buffer its own memory instead of a slab of the shared pool', () => {
    const copy = copyValue(Buffer.from('tiny')) as Buffer
    expect(copy.buffer.byteLength).toBe(4)
  })

  it('decodes Buffers as Buffers even when the entry arrives as a plain Uint8Array', () => {
    const bytes = encodeEntry({ value: { b: Buffer.from([7]) }, freshUntil: 1, tags: [] }, false)
    const entry = decodeEntry(new Uint8Array(bytes), 'k')
    expect(Buffer.isBuffer((entry.value as { b: unknown }).b)).toBe(true)
  })

  it('a decoded value does not alias the bytes it was decoded from', () => {
    const bytes = Buffer.from(
      encodeEntry(
        {
          value: { b: Buffer.from([1, 2, 3]), f: new Float64Array([1.5]) },
          freshUntil: 1,
          tags: [],
        },
        false,
      ),
    )
    const value = decodeEntry(bytes, 'k').value as { b: Buffer; f: Float64Array }
    bytes.fill(0)
    expect([...value.b]).toEqual([1, 2, 3])
    expect([...value.f]).toEqual([1.5])
  })
})

describe('cloneValue isolates callers', () => {
  it('mutating every part of a clone leaves the cached copy unchanged', () => {
    const copy = copyValue({
      row: prismaRow(),
      map: new Map([['k', { n: 1 }]]),
      set: new Set([{ n: 1 }]),
      bytes: new Uint8Array([1]),
      regex: /a/g,
    }) as {
      row: ReturnType<typeof prismaRow>
      map: Map<string, { n: number }>
      set: Set<{ n: number }>
      bytes: Uint8Array
      regex: RegExp
    }
    const before = cloneValue(copy)
    const clone = cloneValue(copy)
    clone.row.name = 'changed'
    clone.row.posts[0]!.title = 'changed'
    clone.row.posts.push(clone.row.posts[0]!)
    clone.row.createdAt.setTime(0)
    clone.row.balance.cents = 0n
    clone.row.avatar[0] = 0
    clone.map.get('k')!.n = 2
    clone.map.set('new', { n: 3 })
    for (const member of clone.set) member.n = 2
    clone.bytes[0] = 9
    clone.regex.lastIndex = 5
    expectSame(copy, before)
    expect(copy.regex.lastIndex).toBe(0)
  })

  it('shares instances of registered types that have no clone (declared immutable)', () => {
    const label = new Label('x')
    const copy = copyValue({ label }) as { label: Label }
    expect(copy.label).toBe(label)
    expect(cloneValue(copy).label).toBe(label)
  })

  it('returns primitives as they are', () => {
    for (const value of ['s', 1, -0, Number.NaN, 1n, true, null, undefined]) {
      expect(Object.is(cloneValue(value), value)).toBe(true)
    }
  })
})

describe('compression', () => {
  const rows = Array.from({ length: 50 }, (_, i) => prismaRow(i))
  const entry = { value: copyValue(rows), freshUntil: Number.POSITIVE_INFINITY, tags: ['rows'] }

  it('compresses a payload above the threshold, and it decodes equal', () => {
    const plain = encodeEntry(entry, Number.POSITIVE_INFINITY)
    const compressed = encodeEntry(entry, 1024)
    expect(plain[1]).toBe(0x20)
    expect(compressed[1]).toBe(0x21)
    expect(compressed.length).toBeLessThan(plain.length / 3)
    expectSame(decodeEntry(compressed, 'k').value, entry.value)
  })

  it('compresses only bodies strictly larger than the threshold', () => {
    const body = encodeEntry(entry, false).length - 10
    expect(encodeEntry(entry, body)[1]).toBe(0x20)
    expect(encodeEntry(entry, body - 1)[1]).toBe(0x21)
  })

  it('never compresses with Infinity or false', () => {
    expect(encodeEntry(entry, Number.POSITIVE_INFINITY)[1]).toBe(0x20)
    expect(encodeEntry(entry, false)[1]).toBe(0x20)
  })

  it('keeps an incompressible body uncompressed even with threshold 0', () => {
    const noise = Buffer.from(
      Array.from({ length: 4096 }, (_, i) => (i * 7919 + ((i * i) % 251)) % 256),
    )
    const random = Buffer.concat([noise, Buffer.from(crypto.getRandomValues(new Uint8Array(4096)))])
    expect(encodeEntry({ value: random, freshUntil: 1, tags: [] }, 0)[1]).toBe(0x20)
  })

  it.each([-1, Number.NaN, '10' as unknown as number])('rejects threshold %s', (threshold) => {
    expect(() => encodeEntry(entry, threshold)).toThrowError(
      expect.objectContaining({ code: ErrorCodes.INVALID_OPTION, field: 'compressionThreshold' }),
    )
  })
})

describe('encodeEntry', () => {
  it('keeps freshUntil and tags, including Infinity', () => {
    const bytes = encodeEntry(
      { value: 1, freshUntil: Number.POSITIVE_INFINITY, tags: [], loadMs: 12.5 },
      false,
    )
    expect(decodeEntry(bytes, 'k')).toEqual({
      value: 1,
      freshUntil: Number.POSITIVE_INFINITY,
      tags: [],
      native: false,
      size: bytes.length,
      stamp: bytes.subarray(2, 10).toString('hex'),
      loadMs: 12.5,
    })
  })

  it('gives every write its own stamp at a fixed offset', () => {
    const stamps = new Set<string>()
    for (let i = 0; i < 1000; i++) {
      const bytes = encodeEntry({ value: 'same', freshUntil: 1, tags: [] }, i % 2 === 0 ? false : 0)
      stamps.add(decodeEntry(bytes, 'k').stamp)
    }
    expect(stamps.size).toBe(1000)
  })

  it('returns a buffer that later encodes do not overwrite', () => {
    const first = encodeEntry({ value: { a: 'first' }, freshUntil: 1, tags: ['x'] }, false)
    for (let i = 0; i < 100; i++)
      encodeEntry({ value: { a: `other ${i}` }, freshUntil: 2, tags: [] }, false)
    expect(decodeEntry(first, 'k')).toMatchObject({
      value: { a: 'first' },
      freshUntil: 1,
      tags: ['x'],
    })
  })

  it.each([
    ['freshUntil', { value: 1, freshUntil: Number.NaN, tags: [] }],
    ['freshUntil', { value: 1, freshUntil: '1' as unknown as number, tags: [] }],
    ['tags', { value: 1, freshUntil: 1, tags: 'a' as unknown as string[] }],
    ['tags', { value: 1, freshUntil: 1, tags: [1] as unknown as string[] }],
  ])('rejects a malformed %s', (field, entry) => {
    expect(() => encodeEntry(entry, false)).toThrowError(expect.objectContaining({ field }))
  })

  it('ignores enumerable properties someone added to Object.prototype', () => {
    const proto = Object.prototype as Record<string, unknown>
    proto.injected = () => 'polluted'
    proto.injectedMap = new Map([[1, 2]])
    try {
      const value = copyValue({ a: 1, nested: { b: new Map([['k', 1]]) } })
      const decoded = decodeEntry(encodeEntry({ value, freshUntil: 1, tags: [] }, false), 'k').value
      expectSame(decoded, value)
      expect(Object.keys(decoded as object)).toEqual(['a', 'nested'])
    } finally {
      delete proto.injected
      delete proto.injectedMap
    }
  })

  it('encodedSize matches the msgpack body of an entry', () => {
    const row = copyValue(prismaRow())
    const body = encodeEntry({ value: row, freshUntil: 0, tags: [] }, false).length - 10
    // The tuple adds an array header, the freshUntil number, an empty tags array and loadMs 0.
    expect(encodedSize(row)).toBe(body - 4)
  })
})

const yes = (): boolean => true
const one = (): number => 1
const BAD_TYPES: [string, unknown][] = [
  ['type', null],
  ['type.name', { name: '', is: yes, serialize: one, deserialize: one }],
  ['type.name', { name: 'x'.repeat(201), is: yes, serialize: one, deserialize: one }],
  ['type.is', { name: 'n', is: true, serialize: one, deserialize: one }],
  ['type.serialize', { name: 'n', is: yes, deserialize: one }],
  ['type.deserialize', { name: 'n', is: yes, serialize: one, deserialize: 'no' }],
  ['type.clone', { name: 'n', is: yes, serialize: one, deserialize: one, clone: 1 }],
]

describe('registerType', () => {
  it.each(BAD_TYPES)('rejects a bad %s with a ValidationError', (field, type) => {
    const call = () => registerType(type as never)
    expect(call).toThrow(ValidationError)
    expect(call).toThrowError(expect.objectContaining({ code: ErrorCodes.INVALID_OPTION, field }))
  })

  it('replaces a type registered again under the same name', () => {
    class Version {
      constructor(readonly n: number) {}
    }
    const register = (tag: string) =>
      registerType<Version>({
        name: 'test.Version',
        is: (value): value is Version => value instanceof Version,
        serialize: (v) => `${tag}:${v.n}`,
        deserialize: (data) =>
          new Version(Number(String(data).split(':')[1]) + (tag === 'v2' ? 100 : 0)),
      })
    register('v1')
    register('v2')
    const bytes = encodeEntry({ value: new Version(1), freshUntil: 1, tags: [] }, false)
    expect(bytes.includes('v2:1')).toBe(true)
    expect((decodeEntry(bytes, 'k').value as Version).n).toBe(101)
  })

  it('calls the user methods with the type object as this', () => {
    class Point {
      constructor(readonly x: number) {}
    }
    registerType({
      name: 'test.Point',
      prefix: 'p=',
      is(value): value is Point {
        return value instanceof Point
      },
      serialize(this: { prefix: string }, point: Point) {
        return this.prefix + point.x
      },
      deserialize(this: { prefix: string }, data: unknown) {
        return new Point(Number((data as string).slice(this.prefix.length)))
      },
    } as Parameters<typeof registerType<Point>>[0])
    const decoded = decodeEntry(
      encodeEntry({ value: new Point(3), freshUntil: 1, tags: [] }, false),
      'k',
    )
    expect(decoded.value).toEqual(new Point(3))
  })
})

describe('property: arbitrary values of supported types survive every path', () => {
  const anyUnitString = fc.string({ unit: fc.nat(0xffff).map((code) => String.fromCharCode(code)) })
  const key = fc.oneof(
    fc.string(),
    anyUnitString,
    fc.constantFrom('__proto__', 'constructor', '0', 'toString'),
  )
  const leaf = fc.oneof(
    fc.constantFrom(null, undefined, true, false, -0, Number.NaN, new Date(Number.NaN)),
    fc.double(),
    fc.integer(),
    fc.bigInt({ min: -(2n ** 130n), max: 2n ** 130n }),
    fc.string(),
    anyUnitString,
    fc.date({ noInvalidDate: false }),
    fc.uint8Array({ maxLength: 8 }),
    fc.uint8Array({ maxLength: 8 }).map((bytes) => Buffer.from(bytes)),
    fc.float64Array({ maxLength: 4 }),
    fc.bigInt64Array({ maxLength: 4 }),
    fc.int16Array({ maxLength: 4 }),
    fc.constantFrom(/a+b/g, /x/imsu, /(?:)/),
    fc
      .record({ cents: fc.bigInt(), currency: fc.constantFrom('EUR', 'USD') })
      .map(({ cents, currency }) => new Money(cents, currency)),
    fc.string().map((text) => new Label(text)),
  )
  const { value } = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', maxDepth: 4 },
      leaf,
      tie('array'),
      tie('sparse'),
      tie('object'),
      tie('map'),
      tie('set'),
    ),
    array: fc.array(tie('value'), { maxLength: 5 }),
    sparse: fc.sparseArray(tie('value'), { maxLength: 5 }),
    object: fc.dictionary(key, tie('value'), { maxKeys: 5 }),
    map: fc
      .array(fc.tuple(tie('value'), tie('value')), { maxLength: 4 })
      .map((entries) => new Map(entries)),
    set: fc.array(tie('value'), { maxLength: 4 }).map((members) => new Set(members)),
  }))

  it('copy, clone and encode/decode (plain and compressed) give equal, unshared values', () => {
    fc.assert(
      fc.property(value, (original) => {
        const copy = copyValue(original)
        expectSame(copy, original, { canonicalised: true })
        expectNoSharedReferences(original, copy, isImmutable)
        const clone = cloneValue(copy)
        expectSame(clone, copy)
        expectNoSharedReferences(copy, clone, isImmutable)
        for (const threshold of [Number.POSITIVE_INFINITY, 0]) {
          const entry = decodeEntry(
            encodeEntry({ value: copy, freshUntil: 5, tags: ['t'] }, threshold),
            'k',
          )
          expectSame(entry.value, copy)
          expectNoSharedReferences(copy, entry.value, isImmutable)
        }
        const toMeasure = { value: copy, freshUntil: 5, tags: ['t'] }
        expect(measureEntry(toMeasure).size).toBe(encodeEntry(toMeasure, false).length - 10)
      }),
      { numRuns: 400 },
    )
  })
})

import { deflateRawSync } from 'node:zlib'
import fc from 'fast-check'
import { Packr } from 'msgpackr'
import { describe, expect, it } from 'vitest'
import {
  copyValue,
  decodeEntry,
  encodeEntry,
  measureEntry,
  registerType,
} from '../../src/cache/codec.js'
import { CorruptedValueError, ErrorCodes, SerializationError } from '../../src/errors.js'
import { Money } from '../support/codec-types.js'

class Fragile {
  constructor(readonly mode: 'is' | 'clone' | 'serialize' | 'deserialize' | 'bad-data') {}
}
registerType<Fragile>({
  name: 'test.Fragile',
  is: (value): value is Fragile => {
    if (value instanceof Fragile && value.mode === 'is') throw new Error('is exploded')
    return value instanceof Fragile
  },
  serialize: (value) => {
    if (value.mode === 'serialize') throw new Error('serialize exploded')
    if (value.mode === 'bad-data') return { nested: { fn: () => 1 } }
    return value.mode
  },
  deserialize: (data) => {
    if (data === 'deserialize') throw new Error('deserialize exploded')
    return new Fragile(data as Fragile['mode'])
  },
  clone: (value) => {
    if (value.mode === 'clone') throw new Error('clone exploded')
    return new Fragile(value.mode)
  },
})

class Foo {}
class MyMap extends Map {}

function cycle(): unknown {
  const a: Record<string, unknown> = { b: { c: [] as unknown[] } }
  ;((a.b as Record<string, unknown>).c as unknown[]).push(a.b)
  return { a }
}

function nested(levels: number): unknown {
  const root: unknown[] = []
  let current = root
  for (let i = 0; i < levels; i++) {
    const next: unknown[] = []
    current.push(next)
    current = next
  }
  return root
}

function selfMap(): unknown {
  const map = new Map<string, unknown>()
  map.set('me', map)
  return map
}

function selfSet(): unknown {
  const set = new Set<unknown>()
  set.add(set)
  return set
}

const selfObject = (): unknown => {
  const object: Record<string, unknown> = {}
  object.self = object
  return object
}

/** [what, value, exact path, message fragment]. */
const UNSUPPORTED: [string, () => unknown, string, string][] = [
  ['a function at the root', () => () => 1, 'value', 'function cannot be cached'],
  ['a nested method', () => ({ items: [1, 2, { fn() {} }] }), 'value.items[2].fn', 'function'],
  ['a symbol value', () => ({ s: Symbol('x') }), 'value.s', 'symbol cannot be cached'],
  ['a symbol-keyed property', () => ({ a: { [Symbol('k')]: 1 } }), 'value.a', 'symbol-keyed'],
  [
    'an object that contains itself',
    selfObject,
    'value.self',
    'circular reference (points back to value)',
  ],
  ['a cycle through an array', cycle, 'value.a.b.c[0]', 'points back to value.a.b'],
  ['a Map that contains itself', selfMap, 'value.get("me")', 'circular'],
  ['a Set that contains itself', selfSet, 'value.values()[0]', 'circular'],
  ['a function as a Map key', () => new Map([[() => 1, 1]]), 'value.keys()[0]', 'function'],
  ['a function under a number key', () => new Map([[7, () => 1]]), 'value.get(7)', 'function'],
  [
    'a function under an object key',
    () => new Map([[{}, () => 1]]),
    'value.values()[0]',
    'function',
  ],
  ['a symbol in a Set', () => ({ s: new Set([1, Symbol()]) }), 'value.s.values()[1]', 'symbol'],
  [
    'a key that is not an identifier',
    () => ({ 'a b': { c: () => 1 } }),
    'value["a b"].c',
    'function',
  ],
  ['a WeakMap', () => ({ w: new WeakMap() }), 'value.w', 'WeakMap cannot be cached'],
  ['a WeakSet', () => ({ w: new WeakSet() }), 'value.w', 'WeakSet cannot be cached'],
  ['a WeakRef', () => ({ w: new WeakRef({}) }), 'value.w', 'WeakRef cannot be cached'],
  ['a Promise', () => ({ p: Promise.resolve(1) }), 'value.p', 'await it'],
  ['an unregistered class', () => ({ list: [new Foo()] }), 'value.list[0]', 'registerType'],
  ['an Error', () => ({ e: new Error('x') }), 'value.e', 'instance of Error is not supported'],
  ['a subclass of Map', () => ({ m: new MyMap() }), 'value.m', 'instance of MyMap'],
  ['a DataView', () => ({ v: new DataView(new ArrayBuffer(2)) }), 'value.v', 'DataView'],
  ['a boxed primitive', () => ({ s: new String('x') }), 'value.s', 'instance of String'],
  [
    'an object with a custom prototype',
    () => ({ o: Object.create({ x: 1 }) }),
    'value.o',
    'not supported',
  ],
  [
    'nesting deeper than 256 levels',
    () => nested(300),
    `value${'[0]'.repeat(256)}`,
    'deeper than 256',
  ],
  ['a registered is() that throws', () => ({ f: new Fragile('is') }), 'value.f', 'is exploded'],
]

function expectUnserializable(call: () => unknown, path: string, fragment: string): void {
  let thrown: unknown
  try {
    call()
  } catch (error) {
    thrown = error
  }
  expect(thrown).toBeInstanceOf(SerializationError)
  const error = thrown as SerializationError
  expect(error.code).toBe(ErrorCodes.UNSERIALIZABLE)
  expect(error.field).toBe(path)
  expect(error.message).toContain(path)
  expect(error.message).toContain(fragment)
}

describe('copyValue names the exact path of what it cannot cache', () => {
  it.each(UNSUPPORTED)('%s', (_what, make, path, fragment) => {
    expectUnserializable(() => copyValue(make()), path, fragment)
  })

  it('uses the root name it is given', () => {
    expectUnserializable(() => copyValue({ fn: () => 1 }, 'items[3]'), 'items[3].fn', 'function')
  })

  it('reports a clone() that throws', () => {
    expectUnserializable(() => copyValue({ f: new Fragile('clone') }), 'value.f', 'clone exploded')
  })

  it('turns a throwing getter into a SerializationError', () => {
    const value = {
      get boom(): number {
        throw new Error('getter exploded')
      },
    }
    expectUnserializable(() => copyValue(value), 'value', 'getter exploded')
  })

  it('accepts a value nested exactly 255 levels deep', () => {
    expect(() => copyValue(nested(255))).not.toThrow()
  })

  it('accepts the same object twice when there is no cycle', () => {
    const shared = { n: 1 }
    const copy = copyValue({ a: shared, b: [shared] }) as { a: object; b: object[] }
    expect(copy.a).toEqual(shared)
    expect(copy.a).not.toBe(copy.b[0])
  })
})

describe('encodeEntry validates what it packs', () => {
  // Symbol keys and getters are copyValue's business; everything else is also caught here.
  const forEncode = UNSUPPORTED.filter(([what]) => what !== 'a symbol-keyed property')
  it.each(forEncode)('%s', (_what, make, path, fragment) => {
    expectUnserializable(
      () => encodeEntry({ value: make(), freshUntil: 1, tags: [] }, false),
      path,
      fragment,
    )
  })

  // A cache without L2 measures instead of encoding: it must refuse exactly the same values.
  it.each(forEncode)('measureEntry refuses it too: %s', (_what, make, path, fragment) => {
    expectUnserializable(
      () => measureEntry({ value: make(), freshUntil: 1, tags: [] }),
      path,
      fragment,
    )
  })

  it('measureEntry reports a serialize() that throws, and checks the fields encodeEntry checks', () => {
    expectUnserializable(
      () => measureEntry({ value: [new Fragile('serialize')], freshUntil: 1, tags: [] }),
      'value[0]',
      'serialize exploded',
    )
    expect(() => measureEntry({ value: 1, freshUntil: Number.NaN, tags: [] })).toThrow(/freshUntil/)
    expect(() => measureEntry({ value: 1, freshUntil: 1, tags: [1 as never] })).toThrow(/tags/)
    expect(() => measureEntry({ value: 1, freshUntil: 1, tags: [], loadMs: -1 })).toThrow(/loadMs/)
  })

  it('names the path inside what a registered serialize() returned', () => {
    expectUnserializable(
      () => encodeEntry({ value: { x: new Fragile('bad-data') }, freshUntil: 1, tags: [] }, false),
      'value.x<serialized by "test.Fragile">.nested.fn',
      'function',
    )
  })

  it('reports a serialize() that throws', () => {
    expectUnserializable(
      () => encodeEntry({ value: [new Fragile('serialize')], freshUntil: 1, tags: [] }, false),
      'value[0]',
      'serialize exploded',
    )
  })
})

const packr = new Packr({ moreTypes: true, useRecords: false, variableMapSize: true })
/** Magic, version 2 without flags, and an 8-byte write stamp. */
const HEADER = Buffer.from([0xc1, 0x20, 1, 2, 3, 4, 0, 0, 0, 1])
/** The same with the deflate flag, before the 4-byte inflated length. */
const COMPRESSED = Buffer.from([0xc1, 0x21, 1, 2, 3, 4, 0, 0, 0, 1])

function expectCorrupted(bytes: Uint8Array, fragment = ''): CorruptedValueError {
  let thrown: unknown
  try {
    decodeEntry(bytes, 'the:key')
  } catch (error) {
    thrown = error
  }
  expect(thrown).toBeInstanceOf(CorruptedValueError)
  const error = thrown as CorruptedValueError
  expect(error.code).toBe(ErrorCodes.CORRUPTED_VALUE)
  expect(error.field).toBe('the:key')
  expect(error.message).toContain(fragment)
  return error
}

function sampleEntry(threshold: number): Buffer {
  const value = {
    id: 1,
    name: 'x'.repeat(300),
    at: new Date(0),
    price: new Money(5n, 'EUR'),
    tags: new Map([['a', 1]]),
  }
  return encodeEntry({ value, freshUntil: 1_700_000_000_000, tags: ['t'] }, threshold)
}

describe('decodeEntry reads what native Redis commands leave', () => {
  it.each([
    ['42', 42],
    ['-3', -3],
    ['0', 0],
    ['9007199254740991', Number.MAX_SAFE_INTEGER],
    ['-9223372036854775808', -(2 ** 63)],
  ])('an INCRBY result %s', (text, value) => {
    expect(decodeEntry(Buffer.from(text), 'counter')).toEqual({
      value,
      freshUntil: Number.POSITIVE_INFINITY,
      tags: [],
      native: true,
      size: text.length,
      stamp: '',
      loadMs: 0,
    })
  })
})

describe('decodeEntry rejects anything else with CorruptedValueError', () => {
  it.each([
    ['', 'empty'],
    ['{"id":1,"name":"Ada"}', 'JSON'],
    ['[1,2,3]', 'JSON'],
    ['"a string"', 'JSON'],
    ['true', 'text'],
    ['null', 'text'],
    ['OK', 'text'],
    ['3.14', 'integer'],
    ['1e5', 'integer'],
    ['-', 'integer'],
    ['--1', 'integer'],
    ['-0', 'integer'],
    ['007', 'integer'],
    ['42 ', 'integer'],
    ['123456789012345678901', 'integer'],
    [' 42', 'text'],
  ])('another client wrote %j', (text, fragment) => {
    expectCorrupted(Buffer.from(text), fragment)
  })

  it('a plain msgpack value (no magic byte)', () => {
    expectCorrupted(packr.pack({ a: 1 }), 'first byte 0x81')
  })

  it.each([0x00, 0x10, 0x11, 0x30, 0xf0])('a version byte 0x%s', (byte) => {
    const bytes = Buffer.from(sampleEntry(Number.POSITIVE_INFINITY))
    bytes[1] = byte
    expectCorrupted(bytes, 'version')
  })

  it.each([0x22, 0x24, 0x28, 0x23])('unknown flags in 0x%s', (byte) => {
    const bytes = Buffer.from(sampleEntry(Number.POSITIVE_INFINITY))
    bytes[1] = byte
    expectCorrupted(bytes, 'flags')
  })

  it.each([
    ['uncompressed', Number.POSITIVE_INFINITY],
    ['compressed', 0],
  ])('every truncation of a valid %s entry', (_mode, threshold) => {
    const bytes = sampleEntry(threshold)
    expect(bytes[1]).toBe(threshold === 0 ? 0x21 : 0x20)
    for (let length = 1; length < bytes.length; length++) {
      expectCorrupted(bytes.subarray(0, length))
    }
  })

  it('trailing bytes after a valid entry', () => {
    const bytes = Buffer.concat([sampleEntry(Number.POSITIVE_INFINITY), Buffer.from([0x00])])
    expectCorrupted(bytes, 'end of buffer not reached')
  })

  it.each([
    ['not an array', { value: 1 }, 'tuple'],
    ['a short tuple', [1, 2, []], 'tuple'],
    ['a string freshUntil', [1, '1', [], 0], 'freshUntil'],
    ['a NaN freshUntil', [1, Number.NaN, [], 0], 'freshUntil'],
    ['tags that are not strings', [1, 1, [1], 0], 'tags'],
    ['tags that are not an array', [1, 1, 'tag', 0], 'tags'],
    ['a negative loadMs', [1, 1, [], -1], 'loadMs'],
    ['a string loadMs', [1, 1, [], '5'], 'loadMs'],
  ])('well-formed msgpack that is %s', (_what, tuple, fragment) => {
    expectCorrupted(Buffer.concat([HEADER, packr.pack(tuple)]), fragment)
  })

  it('an unknown msgpack extension', () => {
    const body = Buffer.from([0x94, 0xd4, 0x50, 0x00, 0x01, 0x90, 0x00])
    expectCorrupted(Buffer.concat([HEADER, body]), 'msgpack')
  })

  it.each([
    ['an unknown kind', [9], 'unknown stratacache extension kind 9'],
    ['a Map with an odd number of items', [0, 'k'], 'malformed'],
    ['a custom type without a name', [1], 'malformed'],
    ['a string box without code units', [3, 'x'], 'malformed'],
    ['an object box with a number key', [4, 1, 2], 'malformed'],
    ['no array at all', 'x', 'malformed'],
  ])('a stratacache extension with %s', (_what, data, fragment) => {
    const body = Buffer.concat([
      Buffer.from([0x94, 0xd4, 0x53, 0x00]),
      packr.pack(data),
      packr.pack(1),
      Buffer.from([0x90, 0x00]),
    ])
    expectCorrupted(Buffer.concat([HEADER, body]), fragment)
  })

  it('a custom type name nobody registered', () => {
    const bytes = Buffer.from(sampleEntry(Number.POSITIVE_INFINITY))
    const at = bytes.indexOf('test.Money')
    expect(at).toBeGreaterThan(0)
    bytes.write('test.Mxney', at)
    expectCorrupted(bytes, 'unknown custom type "test.Mxney"')
  })

  it('a registered deserialize() that throws', () => {
    const bytes = encodeEntry({ value: new Fragile('deserialize'), freshUntil: 1, tags: [] }, false)
    expectCorrupted(bytes, 'deserialize exploded')
  })

  it('a compressed body that does not inflate', () => {
    const bytes = Buffer.from(sampleEntry(0))
    bytes.fill(0xff, 14)
    expectCorrupted(bytes, 'inflate failed')
  })

  it('a compressed body that inflates to more or less than the header says', () => {
    const bytes = sampleEntry(0)
    const declared = bytes.readUInt32BE(10)
    for (const wrong of [declared - 1, declared + 1]) {
      const copy = Buffer.from(bytes)
      copy.writeUInt32BE(wrong, 10)
      expectCorrupted(copy, wrong < declared ? 'inflate failed' : 'inflated to')
    }
  })

  it.each([0, 0xffffffff])('an implausible inflated length %s', (length) => {
    const bytes = Buffer.from(sampleEntry(0))
    bytes.writeUInt32BE(length, 10)
    expectCorrupted(bytes, 'implausible')
  })

  it('a compressed body that holds garbage msgpack', () => {
    const garbage = Buffer.from([0x93, 0xc1, 0xc1])
    const header = Buffer.concat([COMPRESSED, Buffer.from([0, 0, 0, garbage.length])])
    expectCorrupted(Buffer.concat([header, deflateRawSync(garbage)]))
  })

  it('still decodes valid entries after failures', () => {
    const good = sampleEntry(Number.POSITIVE_INFINITY)
    expectCorrupted(good.subarray(0, good.length - 3))
    expect((decodeEntry(good, 'k').value as { id: number }).id).toBe(1)
  })
})

describe('property: decodeEntry never crashes and never returns garbage', () => {
  const isWellFormedEntry = (entry: ReturnType<typeof decodeEntry>): boolean =>
    typeof entry.freshUntil === 'number' &&
    Array.isArray(entry.tags) &&
    entry.tags.every((tag) => typeof tag === 'string')

  it('random bytes are either a Redis integer or CorruptedValueError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          const entry = decodeEntry(bytes, 'k')
          expect(entry.native).toBe(true)
          expect(Buffer.from(bytes).toString('latin1')).toMatch(/^(0|-?[1-9]\d*)$/)
        } catch (error) {
          expect(error).toBeInstanceOf(CorruptedValueError)
        }
      }),
      { numRuns: 2000 },
    )
  })

  it('random bodies behind a valid header decode to a well-formed entry or CorruptedValueError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.boolean(), (body, compressed) => {
        const bytes = compressed
          ? Buffer.concat([COMPRESSED, Buffer.from([0, 0, 0, 64]), body])
          : Buffer.concat([HEADER, body])
        try {
          expect(isWellFormedEntry(decodeEntry(bytes, 'k'))).toBe(true)
        } catch (error) {
          expect(error).toBeInstanceOf(CorruptedValueError)
        }
      }),
      { numRuns: 2000 },
    )
  })

  it('single-byte corruptions of a valid entry never escape as another error', () => {
    const good = sampleEntry(Number.POSITIVE_INFINITY)
    fc.assert(
      fc.property(fc.nat(good.length - 1), fc.nat(255), (at, byte) => {
        const bytes = Buffer.from(good)
        bytes[at] = byte
        try {
          expect(isWellFormedEntry(decodeEntry(bytes, 'k'))).toBe(true)
        } catch (error) {
          expect(error).toBeInstanceOf(CorruptedValueError)
        }
      }),
      { numRuns: 2000 },
    )
  })
})

describe('decodeEntry bounds what hostile bytes in Redis can make a reader do', () => {
  // What another msgpackr user could write under a cache key: references and cycles on.
  const cloning = new Packr({ moreTypes: true, useRecords: false, structuredClone: true })
  const entryOf = (value: unknown, packer = packr) =>
    Buffer.concat([HEADER, packer.pack([value, 1, [], 0])])

  it('refuses a value that refers to itself', () => {
    const cyclic: Record<string, unknown> = { id: 1 }
    cyclic.self = cyclic
    expectCorrupted(entryOf(cyclic, cloning), 'Structured clone extension is disabled')
  })

  it('refuses shared references, which a copy on read would expand 2^40 times', () => {
    let value: Record<string, unknown> = { leaf: 1 }
    for (let level = 0; level < 40; level++) value = { a: value, b: value }
    const bytes = entryOf(value, cloning)
    expect(bytes.length).toBeLessThan(1000)
    expectCorrupted(bytes, 'Structured clone extension is disabled')
  })

  it('refuses nesting deeper than any value the cache writes', () => {
    let deep: unknown = 1
    for (let level = 0; level < 300; level++) deep = [deep]
    expectCorrupted(entryOf(deep), 'nested deeper than 256 levels')
    let fine: unknown = 1
    for (let level = 0; level < 200; level++) fine = { x: fine }
    expect(decodeEntry(entryOf(fine), 'k').value).toEqual(fine)
  })

  it.each([
    ['an Error', new TypeError('boom'), 'TypeError'],
    ['a DataView', new DataView(new ArrayBuffer(4)), 'DataView'],
  ])('refuses %s, a type the cache never writes', (_what, value, fragment) => {
    expectCorrupted(entryOf({ nested: [value] }), fragment)
  })

  it('refuses entries larger than maxValueBytes, stored or declared', () => {
    const big = sampleEntry(Number.POSITIVE_INFINITY)
    const limit = big.length - 20
    expect(() => decodeEntry(big, 'k', limit)).toThrow(CorruptedValueError)
    expect(decodeEntry(big, 'k', big.length).value).toBeDefined()
    const compressed = sampleEntry(0)
    const declared = compressed.readUInt32BE(10)
    expect(() => decodeEntry(compressed, 'k', declared - 1)).toThrow(/maxValueBytes is/)
    expect(decodeEntry(compressed, 'k', declared).value).toBeDefined()
  })

  it('refuses to encode a value larger than maxValueBytes, naming the limit', () => {
    const value = { text: 'x'.repeat(2000) }
    expect(() => encodeEntry({ value, freshUntil: 1, tags: [] }, false, 1000)).toThrow(
      SerializationError,
    )
    expect(() => encodeEntry({ value, freshUntil: 1, tags: [] }, false, 1000)).toThrow(
      /more than maxValueBytes \(1000\)/,
    )
    expect(encodeEntry({ value, freshUntil: 1, tags: [] }, false, 4000).length).toBeGreaterThan(
      2000,
    )
  })

  it('measureEntry refuses the same value larger than maxValueBytes, with the same message', () => {
    const value = { text: 'x'.repeat(2000) }
    const limit = encodeEntry({ value, freshUntil: 1, tags: [] }, false).length - 10
    expect(() => measureEntry({ value, freshUntil: 1, tags: [] }, limit - 1)).toThrow(
      new RegExp(`encodes to ${limit} bytes, more than maxValueBytes \\(${limit - 1}\\)`),
    )
    expect(measureEntry({ value, freshUntil: 1, tags: [] }, limit).size).toBe(limit)
  })
})

import { readFileSync } from 'node:fs'
import { DbNull, Decimal, JsonNull, skip } from '@prisma/client/runtime/client'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { canonicalArgs, readKey, UncacheableArgs } from '../../src/prisma/keys/canonical-args.js'
import {
  identitiesOfFilter,
  identitiesOfRecord,
  identityOfWhere,
} from '../../src/prisma/keys/record-identity.js'
import { datamodelOf } from '../../src/prisma/schema/dmmf.js'
import { ModelGraph } from '../../src/prisma/schema/model-graph.js'

/**
 * The names a read is cached under and the identities that tie writes to record reads: equal
 * queries share a key whatever their property order; different queries never do; a record has
 * the same identity whichever form its key value came in.
 */

const graph = new ModelGraph(datamodelOf(readFileSync('prisma/schema.prisma', 'utf8')))
const node = (name: string) => graph.model(name)!

/** JSON-like values, with the types Prisma arguments carry. */
const argValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.integer(),
    fc.double({ noNaN: true }),
    fc.string(),
    fc.boolean(),
    fc.constant(null),
    fc.bigInt(),
    fc.date({ noInvalidDate: true }),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 6 }), tie('value'), { maxKeys: 4 }),
  ),
})).value

/** The same object with its properties in reverse order, at every depth. */
function reordered(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reordered)
  if (typeof value !== 'object' || value === null || value instanceof Date) return value
  return Object.fromEntries(
    Object.entries(value)
      .reverse()
      .map(([k, v]) => [k, reordered(v)]),
  )
}

describe('canonicalArgs', () => {
  it('property order never matters (property)', () => {
    fc.assert(
      fc.property(argValue, (value) => {
        expect(canonicalArgs(reordered(value))).toBe(canonicalArgs(value))
      }),
    )
  })

  it('different values never share a text (property)', () => {
    fc.assert(
      fc.property(argValue, argValue, (a, b) => {
        fc.pre(!Object.is(a, b))
        const same = canonicalArgs(a) === canonicalArgs(b)
        if (same) expect(reordered(a)).toEqual(reordered(b)) // only equal values may collide
      }),
      { numRuns: 500 },
    )
  })

  it('tells types apart: 5, "5", 5n, a date, a decimal and bytes', () => {
    const texts = [
      5,
      '5',
      5n,
      new Date(5),
      new Decimal(5),
      new Uint8Array([5]),
      [5],
      { 5: 5 },
      DbNull,
      JsonNull,
      null,
      true,
      'true',
    ].map(canonicalArgs)
    expect(new Set(texts).size).toBe(texts.length)
  })

  it('leaves out what Prisma ignores: undefined and Prisma.skip', () => {
    expect(canonicalArgs({ where: { id: 1, name: undefined, sku: skip } })).toBe(
      canonicalArgs({ where: { id: 1 } }),
    )
  })

  it('escapes keys that are not identifiers, so no key can forge another', () => {
    const forged = canonicalArgs({ 'a":1,"b': 2 })
    expect(forged).not.toBe(canonicalArgs({ a: 1, b: 2 }))
    expect(canonicalArgs({ 'a b': 1 })).toBe('{"a b":1}')
  })

  it('refuses an instance of an unknown class (the call goes uncached)', () => {
    class Money {
      cents = 5
    }
    expect(() => canonicalArgs({ where: { price: new Money() } })).toThrow(UncacheableArgs)
    expect(() => canonicalArgs({ where: { f: () => 1 } })).toThrow(UncacheableArgs)
  })

  it('keys stay short: long arguments are hashed', () => {
    const long = canonicalArgs({
      where: { name: { in: Array.from({ length: 100 }, (_, i) => `n${i}`) } },
    })
    const key = readKey('prisma', 'Product', 'findMany', long)
    expect(key.length).toBeLessThan(100)
    expect(key).toMatch(/^prisma:Product:findMany:#/)
    expect(readKey('prisma', 'Product', 'findMany', canonicalArgs({ take: 1 }))).toBe(
      'prisma:Product:findMany:{"take":1}',
    )
  })
})

describe('record identities', () => {
  it('a unique key given in any form Prisma accepts names the same record', () => {
    const sample = node('Sample')
    expect(identityOfWhere(sample, { id: 'x' })).toBe('id="x"')
    const product = node('Product')
    expect(identityOfWhere(product, { id: 5 })).toBe(
      identityOfWhere(product, { id: { equals: 5 } }),
    )
    expect(identityOfWhere(product, { sku: 'A', isActive: true })).toBe('sku="A"')
    const review = node('Review')
    expect(identityOfWhere(review, { productId_userId: { productId: 3, userId: 7 } })).toBe(
      'productId_userId=3,7',
    )
    expect(
      identityOfWhere(node('OrderItem'), { orderId_productId: { orderId: 1, productId: 2 } }),
    ).toBe('orderId_productId=1,2')
  })

  it('the primary key comes first; a where without a complete key names nothing', () => {
    expect(identityOfWhere(node('Product'), { sku: 'A', id: 5 })).toBe('id=5')
    expect(identityOfWhere(node('Review'), { productId_userId: { productId: 3 } })).toBeUndefined()
    expect(identityOfWhere(node('Product'), { name: 'x' })).toBeUndefined()
    expect(identityOfWhere(node('Product'), { id: { in: [1, 2] } })).toBeUndefined()
  })

  it('a record read back names itself under every unique key, with normalised values', () => {
    const record = { id: 5, sku: 'A', name: 'x' }
    expect(identitiesOfRecord(node('Product'), record)).toEqual(['id=5', 'sku="A"'])
    // Missing a unique field: it cannot name every read that may hold it.
    expect(identitiesOfRecord(node('Product'), { id: 5 })).toBeUndefined()
  })

  it('a filter pins records only on a model with a single unique key', () => {
    expect(identitiesOfFilter(node('Inventory'), { productId: { in: [1, 2] }, stock: 0 })).toEqual([
      'productId=1',
      'productId=2',
    ])
    expect(identitiesOfFilter(node('Inventory'), { stock: 0 })).toBeUndefined()
    // Product also has `sku`: a filter by id cannot name its reads by sku.
    expect(identitiesOfFilter(node('Product'), { id: 1 })).toBeUndefined()
  })

  it('values PostgreSQL holds as one give one identity: uuid spellings, citext, char(n), date', () => {
    const schema = new ModelGraph(
      datamodelOf(`
        datasource db {
          provider = "postgresql"
        }
        model Native {
          id   String   @id @db.Uuid
          code String   @unique @db.Char(6)
          day  DateTime @db.Date
          at   DateTime @db.Time(3)
          @@unique([day, at])
        }
      `),
    ).model('Native')!
    const spellings = [
      'a02154da-3e8c-4b7e-9f51-0123456789ab',
      'A02154DA-3E8C-4B7E-9F51-0123456789AB',
      '{a02154da-3e8c-4b7e-9f51-0123456789ab}',
      'a02154da3e8c4b7e9f510123456789ab',
    ]
    const ids = new Set(spellings.map((id) => identityOfWhere(schema, { id })))
    expect([...ids]).toEqual(['id="a02154da-3e8c-4b7e-9f51-0123456789ab"'])
    expect(identityOfWhere(schema, { code: 'ab' })).toBe(
      identityOfWhere(schema, { code: 'ab    ' }),
    )
    const key = (day: string, at: string) =>
      identityOfWhere(schema, { day_at: { day: new Date(day), at: new Date(at) } })
    expect(key('2026-03-05T00:00:00Z', '1970-01-01T10:30:00Z')).toBe(
      key('2026-03-05T18:00:00Z', '2001-09-09T10:30:00Z'),
    )
    expect(key('2026-03-05T00:00:00Z', '1970-01-01T10:30:00Z')).not.toBe(
      key('2026-03-06T00:00:00Z', '1970-01-01T10:30:00Z'),
    )
  })
})

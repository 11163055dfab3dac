import { Decimal } from '@prisma/client/runtime/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PrismaClient } from '../../prisma/generated/client.js'
import { CacheManager } from '../../src/index.js'
import { withCache } from '../../src/prisma/index.js'
import { createTestDatabase, type TestDatabase } from '../support/database.js'
import { deleteKeysUnder, REDIS_URL, rawRedis, uniquePrefix } from '../support/redis.js'
import { waitFor } from '../support/wait.js'

/**
 * Guarantee 6 through Prisma: a row with every scalar type comes back unchanged from the
 * database, from L1, and from Redis read by a second instance (its own L1, empty), types
 * included (`Decimal` as Prisma's Decimal, `BigInt`, `Date`, `Uint8Array`, enums, lists, JSON,
 * and `null` apart from a missing value).
 */

let db: TestDatabase
let base: PrismaClient
const prefix = uniquePrefix('prisma-fidelity')
const caches: CacheManager[] = []
const raw = rawRedis()

const extended = () => {
  const cache = new CacheManager({ redis: REDIS_URL, prefix })
  caches.push(cache)
  return base.$extends(withCache({ cache, env: false }))
}

beforeAll(async () => {
  db = await createTestDatabase('fidelity')
  base = db.client()
})

afterAll(async () => {
  for (const cache of caches) await cache.close()
  await deleteKeysUnder(raw, prefix)
  raw.disconnect()
  await base?.$disconnect()
  await db?.drop()
})

const full = {
  id: 'every-type',
  text: 'ü "quoted", tab\t, emoji 🎧',
  int: -2147483648,
  big: 9223372036854775807n,
  float: 1.5e-300,
  money: new Decimal('12345678901234.123456'),
  at: new Date('2026-12-01T19:05:47.123Z'),
  flag: false,
  json: { nested: [1, 'two', null, { deep: true }], n: -0.5, empty: {} },
  bytes: new Uint8Array([0, 1, 254, 255]),
  role: 'ADMIN' as const,
  labels: ['', 'a,b', 'ü'],
  numbers: [-1, 0, 2147483647],
  optText: 'set',
  optAt: new Date(0),
  optJson: [null, []],
  optBig: -42n,
  optMoney: new Decimal('-0.000000000000000000000000000001'),
}

const empty = {
  ...full,
  id: 'nulls',
  labels: [],
  numbers: [],
  optText: null,
  optAt: null,
  optBig: null,
  optMoney: null,
}

/** Checks types as well as values: toEqual alone would take a string for a Decimal. */
function expectSameRow(actual: unknown, expected: Record<string, unknown>): void {
  const row = actual as Record<string, unknown>
  expect(Object.keys(row).sort()).toEqual(Object.keys(expected).sort())
  expect(Decimal.isDecimal(row.money)).toBe(true)
  expect(String(row.money)).toBe(String(expected.money))
  expect(typeof row.big).toBe('bigint')
  expect(row.at).toBeInstanceOf(Date)
  expect(row.bytes).toBeInstanceOf(Uint8Array)
  expect(Buffer.isBuffer(row.bytes)).toBe(Buffer.isBuffer(expected.bytes))
  if (expected.optMoney === null) expect(row.optMoney).toBeNull()
  else expect(String(row.optMoney)).toBe(String(expected.optMoney))
  const plain = (r: Record<string, unknown>) => ({ ...r, money: undefined, optMoney: undefined })
  expect(plain(row)).toStrictEqual(plain(expected))
}

describe('every Prisma scalar type round-trips through L1 and Redis', () => {
  it.each([
    ['all fields set', full],
    ['optional fields null', empty],
  ] as const)('%s', async (_label, row) => {
    await base.sample.create({ data: { ...row, optJson: row.optJson ?? undefined } })
    const fromDatabase = await base.sample.findUnique({ where: { id: row.id } })
    const expected = fromDatabase as unknown as Record<string, unknown>

    const a = extended()
    const miss = await a.sample.findUnique({ where: { id: row.id } }).withCacheInfo()
    expect(miss.info.cacheStatus).toBe('miss')
    expectSameRow(miss.data, expected)

    // The fill keeps its copy in L1 once Redis stored it (its callers did not wait for that).
    const l1 = await waitFor(async () => {
      const read = await a.sample.findUnique({ where: { id: row.id } }).withCacheInfo()
      return read.info.tier === 'l1' ? read : undefined
    })
    expect(l1.info).toMatchObject({ cacheStatus: 'hit', tier: 'l1' })
    expectSameRow(l1.data, expected)

    // A second instance: nothing in its L1, the entry comes from Redis.
    const b = extended()
    const l2 = await b.sample.findUnique({ where: { id: row.id } }).withCacheInfo()
    expect(l2.info).toMatchObject({ cacheStatus: 'hit', tier: 'l2' })
    expectSameRow(l2.data, expected)

    // The list form carries the same values.
    const list = await b.sample.findMany({ where: { id: row.id } })
    expectSameRow(list[0], expected)
  })

  it('a caller mutating its result never changes what the next caller reads', async () => {
    const a = extended()
    const first = await a.sample.findUnique({ where: { id: 'every-type' } })
    ;(first!.json as { nested: unknown[] }).nested.push('mutated')
    first!.bytes[0] = 99
    const second = await a.sample.findUnique({ where: { id: 'every-type' } })
    expect((second!.json as { nested: unknown[] }).nested).toHaveLength(4)
    expect(second!.bytes[0]).toBe(0)
  })
})

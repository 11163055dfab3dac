import fc from 'fast-check'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { globMatcher, MAX_GLOB_LENGTH } from '../../src/cache/glob.js'
import { CacheManager, escapeGlob, MemoryBus, MemoryBusHub } from '../../src/index.js'
import { deleteKeysUnder, REDIS_URL, uniquePrefix } from '../support/redis.js'

// A database of its own: SCAN walks the whole database, which the rest of the suite fills with
// keys; here it walks only this test's few hundred, in one call.
const raw = new Redis(REDIS_URL, { db: 13, maxRetriesPerRequest: 1 })
const prefix = uniquePrefix('glob')
/** Characters that matter to globs, a multi-byte one, and plain letters. */
const KEY_CHARS = ['a', 'b', 'c', 'z', '-', '[', ']', '^', '\\', '*', '?', 'é', ':']
const PATTERN_CHARS = [...KEY_CHARS, '*', '?', '[', ']', '[^', 'a-c', 'z-a', '\\', '\\]']
const keys = fc.sample(
  fc.array(fc.constantFrom(...KEY_CHARS), { minLength: 1, maxLength: 6 }).map((c) => c.join('')),
  { numRuns: 300, seed: 7 },
)
const distinctKeys = [...new Set(keys)]

/** What Redis's own matcher says: SCAN MATCH over keys stored under the test's prefix. */
async function redisMatches(pattern: string): Promise<string[]> {
  const found: string[] = []
  let cursor = '0'
  do {
    const [next, names] = await raw.scan(
      cursor,
      'MATCH',
      escapeGlob(prefix) + pattern,
      'COUNT',
      1000,
    )
    cursor = next
    found.push(...names)
  } while (cursor !== '0')
  return found.map((name) => name.slice(prefix.length)).sort()
}

beforeAll(async () => {
  await raw.mset(...distinctKeys.flatMap((key) => [prefix + key, '1']))
})

afterAll(async () => {
  await deleteKeysUnder(raw, escapeGlob(prefix))
  raw.disconnect()
})

describe('globs match exactly what Redis matches', () => {
  it.each([
    ['a*', 'star'],
    ['?', 'one character'],
    ['[z-a]', 'a reversed range'],
    ['[\\]]*', 'an escaped ] in a class'],
    ['[]a', 'an empty class'],
    ['[^a]', 'a negated class'],
    ['[ab', 'a class left open'],
    ['a\\', 'a trailing backslash'],
    ['\\*', 'an escaped star'],
    ['?', 'a multi-byte character, which is two bytes to ?'],
    ['??', 'a multi-byte character, which is two bytes to ?'],
    ['[^a-é', 'a range to a byte over 0x7f, which Redis compares as a signed char'],
  ])('%s (%s)', async (pattern) => {
    const matches = globMatcher(pattern)
    expect(distinctKeys.filter(matches).sort()).toEqual(await redisMatches(pattern))
  })

  it('property: random globs agree with Redis on every key', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...PATTERN_CHARS), { minLength: 1, maxLength: 8 }),
        async (parts) => {
          // SCAN MATCH puts the escaped prefix first, so the pattern cannot reach into it.
          const pattern = parts.join('')
          const matches = globMatcher(pattern)
          expect(distinctKeys.filter(matches).sort()).toEqual(await redisMatches(pattern))
        },
      ),
      { numRuns: 500 },
    )
  })
})

describe('globs cost linear time, whatever the pattern', () => {
  it('a pattern of nine stars against a 60-character key (159 s as a RegExp)', () => {
    const matches = globMatcher('*a*a*a*a*a*a*a*a*a*b')
    const key = 'a'.repeat(60)
    for (let i = 0; i < 1000; i++) expect(matches(key)).toBe(false)
    expect(matches(`${key}b`)).toBe(true)
  })

  it('the longest glob accepted, against a long key', () => {
    const glob = '*a'.repeat(MAX_GLOB_LENGTH / 2)
    const matches = globMatcher(glob)
    expect(matches('a'.repeat(MAX_GLOB_LENGTH / 2 - 1))).toBe(false)
    expect(matches(`${'a'.repeat(2000)}b`)).toBe(false)
    expect(matches('a'.repeat(2000))).toBe(true)
  })

  it('escapeGlob makes text match only itself, and refuses what is not text', () => {
    const id = 'a*b?[c]\\'
    expect(globMatcher(escapeGlob(id))(id)).toBe(true)
    expect(globMatcher(escapeGlob(id))('aXb?[c]\\')).toBe(false)
    expect(() => escapeGlob(42 as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTION', field: 'text' }),
    )
  })

  it('refuses a glob longer than the bound, naming the field', async () => {
    const cache = new CacheManager()
    await expect(cache.invalidateByPattern('*'.repeat(MAX_GLOB_LENGTH + 1))).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
      field: 'pattern',
    })
    await cache.close()
  })
})

/** Two memory-only instances on one in-process bus. */
function pair(): [CacheManager, CacheManager] {
  const hub = new MemoryBusHub()
  const bus = () => new MemoryBus({ hub, channel: 'glob' })
  return [new CacheManager({ bus: bus() }), new CacheManager({ bus: bus() })]
}

describe('a pattern from another instance', () => {
  it('a RegExp is never run: every L1 entry is dropped instead', async () => {
    const [a, b] = pair()
    await b.set('user:1', 1)
    await b.set('product:1', 2)
    // Catastrophic backtracking on a long key if it were tested: it must not be.
    await a.invalidateByPattern(/^(a+)+$/)
    await b.set('a'.repeat(40), 3)
    await a.invalidateByPattern(/^(a+)+b$/)
    expect(await b.get('user:1')).toBeUndefined()
    expect(await b.get('product:1')).toBeUndefined()
    expect(await b.get('a'.repeat(40))).toBeUndefined()
    await Promise.all([a.close(), b.close()])
  })

  it('a glob drops the matching L1 entries only', async () => {
    const [a, b] = pair()
    await b.set('user:1', 1)
    await b.set('product:1', 2)
    await a.invalidateByPattern('user:*')
    expect(await b.get('user:1')).toBeUndefined()
    expect(await b.get('product:1')).toBe(2)
    await Promise.all([a.close(), b.close()])
  })
})

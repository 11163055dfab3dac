import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { cloneValue, copyValue } from '../../src/cache/clone.js'
import { clonerFor } from '../../src/cache/shape-clone.js'

/** Every object reachable from `a` is a different object from the one at the same place in `b`. */
function sharesNothing(a: unknown, b: unknown, seen = new Set<unknown>()): boolean {
  if (typeof a !== 'object' || a === null) return true
  if (a === b || seen.has(a)) return a !== b
  seen.add(a)
  if (Array.isArray(a)) return a.every((item, i) => sharesNothing(item, (b as unknown[])[i], seen))
  if (a instanceof Map || a instanceof Set || ArrayBuffer.isView(a) || a instanceof Date)
    return true
  return Object.keys(a).every((key) =>
    sharesNothing((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], seen),
  )
}

const values = fc.anything({
  withBigInt: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withTypedArray: true,
  withSparseArray: true,
  withUnicodeString: true,
  maxDepth: 4,
})

describe('shape-specialised clones', () => {
  it('copy exactly what cloneValue copies, and share no object with the source', () => {
    fc.assert(
      fc.property(values, (raw) => {
        const value = copyValue(raw)
        const cloner = clonerFor(value)
        const expected = cloneValue(value)
        const actual = cloner === undefined ? cloneValue(value) : cloner(value)
        expect(actual).toStrictEqual(expected)
        expect(sharesNothing(actual, value)).toBe(true)
      }),
      { numRuns: 2_000 },
    )
  })

  it('are generated once per shape and handle the keys JavaScript makes awkward', () => {
    const a = {
      id: 1,
      'quote"key': 'x',
      'line\nbreak': [1, 2],
      10: new Date(5),
      nested: { ok: true },
    }
    const b = {
      id: 2,
      'quote"key': 'y',
      'line\nbreak': [3],
      10: new Date(6),
      nested: { ok: false },
    }
    const cloner = clonerFor(a)!
    expect(cloner).toBeDefined()
    expect(clonerFor(b)).toBe(cloner)
    expect(cloner(b)).toStrictEqual(cloneValue(b))
    // An own __proto__ key must stay a key, not become the prototype: left to cloneValue.
    const proto = copyValue(JSON.parse('{"__proto__": {"polluted": true}, "a": 1}')) as object
    expect(clonerFor(proto)).toBeUndefined()
    // Primitives and exotic roots need no specialised clone.
    expect(clonerFor(42)).toBeUndefined()
    expect(clonerFor(new Map([[1, 2]]))).toBeUndefined()
  })

  it('a caller mutating what a shape clone returned does not change the next copy', () => {
    const value = copyValue({ list: [{ n: 1 }], when: new Date(1), tags: ['a'] }) as {
      list: { n: number }[]
      when: Date
      tags: string[]
    }
    const cloner = clonerFor(value)!
    const first = cloner(value) as typeof value
    first.list[0]!.n = 99
    first.when.setTime(0)
    first.tags.push('b')
    expect(cloner(value)).toStrictEqual({ list: [{ n: 1 }], when: new Date(1), tags: ['a'] })
  })
})

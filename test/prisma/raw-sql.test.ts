import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ValidationError } from '../../src/errors.js'
import { rawWriteTargets } from '../../src/prisma/raw/raw-sql.js'
import { corpus } from '../support/raw-sql-corpus.js'
import { deleted, sqlSoup, writes } from '../support/raw-sql-expectations.js'

describe('rawWriteTargets', () => {
  it.each(corpus)('%s', (sql, expected) => {
    expect(rawWriteTargets(sql)).toEqual(expected)
  })

  it('folds unquoted names to ASCII lower case and truncates names to 63 bytes', () => {
    expect(rawWriteTargets('DELETE FROM ÉtÉ')).toEqual(writes(deleted('ÉtÉ')))
    expect(rawWriteTargets(`DELETE FROM ${'A'.repeat(70)}`)).toEqual(
      writes(deleted('a'.repeat(63))),
    )
    expect(rawWriteTargets(`DELETE FROM "${'é'.repeat(40)}"`)).toEqual(
      writes(deleted('é'.repeat(31))),
    )
  })

  it('throws a ValidationError for a non-string, and nothing else for any string', () => {
    for (const bad of [undefined, null, 42, ['DELETE FROM t'], { sql: 'x' }]) {
      expect(() => rawWriteTargets(bad as unknown as string)).toThrow(ValidationError)
    }
    const anyText = fc.string({ unit: fc.nat(0xffff).map((code) => String.fromCharCode(code)) })
    fc.assert(
      fc.property(fc.oneof(anyText, sqlSoup), (sql) => {
        expect(['read', 'write', 'unknown']).toContain(rawWriteTargets(sql).kind)
      }),
      { numRuns: 2000 },
    )
  })
})

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type RawTable,
  type RawWriteTargets,
  rawWriteTargets,
} from '../../src/prisma/raw/raw-sql.js'
import { corpus } from '../support/raw-sql-corpus.js'
import {
  cascades,
  deleted,
  inserted,
  other,
  read,
  sqlSoup,
  unknown,
  updated,
  writes,
} from '../support/raw-sql-expectations.js'

const tokenized: [tokens: string[], expected: RawWriteTargets][] = [
  [['SELECT', '*', 'FROM', '"Order"', 'WHERE', 'id', '=', '$1', 'FOR', 'UPDATE'], read],
  [['SELECT', 'count', '(', '*', ')', ',', "'a;b'", 'FROM', 's', '.', 't'], read],
  [
    ['UPDATE', '"Order"', 'SET', 'note', '=', "E'x\\'y'", 'WHERE', 'id', '=', '$1'],
    writes(updated('Order', ['note'])),
  ],
  [
    ['INSERT', 'INTO', '"S"', '.', 'T', '(', 'a', ')', 'VALUES', '(', '$$;$$', ')'],
    writes(inserted('S.t')),
  ],
  [
    ['WITH', 'x', 'AS', '(', 'DELETE', 'FROM', 'q', 'RETURNING', '*', ')', 'SELECT', '1'],
    writes(deleted('q')),
  ],
  [['TRUNCATE', 'a', ',', 'b', 'CASCADE'], cascades('a', 'b')],
  [
    ['MERGE', 'INTO', 't', 'USING', 's', 'ON', 'true', 'WHEN', 'MATCHED', 'THEN', 'DELETE'],
    writes(other('t')),
  ],
  [['SELECT', 'x', 'INTO', 'y', 'FROM', 'z'], writes(other('y'))],
  [
    ['UPDATE', 't', 'SET', '(', 'a', ',', '"B"', ')', '=', '(', '1', ',', '2', ')'],
    writes(updated('t', ['a', 'B'])),
  ],
  [
    ['INSERT', 'INTO', 't', 'VALUES', '(', '1', ')', 'ON', 'CONFLICT', '(', 'id', ')'],
    writes(inserted('t')),
  ],
  [
    ['INSERT', 'INTO', 't', 'VALUES', '(', '1', ')', 'ON', 'CONFLICT', 'DO', 'UPDATE', 'SET'],
    writes(updated('t')),
  ],
  [['SELECT', 'my_func', '(', ')'], unknown],
  [['DO', '$f$ BEGIN; END $f$'], unknown],
]

const separator = fc
  .array(
    fc.constantFrom(
      ' ',
      '\n',
      '\t',
      '\r\n',
      ' /* ; */ ',
      ' /* /* nested */ DELETE */ ',
      ' -- x;\n',
    ),
    { minLength: 1, maxLength: 3 },
  )
  .map((parts) => parts.join(''))

/** `tokens` joined by arbitrary separators, with arbitrary separators around them. */
function spelled(tokens: string[]): fc.Arbitrary<string> {
  return fc
    .array(separator, { minLength: tokens.length + 1, maxLength: tokens.length + 1 })
    .map((gaps) => gaps[0] + tokens.map((token, i) => token + gaps[i + 1]).join(''))
}

describe('rawWriteTargets properties', () => {
  it.each(tokenized)(
    'spacing, comments and line breaks never change the answer: %j',
    (tokens, expected) => {
      expect(rawWriteTargets(tokens.join(' '))).toEqual(expected)
      fc.assert(
        fc.property(spelled(tokens), (sql) => {
          expect(rawWriteTargets(sql)).toEqual(expected)
        }),
        { numRuns: 200 },
      )
    },
  )

  it('a write followed by anything is never a read, and keeps its tables and changes', () => {
    const writeStatement = fc.constantFrom(...tokenized.filter(([, e]) => e.kind === 'write'))
    const following = fc.oneof(
      fc.constantFrom(...tokenized.map(([tokens]) => tokens.join(' '))),
      sqlSoup,
      fc.string(),
    )
    fc.assert(
      fc.property(writeStatement, following, ([tokens, expected], rest) => {
        const answer = rawWriteTargets(`${tokens.join(' ')};\n${rest}`)
        expect(answer.kind).not.toBe('read')
        if (answer.kind === 'write' && expected.kind === 'write') {
          for (const written of expected.tables) {
            const found = answer.tables.find((table) => sameTable(table, written))
            expect(found !== undefined && covers(found, written), JSON.stringify(found)).toBe(true)
          }
        }
      }),
      { numRuns: 2000 },
    )
  })

  it('a DELETE of a table added to any text leaves that table deleted or changed any way', () => {
    const target = fc.constantFrom(
      ...([
        ['t', deleted('t')],
        ['"Order"', deleted('Order')],
        ['s.t', deleted('s.t')],
        ['q', deleted('q')],
        ['a', deleted('a')],
      ] as const),
    )
    const text = fc.oneof(
      fc.constantFrom(
        ...corpus.map(([sql]) => sql),
        ...tokenized.map(([tokens]) => tokens.join(' ')),
      ),
      sqlSoup,
      fc.string(),
    )
    fc.assert(
      fc.property(target, text, fc.boolean(), ([name, expected], rest, deleteFirst) => {
        const deletion = `DELETE FROM ${name} WHERE id = 1`
        // The line break before `;` ends a `--` comment that would hide it.
        const answer = rawWriteTargets(
          deleteFirst ? `${deletion};\n${rest}` : `${rest}\n;\n${deletion}`,
        )
        expect(answer.kind).not.toBe('read')
        if (answer.kind !== 'write') return
        const found = answer.tables.find((table) => sameTable(table, expected))
        expect(['delete', 'other']).toContain(found?.change)
      }),
      { numRuns: 3000 },
    )
  })

  it('reads the columns of any SET list, whatever its expressions', () => {
    const column = fc.constantFrom(
      ['a', 'a'],
      ['Total', 'total'],
      ['"Total"', 'Total'],
      ['"we""ird"', 'we"ird'],
      ['update', 'update'],
      ['b[1]', 'b'],
      ['c.x', 'c'],
    )
    const expression = fc.constantFrom(
      ...['1', 'a + 1', 'DEFAULT', '$1', "'x, y WHERE z'", 'ARRAY[1, 2]', 'b IS DISTINCT FROM c'],
      ...['(SELECT x FROM u WHERE u.id = t.id)', 'extract(epoch FROM now())', 'lower(n)'],
      ...['CASE WHEN a THEN 1 ELSE 2 END', 'x::numeric(10, 2)', 'EXCLUDED.a', 'ROW(1, 2)'],
    )
    const assignment = fc.oneof(
      fc
        .tuple(column, expression)
        .map(([[sql, name], value]) => ({ sql: `${sql} = ${value}`, names: [name] })),
      fc
        .tuple(fc.array(column, { minLength: 1, maxLength: 3 }), expression)
        .map(([columns, value]) => ({
          sql: `(${columns.map(([sql]) => sql).join(', ')}) = ${value}`,
          names: columns.map(([, name]) => name),
        })),
    )
    const statement = fc.constantFrom(
      (set: string) => `UPDATE t SET ${set}`,
      (set: string) => `UPDATE ONLY t AS x SET ${set} FROM u WHERE x.id = u.id RETURNING *`,
      (set: string) => `WITH w AS (UPDATE t SET ${set} WHERE id = 1 RETURNING *) SELECT 1`,
      (set: string) =>
        `INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET ${set} WHERE t.a > 0`,
    )
    fc.assert(
      fc.property(fc.array(assignment, { minLength: 1, maxLength: 4 }), statement, (list, wrap) => {
        const sql = wrap(list.map((item) => item.sql).join(', '))
        const columns = [...new Set(list.flatMap((item) => item.names))]
        expect(rawWriteTargets(sql)).toEqual(writes(updated('t', columns)))
      }),
      { numRuns: 1000 },
    )
  })
})

function sameTable(first: RawTable, second: RawTable): boolean {
  return first.schema === second.schema && first.name === second.name
}

/** `combined` may change at least what `original` does (see `combineChanges`). */
function covers(combined: RawTable, original: RawTable): boolean {
  if (combined.change === 'other') return true
  if (original.change === 'insert') return combined.change !== 'delete'
  if (combined.change !== original.change) return false
  if (combined.columns === undefined) return true
  return original.columns?.every((column) => combined.columns?.includes(column)) ?? false
}

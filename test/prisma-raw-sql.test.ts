import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ValidationError } from '../src/errors.js'
import {
  type RawChange,
  type RawTable,
  type RawWriteTargets,
  rawWriteTargets,
} from '../src/prisma/raw/raw-sql.js'

const read: RawWriteTargets = { kind: 'read' }
const unknown: RawWriteTargets = { kind: 'unknown' }

/** A write of these tables. */
function writes(...tables: RawTable[]): RawWriteTargets {
  return { kind: 'write', tables }
}

/** A `TRUNCATE ... CASCADE` of tables named as in {@link table}. */
function cascades(...names: string[]): RawWriteTargets {
  return { kind: 'write', tables: names.map(other), cascade: true }
}

/** The table `name` or `schema.name` (split at the first dot), changed as `change`. */
function table(qualified: string, change: RawChange, columns?: string[]): RawTable {
  const dot = qualified.indexOf('.')
  const [schema, name] =
    dot < 0 ? [undefined, qualified] : [qualified.slice(0, dot), qualified.slice(dot + 1)]
  return columns === undefined ? { schema, name, change } : { schema, name, change, columns }
}

const inserted = (name: string) => table(name, 'insert')
/** Without `columns`: any column may have been set. */
const updated = (name: string, columns?: string[]) => table(name, 'update', columns)
const deleted = (name: string) => table(name, 'delete')
const other = (name: string) => table(name, 'other')

const corpus: [sql: string, expected: RawWriteTargets][] = [
  // Reads.
  ['SELECT * FROM "User" WHERE id = $1', read],
  ['select count(*), max(price), coalesce(name, $1) from orders group by name', read],
  ['VALUES (1), (2)', read],
  ['TABLE orders', read],
  ['SHOW search_path', read],
  ['SET search_path TO app, public', read],
  ['BEGIN', read],
  ['SELECT * FROM t WHERE id = 1 FOR UPDATE SKIP LOCKED', read],
  ['SELECT * FROM a FOR NO KEY UPDATE OF a', read],
  ['WITH x AS (SELECT 1 AS n), y (m) AS (SELECT n FROM x) SELECT * FROM y', read],
  ['WITH RECURSIVE t(n) AS (VALUES (1) UNION ALL SELECT n + 1 FROM t) SELECT sum(n) FROM t', read],
  ['(SELECT 1) UNION (SELECT 2)', read],
  ['SELECT x::varchar(10), CAST(y AS numeric(10, 2)), extract(epoch FROM now()) FROM t', read],
  ['SELECT count(*) FILTER (WHERE x > 0) OVER (PARTITION BY g), lower(n) FROM t', read],
  [
    "SELECT * FROM a LEFT JOIN (SELECT * FROM b) b ON a.id = b.a_id WHERE a.n LIKE ('%' || $1)",
    read,
  ],
  ['SELECT * FROM unnest($1::int[]) AS u(id), generate_series(1, 3) AS g(i)', read],
  ["SELECT pg_catalog.count(*), jsonb_build_object('a', 1) FROM t", read],
  ['EXPLAIN SELECT * FROM t', read],
  ['EXPLAIN DELETE FROM t', read],
  ['COPY t TO STDOUT', read],
  ['COPY (SELECT * FROM t) TO STDOUT WITH (FORMAT csv)', read],
  // Keywords, separators and names hidden in literals, comments and quoted identifiers.
  ["select count(*) from orders where status = 'update; delete from x'", read],
  ["SELECT 'it''s; DROP TABLE t' AS s", read],
  ["SELECT E'it\\'s; update x' AS s", read],
  ["SELECT E'\\\\'; DELETE FROM t", writes(deleted('t'))],
  ['SELECT $tag$ ; delete from x $tag$ AS s, $$ $tag$ ; $$ AS d', read],
  ['SELECT 1 /* outer /* inner */ still comment; delete from x */', read],
  ['SELECT 1 -- ; delete from x', read],
  ['SELECT "delete from x; --" FROM "update"', read],
  ['SELECT update FROM t WHERE update > 1 AND (update IS NOT NULL)', read],
  ['UPDATE t SET update = 1, "delete" = 2', writes(updated('t', ['update', 'delete']))],
  ['SELECT insert INTO t FROM x', writes(other('t'))],
  ['SELECT 1into t FROM x', writes(other('t'))],
  ['SELECT 1.5e-3, .5, 0x1F, 1_000, 1..2 FROM x', read],
  ['INSERT INTO t (update, "delete", merge) VALUES (1, 2, 3)', writes(inserted('t'))],
  ["SELECT '--' AS a; DELETE FROM t", writes(deleted('t'))],
  ['/* DELETE FROM t */ SeLeCt a$b FROM t', read],
  ["UPDATE t SET a = 1 WHERE b = $$it's$$", writes(updated('t', ['a']))],
  ["SELECT U&'\\0041' AS a", read],
  ['DELETE FROM U&"d\\0061t"', unknown],
  ['', read],
  ['   \n\t ', read],
  ['-- only a comment', read],
  ['/* only /* a */ comment */', read],
  [';;', read],
  // Writes, with names resolved as PostgreSQL does.
  ['UPDATE "Order" SET total = $1 WHERE id = $2', writes(updated('Order', ['total']))],
  ['UPDATE ORDERS SET total = 0', writes(updated('orders', ['total']))],
  [
    'DELETE FROM "Order"; DELETE FROM "order"; DELETE FROM Orders',
    writes(deleted('Order'), deleted('order'), deleted('orders')),
  ],
  ['DELETE FROM order', unknown],
  ['update "s"."T" set a = 1', writes(updated('s.T', ['a']))],
  ['UPDATE App.Orders o SET total = 0', writes(updated('app.orders', ['total']))],
  ['INSERT INTO "s"."My Table" ("a""b") VALUES (1)', writes(inserted('s.My Table'))],
  ['INSERT INTO "we""ird" VALUES (1)', writes(inserted('we"ird'))],
  ['INSERT INTO db.public.t VALUES (1)', writes(inserted('public.t'))],
  [
    'INSERT INTO public.users (email) VALUES ($1) ' +
      'ON CONFLICT (email) DO UPDATE SET name = EXCLUDED.name',
    writes(updated('public.users', ['name'])),
  ],
  [
    'INSERT INTO t AS a (x, y) VALUES (1, 2) ' +
      'ON CONFLICT (x) DO UPDATE SET (x, y) = (EXCLUDED.x, 3)',
    writes(updated('t', ['x', 'y'])),
  ],
  ['INSERT INTO log SELECT * FROM events WHERE ts > now()', writes(inserted('log'))],
  ['UPDATE a SET x = b.x FROM b WHERE a.id = b.id', writes(updated('a', ['x']))],
  ['UPDATE ONLY a * SET (x, y) = (1, 2) RETURNING *', writes(updated('a', ['x', 'y']))],
  ['DELETE FROM a USING b WHERE a.id = b.id', writes(deleted('a'))],
  ['DELETE FROM ONLY a WHERE id IN (SELECT id FROM b)', writes(deleted('a'))],
  ['WITH x AS (UPDATE t SET a = 1 RETURNING *) SELECT * FROM x', writes(updated('t', ['a']))],
  [
    'WITH moved AS (DELETE FROM queue RETURNING *) INSERT INTO done SELECT * FROM moved',
    writes(inserted('done'), deleted('queue')),
  ],
  [
    'WITH a AS (SELECT 1), b (x) AS MATERIALIZED (INSERT INTO t VALUES (1) RETURNING v) SELECT 1',
    writes(inserted('t')),
  ],
  [
    'WITH a AS (WITH b AS (SELECT 1) DELETE FROM t RETURNING *) SELECT * FROM a',
    writes(deleted('t')),
  ],
  [
    'MERGE INTO target t USING source s ON t.id = s.id WHEN MATCHED THEN UPDATE SET v = s.v ' +
      'WHEN NOT MATCHED THEN INSERT (id, v) VALUES (s.id, s.v)',
    writes(other('target')),
  ],
  ['TRUNCATE a, b CASCADE', cascades('a', 'b')],
  ['TRUNCATE TABLE ONLY "S"."T" RESTART IDENTITY', writes(other('S.T'))],
  ['COPY t FROM STDIN', writes(other('t'))],
  ['COPY s.t (a, b) FROM STDIN WITH (FORMAT csv)', writes(other('s.t'))],
  ['COPY (DELETE FROM t RETURNING *) TO STDOUT', writes(deleted('t'))],
  ['SELECT * INTO newtable FROM t', writes(other('newtable'))],
  ['SELECT a, b INTO TEMP TABLE snapshot FROM t', writes(other('snapshot'))],
  ['EXPLAIN ANALYZE DELETE FROM t', writes(deleted('t'))],
  ['EXPLAIN (ANALYZE, FORMAT JSON) UPDATE t SET a = 1', writes(updated('t', ['a']))],
  ['SELECT 1; DELETE FROM t WHERE id = 1', writes(deleted('t'))],
  ['DELETE FROM a; DELETE FROM "A"; delete from A', writes(deleted('a'), deleted('A'))],
  ['REFRESH MATERIALIZED VIEW CONCURRENTLY stats', writes(other('stats'))],
  // DDL.
  [
    'CREATE TABLE t (id int PRIMARY KEY, name varchar(10), o int REFERENCES o (id))',
    writes(other('t')),
  ],
  ['CREATE TEMP TABLE IF NOT EXISTS t AS SELECT * FROM u', writes(other('t'))],
  [
    'CREATE TABLE p PARTITION OF parent FOR VALUES FROM (1) TO (10)',
    writes(other('p'), other('parent')),
  ],
  ['ALTER TABLE users ADD COLUMN age int DEFAULT 0', writes(other('users'))],
  ['ALTER TABLE users_new RENAME TO users', writes(other('users_new'), other('users'))],
  ['ALTER TABLE t ADD FOREIGN KEY (a) REFERENCES o (id) ON DELETE CASCADE', writes(other('t'))],
  ['ALTER TABLE t DROP COLUMN c CASCADE', unknown],
  ['ALTER TABLE s.a SET SCHEMA s2', writes(other('s.a'), other('s2.a'))],
  ['ALTER TABLE parent ATTACH PARTITION p FOR VALUES IN (1)', writes(other('parent'), other('p'))],
  ['DROP TABLE IF EXISTS a, b', writes(other('a'), other('b'))],
  ['DROP TABLE a CASCADE', unknown],
  ['CREATE INDEX i ON t (a)', unknown],
  ['CREATE VIEW v AS SELECT 1', unknown],
  ['CREATE TABLE t AS EXECUTE p', unknown],
  // How each table changes: inserts, updates with the columns they set, upserts.
  ['INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING', writes(inserted('t'))],
  ['INSERT INTO t (a) VALUES (1) ON CONFLICT (a) DO NOTHING RETURNING *', writes(inserted('t'))],
  [
    'INSERT INTO t (a) VALUES (1) ON CONFLICT ON CONSTRAINT t_pkey ' +
      'DO UPDATE SET b = 2 WHERE t.c > 0 RETURNING *',
    writes(updated('t', ['b'])),
  ],
  [
    'INSERT INTO "User" (email) SELECT e FROM (SELECT 1) x ON CONFLICT (email) ' +
      'DO UPDATE SET "Name" = EXCLUDED."Name", Email = $2',
    writes(updated('User', ['Name', 'email'])),
  ],
  ['UPDATE t SET (a, b) = (1, 2), c = 3', writes(updated('t', ['a', 'b', 'c']))],
  ['UPDATE t AS x SET (a, "B") = ROW(1, 2)', writes(updated('t', ['a', 'B']))],
  ['UPDATE t x SET (a) = (SELECT y FROM u WHERE u.id = x.id)', writes(updated('t', ['a']))],
  ['UPDATE t SET a = a + 1', writes(updated('t', ['a']))],
  [
    'UPDATE t SET "Total" = 1, total = 2, TOTAL = DEFAULT',
    writes(updated('t', ['Total', 'total'])),
  ],
  ['UPDATE t SET a = b IS DISTINCT FROM c, d = 1 WHERE e', writes(updated('t', ['a', 'd']))],
  [
    "UPDATE t SET a = ARRAY[1, 2], b[1] = 3, c.x = 4, d[1:2] = '{1,2}' RETURNING a, b",
    writes(updated('t', ['a', 'b', 'c', 'd'])),
  ],
  [
    'UPDATE t SET a = extract(epoch FROM now()), b = CASE WHEN x THEN 1 ELSE 2 END, ' +
      'c = x::numeric(10, 2) FROM u WHERE t.id = u.id',
    writes(updated('t', ['a', 'b', 'c'])),
  ],
  ['UPDATE t SET = 1', writes(updated('t'))],
  ['UPDATE t SET a 1', writes(updated('t'))],
  ['UPDATE t SET a = 1]', writes(updated('t'))],
  ['UPDATE t WHERE a = 1', writes(updated('t'))],
  [
    'WITH x AS (UPDATE t SET a = 1 RETURNING *), y AS (INSERT INTO u VALUES (1) ' +
      'ON CONFLICT (id) DO UPDATE SET b = 2 RETURNING *) DELETE FROM v',
    writes(deleted('v'), updated('t', ['a']), updated('u', ['b'])),
  ],
  ['EXPLAIN ANALYZE INSERT INTO t VALUES (1)', writes(inserted('t'))],
  // One table written several ways: one entry, with the combined change.
  ['INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)', writes(inserted('t'))],
  ['INSERT INTO t VALUES (1); UPDATE t SET a = 1', writes(updated('t', ['a']))],
  ['UPDATE t SET a = 1; UPDATE t SET b = 2, a = 3', writes(updated('t', ['a', 'b']))],
  [
    'UPDATE t SET a = 1; INSERT INTO t VALUES (1) ON CONFLICT DO UPDATE SET b = 1',
    writes(updated('t', ['a', 'b'])),
  ],
  ['UPDATE t SET a = 1; UPDATE t WHERE false', writes(updated('t'))],
  ['INSERT INTO t VALUES (1); DELETE FROM t', writes(other('t'))],
  ['DELETE FROM t; DELETE FROM t WHERE a = 1', writes(deleted('t'))],
  ['UPDATE t SET a = 1; DELETE FROM t; INSERT INTO t VALUES (1)', writes(other('t'))],
  ['UPDATE t SET a = 1; TRUNCATE t', writes(other('t'))],
  ['DELETE FROM a; TRUNCATE a, b CASCADE', cascades('a', 'b')],
  ['SELECT * INTO t FROM u; INSERT INTO t VALUES (1)', writes(other('t'))],
  ['WITH d AS (DELETE FROM t RETURNING *) INSERT INTO t SELECT * FROM d', writes(other('t'))],
  [
    'DELETE FROM t; UPDATE "T" SET a = 1; UPDATE s.t SET b = 1',
    writes(deleted('t'), updated('T', ['a']), updated('s.t', ['b'])),
  ],
  // Cannot tell.
  ['SELECT my_func()', unknown],
  ["SELECT nextval('seq')", unknown],
  ["SELECT set_config('a', 'b', false)", unknown],
  ['SELECT public.lower(name) FROM t', unknown],
  ['SELECT "COUNT"(*) FROM t', unknown],
  ['SELECT filter(x), over(y) FROM t', unknown],
  ['SELECT substring(name) FROM t', read],
  ['SELECT * FROM t WHERE id = ANY (ids_of($1))', unknown],
  ['INSERT INTO t VALUES (my_func())', unknown],
  ['CALL proc(1)', unknown],
  ['DO $$ BEGIN DELETE FROM t; END $$', unknown],
  ['EXPLAIN ANALYZE SELECT my_func()', unknown],
  ['COMMIT', unknown],
  ['ROLLBACK', unknown],
  ['SET CONSTRAINTS ALL IMMEDIATE', unknown],
  ['EXECUTE stmt(1)', unknown],
  ['VACUUM t', unknown],
  ["COPY t FROM PROGRAM 'gen'", unknown],
  ['SELECT 1; SELECT my_func(); DELETE FROM t', unknown],
  // Malformed: the server would refuse it, so nothing is promised but never a throw.
  ["SELECT 'unterminated", unknown],
  ['SELECT 1 /* unterminated', unknown],
  ['SELECT $$ unterminated', unknown],
  ['SELECT (1', unknown],
  ['SELECT "" FROM t', unknown],
  ['SELECT \\x', unknown],
  // Backslashes in plain literals: also read as a server with standard_conforming_strings off.
  ["SELECT 'a\\' , ' x; DELETE FROM t; -- '", writes(deleted('t'))],
  ["SELECT * FROM t WHERE path LIKE 'C:\\\\%'", read],
  ["SELECT N'a\\' , ' x; DELETE FROM t; -- '", writes(deleted('t'))],
  ["UPDATE t SET a = 'x\\'; DELETE FROM t; -- '", writes(other('t'))],
  ["UPDATE t SET a = 'x\\', b = 1 -- '", writes(updated('t', ['a', 'b']))],
]

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

/** Fragments that stress the lexer: quotes, comment markers, dollar quotes, separators. */
const sqlSoup = fc
  .array(
    fc.constantFrom(
      ...['SELECT', 'DELETE FROM t', 'UPDATE', 'INSERT INTO', 'WITH x AS', '(', ')', ';', ',', ' '],
      ...["'", "''", '"', '""', "E'\\'", '$$', '$a$', '--', '/*', '*/', '\n', '$1', 'my_func('],
    ),
    { maxLength: 25 },
  )
  .map((parts) => parts.join(''))

/**
 * Statements as token lists, so that the property tests can put anything between tokens. Each
 * token is atomic for PostgreSQL; the expected answer is the one for single spaces.
 */
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

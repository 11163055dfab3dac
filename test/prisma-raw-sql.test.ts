import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ValidationError } from '../src/errors.js'
import { type RawTable, type RawWriteTargets, rawWriteTargets } from '../src/prisma/raw-sql.js'

const read: RawWriteTargets = { kind: 'read' }
const unknown: RawWriteTargets = { kind: 'unknown' }

/** A write of tables named `name` or `schema.name` (split at the first dot). */
function writes(...names: string[]): RawWriteTargets {
  return { kind: 'write', tables: names.map(toTable) }
}

function cascades(...names: string[]): RawWriteTargets {
  return { kind: 'write', tables: names.map(toTable), cascade: true }
}

function toTable(qualified: string): RawTable {
  const dot = qualified.indexOf('.')
  if (dot < 0) return { schema: undefined, name: qualified }
  return { schema: qualified.slice(0, dot), name: qualified.slice(dot + 1) }
}

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
  ["SELECT E'\\\\'; DELETE FROM t", writes('t')],
  ['SELECT $tag$ ; delete from x $tag$ AS s, $$ $tag$ ; $$ AS d', read],
  ['SELECT 1 /* outer /* inner */ still comment; delete from x */', read],
  ['SELECT 1 -- ; delete from x', read],
  ['SELECT "delete from x; --" FROM "update"', read],
  ['SELECT update FROM t WHERE update > 1 AND (update IS NOT NULL)', read],
  ['UPDATE t SET update = 1, "delete" = 2', writes('t')],
  ['SELECT insert INTO t FROM x', writes('t')],
  ['SELECT 1into t FROM x', writes('t')],
  ['SELECT 1.5e-3, .5, 0x1F, 1_000, 1..2 FROM x', read],
  ['INSERT INTO t (update, "delete", merge) VALUES (1, 2, 3)', writes('t')],
  ["SELECT '--' AS a; DELETE FROM t", writes('t')],
  ['/* DELETE FROM t */ SeLeCt a$b FROM t', read],
  ["UPDATE t SET a = 1 WHERE b = $$it's$$", writes('t')],
  ["SELECT U&'\\0041' AS a", read],
  ['DELETE FROM U&"d\\0061t"', unknown],
  ['', read],
  ['   \n\t ', read],
  ['-- only a comment', read],
  ['/* only /* a */ comment */', read],
  [';;', read],
  // Writes, with names resolved as PostgreSQL does.
  ['UPDATE "Order" SET total = $1 WHERE id = $2', writes('Order')],
  ['UPDATE ORDERS SET total = 0', writes('orders')],
  [
    'DELETE FROM "Order"; DELETE FROM "order"; DELETE FROM Orders',
    writes('Order', 'order', 'orders'),
  ],
  ['DELETE FROM order', unknown],
  ['update "s"."T" set a = 1', writes('s.T')],
  ['UPDATE App.Orders o SET total = 0', writes('app.orders')],
  ['INSERT INTO "s"."My Table" ("a""b") VALUES (1)', writes('s.My Table')],
  ['INSERT INTO "we""ird" VALUES (1)', writes('we"ird')],
  ['INSERT INTO db.public.t VALUES (1)', writes('public.t')],
  [
    'INSERT INTO public.users (email) VALUES ($1) ' +
      'ON CONFLICT (email) DO UPDATE SET name = EXCLUDED.name',
    writes('public.users'),
  ],
  [
    'INSERT INTO t AS a (x, y) VALUES (1, 2) ' +
      'ON CONFLICT (x) DO UPDATE SET (x, y) = (EXCLUDED.x, 3)',
    writes('t'),
  ],
  ['INSERT INTO log SELECT * FROM events WHERE ts > now()', writes('log')],
  ['UPDATE a SET x = b.x FROM b WHERE a.id = b.id', writes('a')],
  ['UPDATE ONLY a * SET (x, y) = (1, 2) RETURNING *', writes('a')],
  ['DELETE FROM a USING b WHERE a.id = b.id', writes('a')],
  ['DELETE FROM ONLY a WHERE id IN (SELECT id FROM b)', writes('a')],
  ['WITH x AS (UPDATE t SET a = 1 RETURNING *) SELECT * FROM x', writes('t')],
  [
    'WITH moved AS (DELETE FROM queue RETURNING *) INSERT INTO done SELECT * FROM moved',
    writes('done', 'queue'),
  ],
  [
    'WITH a AS (SELECT 1), b (x) AS MATERIALIZED (INSERT INTO t VALUES (1) RETURNING v) SELECT 1',
    writes('t'),
  ],
  ['WITH a AS (WITH b AS (SELECT 1) DELETE FROM t RETURNING *) SELECT * FROM a', writes('t')],
  [
    'MERGE INTO target t USING source s ON t.id = s.id WHEN MATCHED THEN UPDATE SET v = s.v ' +
      'WHEN NOT MATCHED THEN INSERT (id, v) VALUES (s.id, s.v)',
    writes('target'),
  ],
  ['TRUNCATE a, b CASCADE', cascades('a', 'b')],
  ['TRUNCATE TABLE ONLY "S"."T" RESTART IDENTITY', writes('S.T')],
  ['COPY t FROM STDIN', writes('t')],
  ['COPY s.t (a, b) FROM STDIN WITH (FORMAT csv)', writes('s.t')],
  ['COPY (DELETE FROM t RETURNING *) TO STDOUT', writes('t')],
  ['SELECT * INTO newtable FROM t', writes('newtable')],
  ['SELECT a, b INTO TEMP TABLE snapshot FROM t', writes('snapshot')],
  ['EXPLAIN ANALYZE DELETE FROM t', writes('t')],
  ['EXPLAIN (ANALYZE, FORMAT JSON) UPDATE t SET a = 1', writes('t')],
  ['SELECT 1; DELETE FROM t WHERE id = 1', writes('t')],
  ['DELETE FROM a; DELETE FROM "A"; delete from A', writes('a', 'A')],
  ['REFRESH MATERIALIZED VIEW CONCURRENTLY stats', writes('stats')],
  // DDL.
  ['CREATE TABLE t (id int PRIMARY KEY, name varchar(10), o int REFERENCES o (id))', writes('t')],
  ['CREATE TEMP TABLE IF NOT EXISTS t AS SELECT * FROM u', writes('t')],
  ['CREATE TABLE p PARTITION OF parent FOR VALUES FROM (1) TO (10)', writes('p', 'parent')],
  ['ALTER TABLE users ADD COLUMN age int DEFAULT 0', writes('users')],
  ['ALTER TABLE users_new RENAME TO users', writes('users_new', 'users')],
  ['ALTER TABLE t ADD FOREIGN KEY (a) REFERENCES o (id) ON DELETE CASCADE', writes('t')],
  ['ALTER TABLE t DROP COLUMN c CASCADE', unknown],
  ['ALTER TABLE s.a SET SCHEMA s2', writes('s.a', 's2.a')],
  ['ALTER TABLE parent ATTACH PARTITION p FOR VALUES IN (1)', writes('parent', 'p')],
  ['DROP TABLE IF EXISTS a, b', writes('a', 'b')],
  ['DROP TABLE a CASCADE', unknown],
  ['CREATE INDEX i ON t (a)', unknown],
  ['CREATE VIEW v AS SELECT 1', unknown],
  ['CREATE TABLE t AS EXECUTE p', unknown],
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
  ["SELECT 'a\\' , ' x; DELETE FROM t; -- '", writes('t')],
  ["SELECT * FROM t WHERE path LIKE 'C:\\\\%'", read],
  ["SELECT N'a\\' , ' x; DELETE FROM t; -- '", writes('t')],
]

describe('rawWriteTargets', () => {
  it.each(corpus)('%s', (sql, expected) => {
    expect(rawWriteTargets(sql)).toEqual(expected)
  })

  it('folds unquoted names to ASCII lower case and truncates names to 63 bytes', () => {
    expect(rawWriteTargets('DELETE FROM ÉtÉ')).toEqual(writes('ÉtÉ'))
    expect(rawWriteTargets(`DELETE FROM ${'A'.repeat(70)}`)).toEqual(writes('a'.repeat(63)))
    expect(rawWriteTargets(`DELETE FROM "${'é'.repeat(40)}"`)).toEqual(writes('é'.repeat(31)))
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
    writes('Order'),
  ],
  [['INSERT', 'INTO', '"S"', '.', 'T', '(', 'a', ')', 'VALUES', '(', '$$;$$', ')'], writes('S.t')],
  [
    ['WITH', 'x', 'AS', '(', 'DELETE', 'FROM', 'q', 'RETURNING', '*', ')', 'SELECT', '1'],
    writes('q'),
  ],
  [['TRUNCATE', 'a', ',', 'b', 'CASCADE'], cascades('a', 'b')],
  [
    ['MERGE', 'INTO', 't', 'USING', 's', 'ON', 'true', 'WHEN', 'MATCHED', 'THEN', 'DELETE'],
    writes('t'),
  ],
  [['SELECT', 'x', 'INTO', 'y', 'FROM', 'z'], writes('y')],
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

  it('a write followed by anything is never a read, and keeps its tables', () => {
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
          expect(answer.tables).toEqual(expect.arrayContaining(expected.tables))
        }
      }),
      { numRuns: 2000 },
    )
  })
})

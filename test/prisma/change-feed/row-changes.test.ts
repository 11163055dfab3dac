import { describe, expect, it } from 'vitest'
import {
  ChangeSet,
  fieldValue,
  type RowChange,
  rowValues,
  TableMap,
} from '../../../src/prisma/change-feed/row-changes.js'
import { TagNaming } from '../../../src/prisma/keys/tags.js'
import { datamodelOf } from '../../../src/prisma/schema/dmmf.js'
import { ModelGraph } from '../../../src/prisma/schema/model-graph.js'
import { rawWriteEffects } from '../../../src/prisma/writes/raw-writes.js'
import { WriteEffects } from '../../../src/prisma/writes/write-effects.js'
import { WritePlan } from '../../../src/prisma/writes/write-plan.js'

/**
 * Row changes as the change feed reads them (column texts, by table) against the effects the
 * extension makes for the same change written through Prisma: the feed must reach the same
 * cached reads, by the same tags.
 */

// One schema (models live in the connection's schema): mapped table and column names, a BigInt
// key with a second unique key, a compound key, an implicit many-to-many, every scalar kind.
const graph = new ModelGraph(
  datamodelOf(`
    datasource db {
      provider = "postgresql"
    }
    enum Plan {
      FREE
      PRO
    }
    model Member {
      id       BigInt    @id @map("member_id")
      email    String    @unique @map("email_address")
      active   Boolean   @default(true)
      plan     Plan      @default(FREE)
      avatar   Bytes?
      joinedAt DateTime  @map("joined_at")
      birthday DateTime? @db.Date
      balance  Decimal   @default(0)
      score    Float     @default(0)
      visits   Int       @default(0)
      labels   String[]
      groups   Group[]
      entries  Entry[]

      @@map("members")
    }
    model Group {
      id      Int      @id
      name    String
      members Member[]
    }
    model Entry {
      memberId BigInt @map("member_id")
      day      Int
      note     String
      member   Member @relation(fields: [memberId], references: [id], onDelete: Cascade)

      @@id([memberId, day])
      @@map("entries")
    }
  `),
)

// Models spread over two PostgreSQL schemas (`@@schema`).
const multiGraph = new ModelGraph(
  datamodelOf(`
    datasource db {
      provider = "postgresql"
      schemas  = ["public", "billing"]
    }
    model Customer {
      id       Int       @id
      invoices Invoice[]

      @@map("customers")
      @@schema("public")
    }
    model Invoice {
      id        Int        @id
      customers Customer[]

      @@schema("billing")
    }
  `),
)

const naming = new TagNaming('prisma')
const APP = 'app'
const map = new TableMap(graph, APP)
const member = graph.model('Member')!
const field = (model: string, name: string) => graph.model(model)!.fields.get(name)

const sorted = (tags: Iterable<string>) => [...new Set(tags)].sort()
const tagsOf = (set: ChangeSet) => sorted(set.effects.tags(naming, graph))
const planTags = (model: string, operation: string, args: unknown, result: unknown) =>
  sorted(
    new WritePlan(graph, graph.model(model)!, operation, args)
      .completed(result)
      .tags(naming, graph),
  )

function changes(rows: readonly RowChange[], maxRowsPerModel = 1000): ChangeSet {
  const set = new ChangeSet(map, maxRowsPerModel)
  for (const row of rows) set.row(row)
  return set
}

/** Member 5 as PostgreSQL's text forms (replication's), and as Prisma returns it. */
const memberColumns = {
  member_id: '5',
  email_address: 'ann@example.com',
  active: 't',
  plan: 'PRO',
  avatar: '\\x01ff',
  joined_at: '2026-01-02 03:04:05.678',
  birthday: '1990-07-08',
  balance: '12.50',
  score: '1.5',
  visits: '3',
  labels: '{a,b}',
}
const memberRow = {
  id: 5n,
  email: 'ann@example.com',
  active: true,
  plan: 'PRO',
  avatar: Buffer.from([1, 255]),
  joinedAt: new Date('2026-01-02T03:04:05.678Z'),
  birthday: new Date('1990-07-08T00:00:00.000Z'),
  balance: '12.50',
  score: 1.5,
  visits: 3,
  labels: ['a', 'b'],
}
const inApp = (table: string) => ({ schema: APP, table })

describe('TableMap', () => {
  it('maps a schema-qualified table to its models by mapped name, in the default schema', () => {
    expect(map.models(inApp('members')).map((n) => n.name)).toEqual(['Member'])
    expect(map.models(inApp('Group')).map((n) => n.name)).toEqual(['Group'])
    expect(map.models(inApp('entries')).map((n) => n.name)).toEqual(['Entry'])
    // The model's name is not its table; another schema's table of that name is another table.
    expect(map.models(inApp('Member'))).toEqual([])
    expect(map.models({ schema: 'public', table: 'members' })).toEqual([])
    // PostgreSQL does not fold quoted names: "Group" is not group.
    expect(map.models(inApp('group'))).toEqual([])
  })

  it('maps implicit many-to-many join tables to the models they link', () => {
    expect(map.joinTable(inApp('_GroupToMember'))).toEqual({
      table: '_GroupToMember',
      models: ['Member', 'Group'],
    })
    expect(map.models(inApp('_GroupToMember'))).toEqual([])
    expect(map.joinTable(inApp('members'))).toBeUndefined()
  })

  it('lists every table the feed must read, with its schema', () => {
    expect(
      map
        .tables()
        .map((t) => `${t.schema}.${t.table}`)
        .sort(),
    ).toEqual(['app.Group', 'app._GroupToMember', 'app.entries', 'app.members'].sort())
  })

  it('puts @@schema models in their own schema whatever the default', () => {
    const multi = new TableMap(multiGraph, 'elsewhere')
    expect(multi.models({ schema: 'public', table: 'customers' }).map((n) => n.name)).toEqual([
      'Customer',
    ])
    expect(multi.models({ schema: 'billing', table: 'Invoice' }).map((n) => n.name)).toEqual([
      'Invoice',
    ])
    expect(multi.models({ schema: 'public', table: 'Invoice' })).toEqual([])
    expect(multi.models({ schema: 'elsewhere', table: 'customers' })).toEqual([])
    expect(multi.tables().some((t) => t.schema === 'elsewhere')).toBe(false)
  })
})

describe('fieldValue', () => {
  it('reads numbers: Int, Float, BigInt beyond 2^53, Decimal as its text', () => {
    expect(fieldValue(field('Member', 'visits'), '42')).toBe(42)
    expect(fieldValue(field('Member', 'visits'), '-7')).toBe(-7)
    expect(fieldValue(field('Member', 'score'), '1.25')).toBe(1.25)
    expect(fieldValue(field('Member', 'id'), '9007199254740993')).toBe(9007199254740993n)
    expect(fieldValue(field('Member', 'id'), '-3')).toBe(-3n)
    expect(fieldValue(field('Member', 'balance'), '12.50')).toBe('12.50')
  })

  it("reads booleans in replication's (t/f) and JSON's (true/false) forms", () => {
    const active = field('Member', 'active')
    expect(fieldValue(active, 't')).toBe(true)
    expect(fieldValue(active, 'true')).toBe(true)
    expect(fieldValue(active, 'f')).toBe(false)
    expect(fieldValue(active, 'false')).toBe(false)
  })

  it('reads timestamps without a zone as UTC, with a zone at their offset, and dates', () => {
    const at = field('Member', 'joinedAt')
    const iso = (text: string) => (fieldValue(at, text) as Date).toISOString()
    expect(iso('2026-01-02 03:04:05.678')).toBe('2026-01-02T03:04:05.678Z')
    expect(iso('2026-01-02T03:04:05.678')).toBe('2026-01-02T03:04:05.678Z')
    expect(iso('2026-01-02 03:04:05')).toBe('2026-01-02T03:04:05.000Z')
    // Microseconds, as PostgreSQL keeps them: Prisma returns milliseconds.
    expect(iso('2026-01-02 03:04:05.123456')).toBe('2026-01-02T03:04:05.123Z')
    expect(iso('2026-01-02 03:04:05.678+02')).toBe('2026-01-02T01:04:05.678Z')
    expect(iso('2026-01-02 03:04:05-08')).toBe('2026-01-02T11:04:05.000Z')
    expect(iso('2026-01-02 03:04:05+05:30')).toBe('2026-01-01T21:34:05.000Z')
    expect((fieldValue(field('Member', 'birthday'), '1990-07-08') as Date).toISOString()).toBe(
      '1990-07-08T00:00:00.000Z',
    )
  })

  it('reads bytea hex, enums and strings', () => {
    expect(fieldValue(field('Member', 'avatar'), '\\x01ff00')).toEqual(Buffer.from([1, 255, 0]))
    expect(fieldValue(field('Member', 'plan'), 'PRO')).toBe('PRO')
    expect(fieldValue(field('Member', 'email'), ' a b ')).toBe(' a b ')
  })

  it('gives undefined for texts that do not parse, lists and unknown fields', () => {
    expect(fieldValue(field('Member', 'visits'), 'abc')).toBeUndefined()
    expect(fieldValue(field('Member', 'visits'), '')).toBeUndefined()
    expect(fieldValue(field('Member', 'id'), '12.5')).toBeUndefined()
    expect(fieldValue(field('Member', 'id'), '')).toBeUndefined()
    expect(fieldValue(field('Member', 'active'), 'yes')).toBeUndefined()
    expect(fieldValue(field('Member', 'joinedAt'), 'infinity')).toBeUndefined()
    expect(fieldValue(field('Member', 'joinedAt'), '2026-13-45 00:00:00')).toBeUndefined()
    expect(fieldValue(field('Member', 'avatar'), 'plain')).toBeUndefined()
    expect(fieldValue(field('Member', 'labels'), '{a,b}')).toBeUndefined()
    expect(fieldValue(undefined, '1')).toBeUndefined()
  })

  it('reads a row by column names into field names, null kept, missing columns left out', () => {
    expect(rowValues(member, { ...memberColumns, labels: undefined })).toEqual({
      ...memberRow,
      labels: undefined,
    })
    const partial = rowValues(member, { member_id: '5', avatar: null, visits: 'junk' })
    expect(partial).toEqual({ id: 5n, avatar: null })
    expect('visits' in partial).toBe(false)
  })
})

describe('ChangeSet', () => {
  it('an insert makes the tags of the same create written through Prisma', () => {
    const set = changes([
      { ...inApp('members'), kind: 'insert', new: memberColumns, oldComplete: false },
    ])
    const { labels: _, ...data } = memberRow
    expect(tagsOf(set)).toEqual(planTags('Member', 'create', { data }, memberRow))
    expect(set.rows).toBe(1)
  })

  it('a FULL update names only the fields that changed, as the same Prisma update does', () => {
    const set = changes([
      {
        ...inApp('members'),
        kind: 'update',
        old: memberColumns,
        new: { ...memberColumns, visits: '4' },
        oldComplete: true,
      },
    ])
    const after = { ...memberRow, visits: 4 }
    const tags = tagsOf(set)
    expect(tags).toEqual(
      planTags('Member', 'update', { where: { id: 5n }, data: { visits: 4 } }, after),
    )
    expect(tags).toContain(naming.rowField('Member', 'id=5', 'visits'))
    expect(tags).not.toContain(naming.field('Member', 'email'))
    expect(tags).not.toContain(naming.row('Member', '*'))
  })

  it('a FULL update of a unique key names the row by its old and its new key', () => {
    const set = changes([
      {
        ...inApp('members'),
        kind: 'update',
        old: memberColumns,
        new: { ...memberColumns, email_address: 'bea@example.com' },
        oldComplete: true,
      },
    ])
    const tags = tagsOf(set)
    for (const identity of ['id=5', 'email="ann@example.com"', 'email="bea@example.com"']) {
      expect(tags).toContain(naming.row('Member', identity))
      expect(tags).toContain(naming.rowGone('Member', identity))
    }
    expect(tags).toContain(naming.entered('Member', 'email', '"bea@example.com"'))
    expect(tags).not.toContain(naming.row('Member', '*'))
    expect(tags).not.toContain(naming.field('Member', 'visits'))
  })

  it('an unchanged TOASTed column (not sent) does not count as changed', () => {
    const set = changes([
      {
        ...inApp('members'),
        kind: 'update',
        old: memberColumns,
        new: { ...memberColumns, avatar: undefined, visits: '4' },
        oldComplete: true,
      },
    ])
    expect(tagsOf(set)).not.toContain(naming.field('Member', 'avatar'))
    expect(tagsOf(set)).toContain(naming.field('Member', 'visits'))
  })

  it('a default-identity update counts every field as changed; a second unique key makes its rows unnamed', () => {
    const set = changes([
      {
        ...inApp('members'),
        kind: 'update',
        new: { ...memberColumns, visits: '4' },
        oldComplete: false,
        keyColumns: ['member_id'],
      },
    ])
    const tags = tagsOf(set)
    for (const name of member.scalars) expect(tags).toContain(naming.field('Member', name))
    // The old email is unknown: the update may have moved the row off any key it was read by.
    expect(tags).toContain(naming.row('Member', '*'))

    // With the primary key as its only key, the row is named.
    const group = changes([
      {
        ...inApp('Group'),
        kind: 'update',
        new: { id: '1', name: 'new' },
        oldComplete: false,
        keyColumns: ['id'],
      },
    ])
    const groupTags = tagsOf(group)
    expect(groupTags).toContain(naming.row('Group', 'id=1'))
    expect(groupTags).toContain(naming.field('Group', 'name'))
    expect(groupTags).not.toContain(naming.row('Group', '*'))
    // The same as a Prisma update writing every field (the key too) to those values.
    const data = { id: 1, name: 'new' }
    expect(groupTags).toEqual(planTags('Group', 'update', { where: { id: 1 }, data }, data))
  })

  it('a default-identity update that changes the key names the old key and the new one', () => {
    const tags = tagsOf(
      changes([
        {
          ...inApp('Group'),
          kind: 'update',
          old: { id: '1' },
          new: { id: '2', name: 'g' },
          oldComplete: false,
          keyColumns: ['id'],
        },
      ]),
    )
    expect(tags).toContain(naming.rowGone('Group', 'id=1'))
    expect(tags).toContain(naming.rowGone('Group', 'id=2'))
  })

  it('a FULL delete makes the tags of the same Prisma delete', () => {
    const entry = { member_id: '5', day: '3', note: 'hi' }
    const set = changes([{ ...inApp('entries'), kind: 'delete', old: entry, oldComplete: true }])
    const where = { memberId_day: { memberId: 5n, day: 3 } }
    expect(tagsOf(set)).toEqual(
      planTags('Entry', 'delete', { where }, { memberId: 5n, day: 3, note: 'hi' }),
    )
  })

  it('a key-only delete names the row by its key, its other values unknown', () => {
    const tags = tagsOf(
      changes([
        {
          ...inApp('entries'),
          kind: 'delete',
          old: { member_id: '5', day: '3' },
          oldComplete: false,
          keyColumns: ['member_id', 'day'],
        },
      ]),
    )
    expect(tags).toContain(naming.rowGone('Entry', 'memberId_day=5,3'))
    expect(tags).toContain(naming.deleted('Entry', 'day', '3'))
    expect(tags).toContain(naming.deleted('Entry', 'note', '?'))
    // Members deleted by a key only: the email is unknown, every row read by key may hold it.
    const members = tagsOf(
      changes([
        {
          ...inApp('members'),
          kind: 'delete',
          old: { member_id: '5' },
          oldComplete: false,
          keyColumns: ['member_id'],
        },
      ]),
    )
    expect(members).toContain(naming.rowGone('Member', '*'))
  })

  it('a join-table row changes the links of both models, nothing else', () => {
    const set = changes([
      { ...inApp('_GroupToMember'), kind: 'insert', new: { A: '1', B: '5' }, oldComplete: false },
    ])
    expect(tagsOf(set)).toEqual([naming.links('_GroupToMember')])
    expect(set.effects.models().sort()).toEqual(['Group', 'Member'])
  })

  it('rows of tables outside the schema change nothing', () => {
    const set = changes([
      { schema: APP, table: 'audit_log', kind: 'insert', new: { id: '1' }, oldComplete: false },
      {
        schema: 'public',
        table: 'members',
        kind: 'insert',
        new: memberColumns,
        oldComplete: false,
      },
    ])
    expect(set.isEmpty).toBe(true)
    expect(set.rows).toBe(0)
    expect(tagsOf(set)).toEqual([])
  })

  it('a truncate (cascade listing each table) invalidates each model as a whole, like raw TRUNCATE', () => {
    const set = new ChangeSet(map, 1000)
    set.truncated([inApp('members'), inApp('entries'), inApp('_GroupToMember'), inApp('other')])
    expect(tagsOf(set)).toEqual(
      sorted([
        naming.model('Member'),
        naming.unknown('Member'),
        naming.model('Entry'),
        naming.unknown('Entry'),
        naming.links('_GroupToMember'),
      ]),
    )
    // What the extension invalidates for the same statement run through $executeRaw reaches at
    // least as much: the feed's tags are the model-wide ones raw SQL uses.
    const raw = rawWriteEffects(graph, [
      'TRUNCATE "members", "entries", "_GroupToMember" CASCADE',
    ]).tags(naming, graph)
    for (const tag of tagsOf(set)) expect(raw).toContain(tag)
  })

  it('past maxRowsPerModel rows of a model, the model is invalidated whole, once', () => {
    const insert = (id: number): RowChange => ({
      ...inApp('members'),
      kind: 'insert',
      new: { ...memberColumns, member_id: String(id), email_address: `m${id}@example.com` },
      oldComplete: false,
    })
    const group: RowChange = {
      ...inApp('Group'),
      kind: 'insert',
      new: { id: '9', name: 'g' },
      oldComplete: false,
    }
    const under = changes([1, 2, 3].map(insert), 3)
    expect(tagsOf(under)).not.toContain(naming.unknown('Member'))

    const over = changes([...Array.from({ length: 2000 }, (_, i) => insert(i + 1)), group], 3)
    const tags = tagsOf(over)
    expect(tags).toContain(naming.model('Member'))
    expect(tags).toContain(naming.unknown('Member'))
    expect(over.rows).toBe(2001)
    // The rows past the cap add no tags: 4 rows or 2000 make the same invalidation.
    const four = changes([...[1, 2, 3, 4].map(insert), group], 3)
    expect(tags).toEqual(tagsOf(four))
    expect(tags.filter((tag) => tag.includes('m1999@'))).toEqual([])
    // The cap is per model: the Group row is still precise.
    expect(tags).not.toContain(naming.unknown('Group'))
    expect(tags).toEqual(
      sorted([
        ...tagsOf(changes([1, 2, 3].map(insert), 3)),
        ...new WriteEffects().unknown('Member').tags(naming, graph),
        ...tagsOf(changes([group], 3)),
      ]),
    )
  })
})

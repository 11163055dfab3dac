import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { TagNaming } from '../../src/prisma/keys/tags.js'
import { datamodelOf } from '../../src/prisma/schema/dmmf.js'
import { ModelGraph } from '../../src/prisma/schema/model-graph.js'
import { rawWriteEffects } from '../../src/prisma/writes/raw-writes.js'

/**
 * What a raw call invalidates, on the shop schema: the models whose tables it writes, and the
 * models the foreign keys' actions reach for that kind of change (none for an insert, `onUpdate`
 * for an update of a referenced key, `onDelete` for a delete, both for anything else).
 */

const shop = new ModelGraph(datamodelOf(readFileSync('prisma/schema.prisma', 'utf8')))
const naming = new TagNaming('p')

/**
 * What a raw call with these arguments reaches: the tags that name a model (or a join table) as
 * a whole, sorted. (Which rows and fields of those models, `precision.test.ts` checks.)
 */
function invalidatedBy(args: unknown, graph: ModelGraph = shop): string[] {
  const tags = rawWriteEffects(graph, args).tags(naming, graph)
  return tags.filter((tag) => /^p:[A-Za-z_]\w*$/.test(tag)).sort()
}

/** The tags invalidated by `$executeRawUnsafe(sql)`. */
function invalidated(sql: string, graph: ModelGraph = shop): string[] {
  return invalidatedBy([sql], graph)
}

/** Every read of these models. */
function allOf(...models: string[]): string[] {
  return models.map((model) => naming.model(model)).sort()
}

/** Only the reads across a many-to-many relation's links. */
function links(joinTable: string): string[] {
  return [naming.links(joinTable)]
}

const USER_DELETED = allOf('User', 'Order', 'OrderItem', 'Review')

describe('rawWriteEffects', () => {
  it.each<[sql: string, expected: string[]]>([
    // Updates follow only the onUpdate actions of the referenced columns they set.
    [`UPDATE "User" SET name = 'x' WHERE id = 1`, allOf('User')],
    ['UPDATE "Product" SET "viewCount" = "viewCount" + 1, price = price + 1', allOf('Product')],
    ['UPDATE "Product" SET "categoryId" = 2 WHERE id = 1', allOf('Product')],
    [
      'UPDATE "Product" SET id = 5 WHERE id = 1',
      allOf('Product', 'Inventory', 'OrderItem', 'Review'),
    ],
    [`UPDATE "Order" SET (id, status) = (2, 'PAID') WHERE id = 1`, allOf('Order', 'OrderItem')],
    // Columns that cannot be read: any referenced column may have changed.
    ['UPDATE "Order" SET status WHERE id = 1', allOf('Order', 'OrderItem')],
    // Deletes follow onDelete actions, transitively: User → Order → OrderItem, User → Review.
    ['DELETE FROM "User" WHERE id = 1', USER_DELETED],
    ['DELETE FROM "Category" WHERE id = 1', allOf('Category', 'Product')],
    // Inserts fire no action.
    [
      `INSERT INTO "Review" ("productId", "userId", rating, body) VALUES (1, 1, 5, 'ok')`,
      allOf('Review'),
    ],
    // A link row changes no product or tag row: only reads across the links.
    ['INSERT INTO "_ProductToTag" ("A", "B") VALUES (1, 2)', links('_ProductToTag')],
    ['DELETE FROM "_ProductToTag" WHERE "A" = 1', links('_ProductToTag')],
    [
      'INSERT INTO "User" (email, name) VALUES ($1, $2) ON CONFLICT (email) DO NOTHING',
      allOf('User'),
    ],
    // Upserts are updates of the columns of their SET list.
    [
      'INSERT INTO "User" (email, name) VALUES ($1, $2) ' +
        'ON CONFLICT (email) DO UPDATE SET name = EXCLUDED.name',
      allOf('User'),
    ],
    [
      'INSERT INTO "User" (id, email, name) VALUES ($1, $2, $3) ' +
        'ON CONFLICT (email) DO UPDATE SET id = EXCLUDED.id',
      allOf('User', 'Order', 'Review'),
    ],
    // One table changed several ways.
    [`INSERT INTO "Order" VALUES (1); UPDATE "Order" SET status = 'PAID'`, allOf('Order')],
    [`UPDATE "User" SET name = 'x'; DELETE FROM "User" WHERE id = 2`, USER_DELETED],
    // Anything else: deletes and updates of any column.
    [
      'MERGE INTO "Product" p USING (SELECT 1 AS id) s ON p.id = s.id WHEN MATCHED THEN DELETE',
      allOf('Product', 'Inventory', 'OrderItem', 'Review'),
    ],
    ['TRUNCATE "Category"', allOf('Category', 'Product')],
    // TRUNCATE ... CASCADE empties every table referencing the truncated ones, transitively.
    [
      'TRUNCATE "Category" CASCADE',
      allOf('Category', 'Product', 'Inventory', 'OrderItem', 'Review'),
    ],
    ['TRUNCATE "User" RESTART IDENTITY CASCADE', USER_DELETED],
    // Reads and unreadable text.
    ['SELECT count(*) FROM "Product"', []],
    [
      'SELECT my_func()',
      [
        ...allOf(...[...shop.models()].map((model) => model.name)),
        naming.links('_ProductToTag'),
      ].sort(),
    ],
  ])('%s', (sql, expected) => {
    expect(invalidated(sql)).toEqual(expected)
  })

  it('marks the tables it writes as changed in ways nothing describes', () => {
    const tags = rawWriteEffects(shop, ['UPDATE "User" SET name = $1']).tags(naming, shop)
    expect(tags).toContain(naming.unknown('User'))
    // A cascade's changes are known: rows of Order deleted, whose userId was some user's.
    const deleted = rawWriteEffects(shop, ['DELETE FROM "User"']).tags(naming, shop)
    expect(deleted).toContain(naming.deleted('Order', 'userId', '?'))
    expect(deleted).not.toContain(naming.unknown('Order'))
  })

  it('reads the SQL of every form of raw call', () => {
    const template = { strings: ['UPDATE "User" SET name = ', ' WHERE id = ', ''], values: [1, 2] }
    expect(invalidatedBy(template)).toEqual(allOf('User'))
    expect(invalidatedBy({ sql: 'DELETE FROM "User"' })).toEqual(USER_DELETED)
    expect(invalidatedBy(['INSERT INTO "Review" VALUES (1)', 1])).toEqual(allOf('Review'))
    expect(invalidatedBy({ neither: true })).toEqual(invalidated('SELECT my_func()'))
  })

  it('matches the columns of an update to fields by their @map names', () => {
    const mapped = new ModelGraph(
      datamodelOf(`
        datasource db {
          provider = "postgresql"
        }
        model Account {
          id    Int    @id @map("account_id")
          code  String @unique @map("Account Code")
          notes Note[]
          memos Memo[]
          @@map("accounts")
        }
        model Note {
          id        Int     @id
          accountId Int     @map("account_ref")
          account   Account @relation(fields: [accountId], references: [id])
        }
        model Memo {
          id      Int      @id
          code    String?
          account Account? @relation(fields: [code], references: [code], onUpdate: SetNull)
        }
      `),
    )
    expect(invalidated('UPDATE accounts SET account_id = 2', mapped)).toEqual(
      allOf('Account', 'Note'),
    )
    expect(invalidated('UPDATE accounts SET "Account Code" = $1', mapped)).toEqual(
      allOf('Account', 'Memo'),
    )
    // `id` is the field's name, not its column: no key changed (the server would refuse it).
    expect(invalidated('UPDATE accounts SET id = 2', mapped)).toEqual(allOf('Account'))
    // A foreign key column is no referenced key: changing it moves a note, nothing cascades.
    expect(invalidated('UPDATE "Note" SET account_ref = 2', mapped)).toEqual(allOf('Note'))
    expect(invalidated('DELETE FROM accounts', mapped)).toEqual(allOf('Account', 'Memo'))
  })
})

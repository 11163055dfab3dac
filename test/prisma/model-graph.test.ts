import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { datamodelOf } from '../../src/prisma/schema/dmmf.js'
import { ModelGraph } from '../../src/prisma/schema/model-graph.js'

/** What the model graph reads off the test schema: every fact invalidation relies on. */

const graph = new ModelGraph(datamodelOf(readFileSync('prisma/schema.prisma', 'utf8')))
const node = (name: string) => graph.model(name)!

describe('ModelGraph', () => {
  it('knows which side of a relation holds the foreign key', () => {
    expect(node('Product').relations.get('category')).toMatchObject({
      target: 'Category',
      isList: false,
      holdsForeignKey: true,
      foreignKey: ['categoryId'],
    })
    expect(node('Category').relations.get('products')).toMatchObject({
      target: 'Product',
      isList: true,
      holdsForeignKey: false,
      joinTable: undefined,
    })
    expect(node('Product').relations.get('inventory')).toMatchObject({ holdsForeignKey: false })
    expect(node('Inventory').relations.get('product')).toMatchObject({ holdsForeignKey: true })
  })

  it('pairs the sides of a relation by its name and its models (names repeat across pairs)', () => {
    // As in umami: several relations all named "user", each between User and another model.
    const umami = new ModelGraph(
      datamodelOf(`
        datasource db {
          provider = "postgresql"
        }
        model User {
          id      Int      @id
          website Website? @relation("user")
          team    Team?    @relation("user")
          report  Report[] @relation("user")
        }
        model Website {
          id     Int  @id
          userId Int  @unique
          user   User @relation("user", fields: [userId], references: [id])
        }
        model Team {
          id     Int  @id
          userId Int  @unique
          user   User @relation("user", fields: [userId], references: [id])
        }
        model Report {
          id     Int  @id
          userId Int
          user   User @relation("user", fields: [userId], references: [id])
        }
      `),
    )
    for (const model of ['Website', 'Team', 'Report']) {
      const back = umami.model(model)!.relations.get('user')!
      const inverse = umami.model('User')!.relations.get(back.inverse!)!
      expect(inverse.target, model).toBe(model)
    }
    expect(umami.model('User')!.relations.get('team')!.inverse).toBe('user')
  })

  it('names implicit many-to-many join tables, and maps them to both models apart', () => {
    expect(node('Product').relations.get('tags')?.joinTable).toBe('_ProductToTag')
    expect(node('Tag').relations.get('products')?.joinTable).toBe('_ProductToTag')
    expect(graph.modelsLinkedBy(undefined, '_ProductToTag')).toEqual(['Product', 'Tag'])
    expect(graph.modelsOfTable(undefined, '_ProductToTag')).toEqual([])
    expect(graph.modelsOfTable('public', 'Product')).toEqual(['Product'])
    expect(graph.modelsOfTable(undefined, 'product')).toEqual([]) // PostgreSQL folds, Prisma quotes
  })

  it('lists unique keys, primary key first, compound ones under their where-input names', () => {
    expect(node('Product').uniqueKeys).toEqual([
      { name: 'id', fields: ['id'] },
      { name: 'sku', fields: ['sku'] },
    ])
    expect(node('OrderItem').uniqueKeys).toEqual([
      { name: 'orderId_productId', fields: ['orderId', 'productId'] },
    ])
    expect(node('Review').uniqueKeys.map((key) => key.name)).toEqual(['id', 'productId_userId'])
  })

  it("knows what deleting or re-keying a row does to other models' rows", () => {
    const actions = (model: string) =>
      Object.fromEntries(node(model).referrers.map((r) => [r.model, [r.onDelete, r.onUpdate]]))
    // Explicit actions, and Prisma's defaults: SetNull for optional relations, Cascade on update.
    expect(actions('Product')).toEqual({
      Inventory: ['Cascade', 'Cascade'],
      OrderItem: ['Restrict', 'Cascade'],
      Review: ['Cascade', 'Cascade'],
    })
    expect(actions('Category')).toEqual({
      Category: ['SetNull', 'Cascade'],
      Product: ['SetNull', 'Cascade'],
    })
    expect(actions('User')).toEqual({
      Order: ['Cascade', 'Cascade'],
      Review: ['Cascade', 'Cascade'],
    })
  })

  it('a schema that does not parse is a ValidationError naming the option', () => {
    expect(() => datamodelOf('model {')).toThrow(expect.objectContaining({ field: 'schema' }))
  })
})

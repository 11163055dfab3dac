import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { datamodelOf } from '../../src/prisma/schema/dmmf.js'

/**
 * The schema reader against Prisma's own parser (`@prisma/prisma-schema-wasm`, a development
 * dependency only): the same data model, in every part invalidation reads, for the test schema
 * and for one that uses each construct the reader handles.
 */
const prismaParser = createRequire(import.meta.url)('@prisma/prisma-schema-wasm') as {
  get_datamodel(params: string): string
}

const FIELD_KEYS = [
  'name',
  'dbName',
  'kind',
  'type',
  'isList',
  'isRequired',
  'isId',
  'isUnique',
  'nativeType',
  'isUpdatedAt',
  'default',
  'relationName',
  'relationFromFields',
  'relationToFields',
  'relationOnDelete',
  'relationOnUpdate',
]
const MODEL_KEYS = ['name', 'dbName', 'schema', 'primaryKey', 'uniqueIndexes']

type Loose = Record<string, unknown>
const pick = (object: Loose, keys: string[]) =>
  Object.fromEntries(
    keys.filter((key) => object[key] !== undefined).map((key) => [key, object[key]]),
  )

/** The parts of a data model the reader produces, in a comparable form. */
function comparable(datamodel: { models: readonly unknown[]; enums?: readonly unknown[] }) {
  return {
    models: (datamodel.models as (Loose & { fields: Loose[] })[]).map((model) => ({
      ...pick(model, MODEL_KEYS),
      fields: model.fields.map((field) => pick(field, FIELD_KEYS)),
    })),
    enums: ((datamodel.enums ?? []) as { name: string; values: { name: string }[] }[]).map(
      ({ name, values }) => ({ name, values: values.map((value) => ({ name: value.name })) }),
    ),
  }
}

function prismasOwn(schema: string) {
  const params = JSON.stringify({ prismaSchema: [['schema.prisma', schema]] })
  return comparable(JSON.parse(prismaParser.get_datamodel(params)))
}

const EVERY_CONSTRUCT = `
generator client {
  provider        = "prisma-client"
  previewFeatures = ["views"]
}

datasource db {
  provider = "postgresql"
  schemas  = ["public", "audit"]
}

/// Documented, mapped, in a schema
enum Status {
  ACTIVE   @map("active")
  INACTIVE
  @@map("status_kind")
  @@schema("public")
}

model User {
  id        String   @id @default(uuid()) @db.Uuid
  email     String   @unique(map: "users_email_key") @map("email_address")
  age       Int?     @default(18)
  big       BigInt   @default(5)
  ratio     Float    @default(1.5)
  money     Decimal  @default(2.50) @db.Decimal(10, 2)
  flag      Boolean  @default(false)
  status    Status   @default(ACTIVE)
  tags      String[] @default(["a", "b"])
  nums      Int[]
  data      Json     @default("{}")
  at        DateTime @default(now()) @db.Timestamptz(6)
  fixedAt   DateTime @default("2020-01-01T00:00:00.000Z")
  bytes     Bytes?
  generated String   @default(dbgenerated("gen_random_uuid()"))
  cuid      String   @default(cuid())
  quoted    String   @default("say \\"hi\\" // not a comment")
  skipped   String   @ignore
  vector    Unsupported("vector(3)")?
  updatedAt DateTime @updatedAt
  text      String   @db.Text
  posts     Post[]   // a comment
  profile   Profile?
  friends   User[]   @relation("friends")
  friendOf  User[]   @relation("friends")
  manager   User?    @relation("mgmt", fields: [managerId], references: [id], onDelete: Cascade, onUpdate: NoAction)
  managerId String?  @db.Uuid
  reports   User[]   @relation("mgmt")
  groups    Group[]

  @@unique([age, big])
  @@unique([ratio, flag], name: "ratioFlag")
  @@index([email(sort: Desc)])
  @@map("users")
  @@schema("public")
}

model Profile {
  userId String @id @db.Uuid
  user   User   @relation(fields: [userId], references: [id])
  @@schema("audit")
}

model Post {
  authorId String    @db.Uuid
  slug     String
  author   User      @relation(fields: [authorId], references: [id], onDelete: Restrict)
  comments Comment[]

  @@id([authorId, slug])
  @@schema("public")
}

model Comment {
  id         Int    @id @default(autoincrement())
  postAuthor String @db.Uuid
  postSlug   String
  post       Post   @relation(fields: [postAuthor, postSlug], references: [authorId, slug], onDelete: SetDefault)
  @@schema("public")
}

model Group {
  id    Int    @id
  users User[]
  @@schema("public")
}

model Pair {
  a Int
  b Int
  @@id(name: "ab", fields: [a, b])
  @@unique(fields: [b, a], map: "pair_ba")
  @@schema("public")
}

model Hidden {
  id Int @id
  @@ignore
  @@schema("public")
}

view Totals {
  id    Int @unique
  total Int
  @@schema("public")
}
`

describe('the schema reader', () => {
  it('reads the test schema as Prisma does', () => {
    const schema = readFileSync('prisma/schema.prisma', 'utf8')
    expect(comparable(datamodelOf(schema))).toEqual(prismasOwn(schema))
  })

  it('reads every construct it handles as Prisma does', () => {
    const expected = prismasOwn(EVERY_CONSTRUCT)
    expect(expected.models.map((model) => (model as { name?: unknown }).name)).toContain('Totals')
    expect(comparable(datamodelOf(EVERY_CONSTRUCT))).toEqual(expected)
  })

  it('rejects an unknown type, naming the field', () => {
    const schema = 'model A {\n  id Int @id\n  b  Bee\n}'
    expect(() => datamodelOf(schema)).toThrow(/A\.b: unknown type Bee/)
  })
})

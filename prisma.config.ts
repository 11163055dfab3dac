import { defineConfig } from 'prisma/config'

// Prisma 7 reads the connection from here, not from the schema. Only the CLI uses this file
// (`prisma migrate deploy`, `prisma studio`); the application passes a driver adapter instead.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test' },
})

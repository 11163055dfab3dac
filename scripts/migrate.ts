#!/usr/bin/env -S npx tsx
// `npm run db:migrate`: applies prisma/migrations to DATABASE_URL (its `schema` parameter, if
// any, is created and used), the way `prisma migrate deploy` would.
import pg from 'pg'
import { applyMigrations } from './migrations.js'

const url = process.env.DATABASE_URL
if (!url) {
  console.error('DATABASE_URL is not set (postgresql://user@host:5432/db?schema=name)')
  process.exit(2)
}
const parsed = new URL(url)
const schema = parsed.searchParams.get('schema') ?? 'public'
parsed.searchParams.delete('schema') // Prisma's parameter, unknown to PostgreSQL
const client = new pg.Client({
  connectionString: parsed.toString(),
  options: `-c search_path="${schema}"`,
})
await client.connect()
try {
  await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema.replaceAll('"', '""')}"`)
  const applied = await applyMigrations(client)
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'already up to date')
} finally {
  await client.end()
}

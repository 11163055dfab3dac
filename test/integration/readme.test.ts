/**
 * The README's quick starts and the cache tour (`npm run start:quickstart`) run as written: each
 * in a process of its own, against the real Redis and PostgreSQL, with `stratacache` resolved to
 * this checkout. A quick start's free variables (`id`, `db`, `cart`...) are given before it, and
 * what it computed is printed after it, so that the test can check it did what its comments say.
 */
import { execFile } from 'node:child_process'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { PrismaPg } from '@prisma/adapter-pg'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PrismaClient } from '../../prisma/generated/client.js'
import { applyMigrations } from '../../scripts/migrations.js'
import { DATABASE_URL } from '../support/database.js'
import { ROOT, scratchDir, tsBlocks, withLocalImports } from '../support/doc-code.js'
import { deleteKeysUnder, REDIS_URL, rawRedis, uniquePrefix } from '../support/redis.js'
import { seedShop } from '../support/shop-fixture.js'

const run = promisify(execFile)
const raw = rawRedis()
const prefix = uniquePrefix('readme')
let dir = ''
/**
 * A database of its own: the README's PrismaPg takes only a connection string, so its tables are
 * those of the `public` schema, which the shared database leaves to others.
 */
const database = `readme_${process.pid}_${Date.now()}`
const databaseUrl = Object.assign(new URL(DATABASE_URL), { pathname: `/${database}` }).toString()

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}

/** The first ```ts block after `heading` in the README. */
async function snippetAfter(heading: string): Promise<string> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8')
  const at = readme.indexOf(`\n## ${heading}\n`)
  expect(at, `the README has a "${heading}" section`).toBeGreaterThan(-1)
  const [block] = tsBlocks(readme.slice(at))
  expect(block, `"${heading}" has a TypeScript block`).toBeDefined()
  return block!.code
}

/**
 * The snippet with its imports pointed at this checkout, and its cache given this test's Redis
 * prefix (the shared Redis holds other tests' keys; the README's cache uses the default prefix).
 */
function local(snippet: string): string {
  expect(snippet).toContain('new CacheManager({')
  return withLocalImports(
    snippet.replaceAll('new CacheManager({', `new CacheManager({ prefix: '${prefix}', `),
  )
}

/** Runs `source` as an ES module in a fresh process; its last line of output, as JSON. */
async function runModule(name: string, source: string, env: Record<string, string>) {
  const file = join(dir, `${name}.mts`)
  await writeFile(file, source)
  const { stdout } = await run(process.execPath, ['--import', 'tsx', file], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    timeout: 60_000,
  })
  return JSON.parse(stdout.trim().split('\n').at(-1)!)
}

beforeAll(async () => {
  dir = await scratchDir('readme')
  await admin(`CREATE DATABASE ${database}`)
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 })
  try {
    await applyMigrations(pool)
  } finally {
    await pool.end()
  }
  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl }) })
  try {
    await seedShop(prisma)
  } finally {
    await prisma.$disconnect()
  }
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
  await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
  await deleteKeysUnder(raw, prefix)
  raw.disconnect()
})

describe('README', () => {
  it('quick start, the cache: runs on Redis, caches what the loader returns, and closes', async () => {
    const source = `
const id = 7
const userId = 42
const cart = { items: [{ sku: 'SKU-1', quantity: 2 }] }
let loads = 0
const db = {
  product: { findUnique: async ({ where }: { where: { id: number } }) => ({ id: where.id, loads: ++loads }) },
}
${local(await snippetAfter('Quick start: the cache'))}
console.log(JSON.stringify({ product, cached, loads }))
`
    const out = await runModule('cache', source, { REDIS_URL })
    expect(out).toEqual({
      product: { id: 7, loads: 1 },
      cached: { items: [{ sku: 'SKU-1', quantity: 2 }] },
      loads: 1,
    })
  })

  it('quick start, Prisma: reads come from the cache, and the update reaches them', async () => {
    const source = `
const id = 2
${local(await snippetAfter('Quick start: Prisma'))}
const afterUpdate = await prisma.product.findUnique({ where: { id } }).withCacheInfo()
const cachedAgain = await prisma.product.findUnique({ where: { id } }).withCacheInfo()
console.log(JSON.stringify({
  first: product?.price.toString(),
  page: info.cacheStatus,
  afterUpdate: [afterUpdate.data?.price.toString(), afterUpdate.info.cacheStatus],
  cachedAgain: [cachedAgain.data?.price.toString(), cachedAgain.info.cacheStatus],
}))
await prisma.$disconnect()
await cache.close()
`
    const out = await runModule('prisma', source, { REDIS_URL, DATABASE_URL: databaseUrl })
    // The seed prices product 2 at 20.50. The snippet's update sets 19.99 and invalidates the
    // read it had cached: the next read is a miss that finds the new price, and is cached again.
    expect(out).toEqual({
      first: '20.5',
      page: 'miss',
      afterUpdate: ['19.99', 'miss'],
      cachedAgain: ['19.99', 'hit'],
    })
  })
})

describe('the cache tour (npm run start:quickstart)', () => {
  it('runs to its end on Redis', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/quickstart.ts'], {
      cwd: ROOT,
      env: { ...process.env, REDIS_URL },
      timeout: 60_000,
    })
    expect(stdout).toContain('stratacache quick start')
  })
})

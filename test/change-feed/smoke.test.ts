import { PrismaPg } from '@prisma/adapter-pg'
import { afterAll, expect, it } from 'vitest'
import { PrismaClient } from '../../prisma/generated/client.js'
import { withCache } from '../../src/prisma/index.js'
import { useLogicalPostgres } from '../support/logical-postgres.js'
import { REDIS_URL, useCaches } from '../support/redis.js'
import { waitFor } from '../support/wait.js'

const pg = useLogicalPostgres('feed_smoke')
const caches = useCaches('feed-smoke')
const clients: { $disconnect(): Promise<void> }[] = []
afterAll(async () => {
  for (const c of clients) await c.$disconnect()
})

it('invalidates a write made with psql', async () => {
  const cache = caches.newCache({ redis: REDIS_URL, prefix: `${caches.base}a:` })
  const base = new PrismaClient({
    adapter: new PrismaPg({ connectionString: pg.directUrl }, { schema: pg.db.schema }),
  })
  const prisma = base.$extends(
    withCache({ cache, env: false, changeFeed: { connectionString: pg.url, mode: 'logical' } }),
  )
  clients.push(prisma)
  const status = await prisma.$cache.changeFeed!.ready()
  console.log(status)
  await waitFor(() => prisma.$cache.changeFeed!.status().role === 'consumer', { timeoutMs: 10000 })
  const c = await base.category.create({ data: { name: 'a', slug: 'a' } })
  await waitFor(() => prisma.$cache.changeFeed!.status().transactions >= 1, { timeoutMs: 10000 })
  expect((await prisma.category.findUnique({ where: { id: c.id } }))?.name).toBe('a')
  expect((await prisma.category.findUnique({ where: { id: c.id } }))?.name).toBe('a')
  await pg.db.pool.query(`UPDATE "Category" SET name = 'b' WHERE id = $1`, [c.id])
  await waitFor(
    async () => (await prisma.category.findUnique({ where: { id: c.id } }))?.name === 'b',
    { timeoutMs: 5000 },
  )
  console.log(prisma.$cache.changeFeed!.status())
})

/**
 * A worker process for cross-instance Prisma tests: one Prisma client on the test database's
 * schema, extended with `withCache` over a CacheManager on the shared Redis (its own L1, its own
 * connections), driven by the parent over IPC. Below the cache sits a hold extension: when armed,
 * the next database read of a product reports what it read (`db-read`) and waits for a gate
 * before returning it, so the parent can commit a write in between (the fill race).
 */
import { PrismaPg } from '@prisma/adapter-pg'
import type pg from 'pg'
import { PrismaClient } from '../../prisma/generated/client.js'
import { CacheManager, type CacheOptions } from '../../src/index.js'
import { withCache } from '../../src/prisma/index.js'
import { REDIS_URL } from './redis.js'
import { waitFor } from './wait.js'
import { emit, gate, now, startWorker } from './worker-runtime.js'

let base: PrismaClient | undefined
let cache: CacheManager | undefined
let held: string | undefined
let prisma: ReturnType<typeof build> | undefined

function build(client: PrismaClient, c: CacheManager) {
  const holding = client.$extends({
    query: {
      product: {
        async findUnique({ args, query }) {
          const result = await query(args)
          const gateName = held
          if (gateName !== undefined) {
            held = undefined
            emit('db-read', { gate: gateName, name: result?.name })
            await gate(gateName)
          }
          return result
        },
      },
    },
  })
  return holding.$extends(withCache({ cache: c, env: false, defaultStrategy: { ttl: 3600 } }))
}

function client() {
  if (prisma === undefined) throw new Error('open first')
  return prisma
}

interface Args {
  config: pg.PoolConfig
  schema: string
  options: CacheOptions
  id: number
  name: string
  gate: string
}

const read = async (id: number) => {
  const { data, info } = await client()
    .product.findUnique({ where: { id }, select: { name: true } })
    .withCacheInfo()
  return { name: data?.name, status: info.cacheStatus, tier: info.tier, at: now() }
}

startWorker<Args>({
  async open({ config, schema, options }) {
    base = new PrismaClient({ adapter: new PrismaPg(config, { schema }) })
    cache = new CacheManager({ redis: REDIS_URL, ...options })
    const c = cache
    if (options.bus !== false) {
      await waitFor(() => c.getMetrics().busTrusted, { what: 'bus trusted' })
    }
    prisma = build(base, c)
    return process.pid
  },

  async close() {
    await base?.$disconnect()
    await cache?.close()
  },

  read: async ({ id }) => read(id),

  /** A read whose database result is held until `gate` opens (reports `db-read` first). */
  async heldRead({ id, gate: gateName }) {
    held = gateName
    return read(id)
  },

  async rename({ id, name }) {
    const startedAt = now()
    await client().product.update({ where: { id }, data: { name } })
    return { startedAt, doneAt: now() }
  },

  /** Renames inside an interactive transaction that commits once `gate` opens. */
  async renameInTransaction({ id, name, gate: gateName }) {
    await client().$transaction(async (tx) => {
      await tx.product.update({ where: { id }, data: { name } })
      emit('tx-written', { gate: gateName })
      await gate(gateName)
    })
    return { doneAt: now() }
  },

  async metrics() {
    return cache?.getMetrics()
  },
})

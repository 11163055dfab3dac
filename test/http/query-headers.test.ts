/**
 * `queryHeaders()`: each response says what its request cost the database and what the cache
 * answered, counted per request (concurrent requests do not mix), and nothing when disabled.
 */
import { once } from 'node:events'
import type http from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { PrismaClient } from '../../prisma/generated/client.js'
import { queryHeaders } from '../../src/http/index.js'
import { CacheManager } from '../../src/index.js'
import { withCache } from '../../src/prisma/index.js'
import { createTestDatabase, type TestDatabase } from '../support/database.js'
import { seedShop } from '../support/shop-fixture.js'

let db: TestDatabase
let base: PrismaClient
let cache: CacheManager
let server: http.Server
let url: string

beforeAll(async () => {
  db = await createTestDatabase('query_headers')
  base = db.client()
  await seedShop(base)
  cache = new CacheManager()
  const prisma = base.$extends(withCache({ cache, env: false }))
  const app = express()
  app.use(queryHeaders({ enabled: true }))
  app.get('/product/:id', async (req, res) => {
    const id = Number(req.params.id)
    await prisma.product.findUnique({ where: { id } }) // a miss the first time
    await prisma.product.findUnique({ where: { id } }) // then a hit
    await prisma.product.count({ cacheStrategy: false }) // uncached: to the database
    res.json({ id })
  })
  app.get('/slow/:n', async (req, res) => {
    // Several reads, spread over time, while other requests run.
    for (let i = 0; i < Number(req.params.n); i++) {
      await prisma.category.findMany({ cacheStrategy: false, take: 1 })
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    res.json({})
  })
  server = app.listen(0, '127.0.0.1')
  await once(server, 'listening')
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve))
  await cache?.close()
  await base?.$disconnect()
  await db?.drop()
})

const figures = (response: Response) =>
  ['x-db-queries', 'x-cache-hits', 'x-cache-misses'].map((h) => response.headers.get(h))

it('counts the database calls, their time, and the cache hits and misses of one request', async () => {
  const response = await fetch(`${url}/product/1`)
  expect(figures(response)).toEqual(['2', '1', '1'])
  expect(Number(response.headers.get('x-db-time-ms'))).toBeGreaterThan(0)
  const again = await fetch(`${url}/product/1`)
  expect(figures(again)).toEqual(['1', '2', '0'])
})

it('keeps concurrent requests apart', async () => {
  const [three, five] = await Promise.all([fetch(`${url}/slow/3`), fetch(`${url}/slow/5`)])
  expect(three.headers.get('x-db-queries')).toBe('3')
  expect(five.headers.get('x-db-queries')).toBe('5')
})

it('adds nothing when disabled (the default in production)', async () => {
  const app = express()
  app.use(queryHeaders({ enabled: false }))
  app.get('/', (_req, res) => {
    res.json({})
  })
  const off = app.listen(0, '127.0.0.1')
  await once(off, 'listening')
  try {
    const response = await fetch(`http://127.0.0.1:${(off.address() as AddressInfo).port}/`)
    expect(response.headers.get('x-db-queries')).toBeNull()
  } finally {
    await new Promise((resolve) => off.close(resolve))
  }
  expect(() => queryHeaders({ enabled: 'yes' } as never)).toThrow(/options\.enabled/)
})

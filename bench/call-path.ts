/**
 * Which source files one call crosses: V8's precise coverage (`node:inspector`) taken around the
 * call after a warm-up, on the local PostgreSQL and Redis; the files under `src/` where at least
 * one function ran during the call, in the order their first function appears in the coverage.
 * How far a newcomer reading one call has to follow it. `npx tsx bench/call-path.ts`
 */
import { Session } from 'node:inspector/promises'
import { fileURLToPath } from 'node:url'
import { CacheManager } from '../src/index.js'
import { withCache } from '../src/prisma/index.js'
import { createTestDatabase } from '../test/support/database.js'

const SRC = fileURLToPath(new URL('../src/', import.meta.url))
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

const session = new Session()
session.connect()
await session.post('Profiler.enable')
await session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: false })

type Counts = Map<string, number>
async function counts(): Promise<Counts> {
  const { result } = await session.post('Profiler.takePreciseCoverage')
  const byFunction: Counts = new Map()
  for (const script of result) {
    const file = script.url.startsWith('file://') ? fileURLToPath(script.url) : script.url
    if (!file.startsWith(SRC)) continue
    for (const fn of script.functions) {
      const key = `${file.slice(SRC.length).replace(/\.ts$/, '')}\u0000${fn.functionName}:${fn.ranges[0]!.startOffset}`
      byFunction.set(key, (byFunction.get(key) ?? 0) + fn.ranges[0]!.count)
    }
  }
  return byFunction
}

/** The files where some function ran during `call`, in order of first appearance. */
async function crossed(call: () => Promise<unknown>): Promise<string[]> {
  await counts() // resets the counters (takePreciseCoverage resets them when callCount is on)
  await call()
  const after = await counts()
  const files: string[] = []
  for (const [key, count] of after) {
    const file = key.split('\u0000')[0]!
    if (count > 0 && !files.includes(file)) files.push(file)
  }
  return files
}

function report(name: string, files: string[]): void {
  const byFolder = new Map<string, number>()
  for (const file of files) {
    const folder = file.includes('/') ? file.slice(0, file.lastIndexOf('/')).split('/')[0]! : '.'
    byFolder.set(folder, (byFolder.get(folder) ?? 0) + 1)
  }
  const folders = [...byFolder].map(([f, n]) => `${n} ${f}`).join(', ')
  console.log(`\n${name}: ${files.length} files (${folders})\n  ${files.join(' → ')}`)
}

const prefix = `callpath:${process.pid}:`
const cache = new CacheManager({ redis: REDIS_URL, prefix })
let n = 0
const load = async () => ({ id: n, name: 'row' })
for (let i = 0; i < 50; i++) await cache.getOrCompute(`warm:${i}`, load, { ttl: '1m' })
report(
  'cache.getOrCompute, a miss (L1 + Redis)',
  await crossed(() => cache.getOrCompute(`miss:${++n}`, load, { ttl: '1m' })),
)
const hitKey = `hit:${++n}`
await cache.getOrCompute(hitKey, load, { ttl: '1m' })
await new Promise((resolve) => setTimeout(resolve, 100)) // the fill's store settles
report(
  'cache.getOrCompute, an L1 hit',
  await crossed(() => cache.getOrCompute(hitKey, load, { ttl: '1m' })),
)

const db = await createTestDatabase('callpath')
const base = db.client()
const prisma = base.$extends(withCache({ cache, env: false, defaultStrategy: { ttl: 60 } }))
try {
  const category = await base.category.create({ data: { name: 'c', slug: 'c' } })
  const ids: number[] = []
  for (let i = 0; i < 40; i++) {
    const p = await base.product.create({
      data: { sku: `S-${i}`, name: `P${i}`, price: '1.00', categoryId: category.id },
    })
    ids.push(p.id)
  }
  for (const id of ids.slice(0, 20)) await prisma.product.findUnique({ where: { id } })
  await new Promise((resolve) => setTimeout(resolve, 100))
  report(
    'prisma.product.findUnique, a hit',
    await crossed(() => prisma.product.findUnique({ where: { id: ids[0]! } })),
  )
  report(
    'prisma.product.findUnique, a miss, its key planned for the first time',
    await crossed(() => prisma.product.findUnique({ where: { id: ids[30]! } })),
  )
  await new Promise((resolve) => setTimeout(resolve, 100))
  await cache.clear() // the entry goes; the read's plan stays
  report(
    'prisma.product.findUnique, a miss, its plan kept',
    await crossed(() => prisma.product.findUnique({ where: { id: ids[30]! } })),
  )
  report(
    'prisma.product.update',
    await crossed(() =>
      prisma.product.update({ where: { id: ids[1]! }, data: { name: 'renamed' } }),
    ),
  )
} finally {
  await base.$disconnect()
  await db.drop()
  await cache.clear()
  await cache.close()
  session.disconnect()
}

/**
 * Run with `node --expose-gc --import tsx`: extends one client with `withReadReplicas` many times,
 * drops the results, collects garbage, and prints the cache listeners held, before and after, as
 * JSON.
 */

import { withReadReplicas } from '../../src/database/index.js'
import { CacheManager } from '../../src/index.js'
import { createTestDatabase } from './database.js'

const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error('run with --expose-gc')
const db = await createTestDatabase('replica_release')
const base = db.client()
const replica = db.client()
const cache = new CacheManager()
cache.setMaxListeners(100)
const before = { listeners: cache.listenerCount('invalidate') }
for (let i = 0; i < 20; i++) base.$extends(withReadReplicas({ replicas: [replica], cache }))
const held = { listeners: cache.listenerCount('invalidate') }
for (let i = 0; i < 20; i++) {
  gc()
  await new Promise((resolve) => setTimeout(resolve, 20))
}
const after = { listeners: cache.listenerCount('invalidate') }
await Promise.all([base.$disconnect(), replica.$disconnect(), cache.close()])
await db.drop()
console.log(JSON.stringify({ before, held, after }))

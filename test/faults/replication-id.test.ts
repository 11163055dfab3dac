/**
 * A server that keeps its run id but not its data: it was made a replica of another master
 * (resynchronised from it, so what it held is gone), then promoted again, as Sentinel does to an
 * old master that comes back, or an operator with REPLICAOF. Its replication id changed: the
 * cache takes it for another server and clears the prefix.
 */
import { Redis } from 'ioredis'
import { afterAll, expect, it } from 'vitest'
import { CacheManager } from '../../src/index.js'
import { uniquePrefix } from '../support/redis.js'
import { RedisServer } from '../support/redis-server.js'
import { waitFor } from '../support/wait.js'

const servers: RedisServer[] = []
const clients: Redis[] = []
afterAll(async () => {
  for (const client of clients) client.disconnect()
  await Promise.all(servers.map((s) => s.stop()))
})

function admin(server: RedisServer): Redis {
  const client = new Redis(server.url, { maxRetriesPerRequest: 1 })
  client.on('error', () => {})
  clients.push(client)
  return client
}

it('a server resynchronised from another master and promoted again is another server', async () => {
  const [x, y] = await Promise.all([RedisServer.start(), RedisServer.start()])
  servers.push(x, y)
  const prefix = uniquePrefix('replid')
  const cache = new CacheManager({ redis: x.url, prefix, bus: false })
  const reasons: string[] = []
  cache.on('degraded', ({ reason }) => reasons.push(reason))
  const [onX, onY] = [admin(x), admin(y)]

  // y holds a copy of the entry from before the delete that x acknowledged.
  await cache.set('probe', 'old')
  await onY.restore(`${prefix}probe`, 0, (await onX.dumpBuffer(`${prefix}probe`))!)
  await cache.delete('probe')
  const runId = /run_id:(\w+)/.exec(await onX.info('server'))![1]

  await onY.config('SET', 'repl-diskless-sync-delay', '0') // no wait for more replicas
  await onX.call('REPLICAOF', '127.0.0.1', String(y.port))
  await waitFor(async () => /master_link_status:up/.test(await onX.info('replication')), {
    what: 'x in sync with y',
  })
  await onX.call('REPLICAOF', 'NO', 'ONE')
  expect(await onX.exists(`${prefix}probe`)).toBe(1) // the delete is undone
  expect(/run_id:(\w+)/.exec(await onX.info('server'))![1]).toBe(runId)
  await onX.client('KILL', 'TYPE', 'normal') // the cache reconnects to the same process

  await waitFor(() => reasons.some((r) => r.includes('same run id')), {
    what: 'the new history noticed',
  })
  await waitFor(() => !cache.getMetrics().degraded, { what: 'recovery', timeoutMs: 10_000 })
  expect(await onX.exists(`${prefix}probe`)).toBe(0)
  expect(await cache.get('probe')).toBeUndefined()
  await cache.close()
})

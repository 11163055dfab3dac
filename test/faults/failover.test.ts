/**
 * Redis comes back as another server that lacks the last writes the old one acknowledged (a
 * replica promoted before it replicated them, a restart from an older save): the cache notices
 * the new server and does its recent writes and invalidations again before reading from it.
 * The "replica" here is a new redis-server given a copy of the keys taken before those writes.
 */
import { Redis } from 'ioredis'
import { afterAll, expect, it } from 'vitest'
import { RecentChanges } from '../../src/drivers/recent-changes.js'
import { CacheManager } from '../../src/index.js'
import { RedisServer } from '../support/redis-server.js'
import { TcpProxy } from '../support/tcp-proxy.js'
import { waitFor } from '../support/wait.js'

let server: RedisServer | undefined
let proxy: TcpProxy | undefined
afterAll(async () => {
  await proxy?.close()
  await server?.kill()
})

async function snapshot(redis: Redis, prefix: string): Promise<[string, Buffer][]> {
  const [, names] = await redis.scan('0', 'MATCH', `${prefix}*`, 'COUNT', 10_000)
  const dumps: [string, Buffer][] = []
  for (const name of names) {
    const dump = await redis.dumpBuffer(name)
    if (dump !== null) dumps.push([name, dump])
  }
  return dumps
}

it('writes the old server acknowledged but the new one lacks are done again', async () => {
  server = await RedisServer.start()
  proxy = await TcpProxy.start(server.port)
  const prefix = 'failover:'
  const cache = new CacheManager({
    redis: proxy.url('redis'),
    prefix,
    circuitBreaker: { openDuration: '100ms' },
  })
  const events: string[] = []
  cache.on('degraded', ({ reason }) => events.push(`degraded: ${reason}`))
  cache.on('recovered', () => events.push('recovered'))
  await cache.set('product:1', 'old', { tags: ['products'] })
  await cache.set('product:2', 'old')
  let admin = new Redis(server.url)
  const replica = await snapshot(admin, prefix)
  // Acknowledged by the old server, never replicated:
  await cache.delete('product:1')
  await cache.set('product:2', 'new')

  proxy.partition()
  admin.disconnect()
  await server.kill()
  await server.restart()
  admin = new Redis(server.url)
  for (const [name, dump] of replica) await admin.restore(name, 0, dump, 'REPLACE')
  expect(await admin.exists(`${prefix}product:1`)).toBe(1) // the delete is undone
  proxy.heal()

  const noticed = () => events.findIndex((event) => event.includes('another server'))
  await waitFor(() => noticed() >= 0, { what: 'the new server noticed', timeoutMs: 10_000 })
  await waitFor(() => events.indexOf('recovered', noticed()) > noticed(), {
    what: 'the recent writes done again',
    timeoutMs: 10_000,
  })
  const other = new CacheManager({ redis: server.url, prefix, local: false })
  expect(await other.get('product:1')).toBeUndefined()
  expect(await other.get('product:2')).not.toBe('old')
  await Promise.all([cache.close(), other.close()])
  admin.disconnect()
})

it('remembers the changes of the window only, and all of them as a clear past its bound', () => {
  const recent = new RecentChanges(1_000, 3)
  recent.record({ kind: 'keys', keys: ['a'] }, 0)
  recent.record({ kind: 'tags', tags: ['t'] }, 500)
  expect(recent.redo(1_200)).toEqual([{ kind: 'tags', tags: ['t'] }])
  for (let i = 0; i < 4; i++) recent.record({ kind: 'keys', keys: [`k${i}`] }, 1_300)
  expect(recent.redo(1_400)).toEqual([{ kind: 'clear' }])
  // Once the overflow is out of the window too, single changes again.
  recent.record({ kind: 'keys', keys: ['z'] }, 2_400)
  expect(recent.redo(2_500)).toEqual([{ kind: 'keys', keys: ['z'] }])
})

/**
 * Redis comes back as another server that lacks the last writes the old one acknowledged (a
 * replica promoted before it replicated them, a restart from an older save): the cache notices
 * the new server and clears the prefix (every instance's lost writes go with it) before reading
 * from it. The "replica" here is a new redis-server given a copy of the keys taken before those writes.
 */
import { Redis } from 'ioredis'
import { afterAll, expect, it } from 'vitest'
import { RecentChanges } from '../../src/drivers/recent-changes.js'
import { CacheManager } from '../../src/index.js'
import { RedisServer } from '../support/redis-server.js'
import { TcpProxy } from '../support/tcp-proxy.js'
import { waitFor } from '../support/wait.js'

const servers: RedisServer[] = []
const proxies: TcpProxy[] = []
afterAll(async () => {
  for (const proxy of proxies) await proxy.close()
  for (const server of servers) await server.kill()
})

async function serverBehindProxy(): Promise<{ server: RedisServer; proxy: TcpProxy }> {
  const server = await RedisServer.start()
  servers.push(server)
  const proxy = await TcpProxy.start(server.port)
  proxies.push(proxy)
  return { server, proxy }
}

/** Replaces the server by one holding only `keys` (a replica promoted before it caught up). */
async function replaceServer(
  server: RedisServer,
  proxy: TcpProxy,
  keys: [string, Buffer][],
): Promise<Redis> {
  proxy.partition()
  await server.kill()
  await server.restart()
  const admin = new Redis(server.url)
  for (const [name, dump] of keys) await admin.restore(name, 0, dump, 'REPLACE')
  proxy.heal()
  return admin
}

/** Waits for `events` to say the new server was noticed, then that the cache recovered. */
async function noticedAndRecovered(events: string[]): Promise<void> {
  const noticed = () => events.findIndex((event) => event.includes('another server'))
  await waitFor(() => noticed() >= 0, { what: 'the new server noticed', timeoutMs: 10_000 })
  await waitFor(() => events.indexOf('recovered', noticed()) > noticed(), {
    what: 'recovered on the new server',
    timeoutMs: 10_000,
  })
}

function watchEvents(cache: CacheManager): string[] {
  const events: string[] = []
  cache.on('degraded', ({ reason }) => events.push(`degraded: ${reason}`))
  cache.on('recovered', () => events.push('recovered'))
  return events
}

async function snapshot(redis: Redis, prefix: string): Promise<[string, Buffer][]> {
  const [, names] = await redis.scan('0', 'MATCH', `${prefix}*`, 'COUNT', 10_000)
  const dumps: [string, Buffer][] = []
  for (const name of names) {
    const dump = await redis.dumpBuffer(name)
    if (dump !== null) dumps.push([name, dump])
  }
  return dumps
}

it('writes the old server acknowledged but the new one lacks are undone', async () => {
  const { server, proxy } = await serverBehindProxy()
  const prefix = 'failover:'
  const cache = new CacheManager({
    redis: proxy.url('redis'),
    prefix,
    circuitBreaker: { openDuration: '100ms' },
  })
  const events = watchEvents(cache)
  await cache.set('product:1', 'old', { tags: ['products'] })
  await cache.set('product:2', 'old')
  const before = new Redis(server.url)
  const replica = await snapshot(before, prefix)
  before.disconnect()
  // Acknowledged by the old server, never replicated:
  await cache.delete('product:1')
  await cache.set('product:2', 'new')

  const admin = await replaceServer(server, proxy, replica)
  expect(await admin.exists(`${prefix}product:1`)).toBe(1) // the delete is undone
  await noticedAndRecovered(events)
  const other = new CacheManager({ redis: server.url, prefix, local: false })
  expect(await other.get('product:1')).toBeUndefined()
  expect(await other.get('product:2')).not.toBe('old')
  await Promise.all([cache.close(), other.close()])
  admin.disconnect()
})

it("another instance's lost invalidation is undone too, though that instance never comes back", async () => {
  const { server, proxy } = await serverBehindProxy()
  const prefix = 'failover-other:'
  const survivor = new CacheManager({
    redis: proxy.url('redis'),
    prefix,
    circuitBreaker: { openDuration: '100ms' },
  })
  const gone = new CacheManager({ redis: server.url, prefix, local: false })
  const events = watchEvents(survivor)
  await gone.set('product:1', 'old', { tags: ['products'] })
  expect(await survivor.get('product:1')).toBe('old')
  const before = new Redis(server.url)
  const replica = await snapshot(before, prefix)
  before.disconnect()
  // Acknowledged by the old server, never replicated; its writer then stops for good.
  await gone.invalidateByTag('products')
  await gone.close()

  const admin = await replaceServer(server, proxy, replica)
  expect(await admin.exists(`${prefix}product:1`)).toBe(1) // the invalidation is undone
  await noticedAndRecovered(events)
  expect(await admin.exists(`${prefix}product:1`)).toBe(0)
  expect(await survivor.get('product:1')).toBeUndefined()
  await survivor.close()
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

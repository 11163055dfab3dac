/**
 * Redis comes back as another server that lacks the last writes the old one acknowledged (a
 * replica promoted before it replicated them, a restart from an older save): the cache notices
 * the new server and clears the prefix (every instance's lost writes with it) before reading
 * from it.
 * The "replica" here is a new redis-server given a copy of the keys taken before those writes.
 */
import { Redis } from 'ioredis'
import { afterAll, expect, it } from 'vitest'
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
  const { server, proxy } = await serverBehindProxy()
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

it("another instance's lost invalidation is undone too, though that instance never comes back", async () => {
  // The cache that reconnects clears the prefix: it cannot know what the others wrote, and one
  // that stopped for good would never redo its own writes.
  const { server, proxy } = await serverBehindProxy()
  const prefix = 'failover-other:'
  const survivor = new CacheManager({
    redis: proxy.url('redis'),
    prefix,
    circuitBreaker: { openDuration: '100ms' },
  })
  const gone = new CacheManager({ redis: server.url, prefix, local: false })
  const events: string[] = []
  survivor.on('degraded', ({ reason }) => events.push(`degraded: ${reason}`))
  survivor.on('recovered', () => events.push('recovered'))
  await gone.set('product:1', 'old', { tags: ['products'] })
  expect(await survivor.get('product:1')).toBe('old')
  let admin = new Redis(server.url)
  const replica = await snapshot(admin, prefix)
  // Acknowledged by the old server, never replicated; its writer then stops for good.
  await gone.invalidateByTag('products')
  await gone.close()

  proxy.partition()
  admin.disconnect()
  await server.kill()
  await server.restart()
  admin = new Redis(server.url)
  for (const [name, dump] of replica) await admin.restore(name, 0, dump, 'REPLACE')
  expect(await admin.exists(`${prefix}product:1`)).toBe(1) // the invalidation is undone
  proxy.heal()

  const noticed = () => events.findIndex((event) => event.includes('another server'))
  await waitFor(() => noticed() >= 0, { what: 'the new server noticed', timeoutMs: 10_000 })
  await waitFor(() => events.indexOf('recovered', noticed()) > noticed(), {
    what: 'the prefix cleared',
    timeoutMs: 10_000,
  })
  expect(await admin.exists(`${prefix}product:1`)).toBe(0)
  expect(await survivor.get('product:1')).toBeUndefined()
  await survivor.close()
  admin.disconnect()
})

import type { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { RedisDriver } from '../../src/drivers/redis-driver.js'
import { REDIS_URL, uniquePrefix } from '../support/redis.js'

/**
 * Under load, the driver's own client sends the commands of one turn of the event loop in one
 * socket write (each write is a system call, most of a command's cost here); a lone command goes
 * out at once. Counted on the real socket of a real Redis connection.
 */

const drivers: RedisDriver[] = []
afterAll(async () => {
  for (const driver of drivers) await driver.close()
})

/** A connected driver, and the number of writes its socket has made so far. */
async function connected(options: { client?: Redis } = {}) {
  const driver = new RedisDriver({
    ...(options.client ? { client: options.client } : { url: REDIS_URL }),
    prefix: uniquePrefix('coalesce'),
  })
  drivers.push(driver)
  await driver.ping()
  const stream = (driver.client as Redis).stream as unknown as {
    _writeGeneric(...args: unknown[]): unknown
  }
  let writes = 0
  const write = stream._writeGeneric.bind(stream)
  stream._writeGeneric = (...args: unknown[]) => {
    writes++
    return write(...args)
  }
  return { driver, writes: () => writes }
}

describe('socket writes of the Redis driver', () => {
  it('a lone command goes out at once, in its own write', async () => {
    const { driver, writes } = await connected()
    const before = writes()
    const reply = driver.get('absent')
    expect(writes()).toBe(before + 1) // written before get() returned, no turn waited
    expect(await reply).toBeUndefined()
  })

  it('commands issued while replies are awaited go out together, in order', async () => {
    const { driver, writes } = await connected()
    await driver.set('k', Buffer.from('v'), 60_000, [])
    const before = writes()
    const first = driver.get('k') // alone: sent at once
    const rest = Array.from({ length: 100 }, (_, i) => driver.get(i % 2 === 0 ? 'k' : 'absent'))
    const replies = await Promise.all([first, ...rest])
    expect(writes() - before).toBeLessThanOrEqual(3)
    expect(replies.map((r) => r?.toString())).toEqual([
      'v',
      ...rest.map((_, i) => (i % 2 === 0 ? 'v' : undefined)),
    ])
  })

  it('a client the application passed in is left as it is: one write per command', async () => {
    const { Redis } = await import('ioredis')
    const client = new Redis(REDIS_URL)
    const { driver, writes } = await connected({ client })
    await driver.get('warm')
    const before = writes()
    await Promise.all(Array.from({ length: 20 }, () => driver.get('absent')))
    expect(writes() - before).toBe(20)
    await driver.close()
    client.disconnect()
  })
})

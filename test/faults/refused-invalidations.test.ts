/**
 * An invalidation Redis refuses (here an ACL change that denies the commands it runs) did not
 * apply: it must be kept and replayed once Redis accepts it again, and L2 must not be used
 * meanwhile. It was counted as an error and then forgotten, leaving the old value in Redis.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, afterEach, expect, it } from 'vitest'
import { CacheManager } from '../../src/index.js'
import { deleteKeysUnder, REDIS_URL, rawRedis, uniquePrefix } from '../support/redis.js'
import { waitFor } from '../support/wait.js'

const raw = rawRedis()
const user = `sc-test-${randomBytes(4).toString('hex')}`
const password = randomBytes(8).toString('hex')
const open: CacheManager[] = []
const prefix = uniquePrefix('refused')

afterEach(async () => {
  await Promise.all(open.splice(0).map((cache) => cache.close()))
})
afterAll(async () => {
  await raw.acl('DELUSER', user)
  await deleteKeysUnder(raw, prefix)
  raw.disconnect()
})

it('an invalidation refused by an ACL is replayed once allowed, and L2 is not read meanwhile', async () => {
  await raw.acl('SETUSER', user, 'on', `>${password}`, '~*', '&*', '+@all')
  const url = new URL(REDIS_URL)
  url.username = user
  url.password = password
  const errors: string[] = []
  const a = new CacheManager({
    redis: url.toString(),
    prefix,
    circuitBreaker: { openDuration: '100ms' },
  })
  a.on('error', ({ error }) => errors.push(String((error as Error).message)))
  open.push(a)
  await a.set('product:1', 'old', { tags: ['products'] })

  // The operator takes away the commands invalidations run.
  await raw.acl('SETUSER', user, '-evalsha', '-eval', '-unlink', '-del')
  await a.invalidateByTag('products')
  expect(errors.some((message) => message.includes('NOPERM'))).toBe(true)
  // Not forgotten: kept for replay, and Redis, which may hold the old value, is not used.
  await waitFor(() => a.getMetrics().degraded, { what: 'degraded' })
  expect(await a.get('product:1')).toBeUndefined()

  await raw.acl('SETUSER', user, '+@all')
  await waitFor(() => !a.getMetrics().degraded, { what: 'recovered', timeoutMs: 10_000 })
  const other = new CacheManager({ redis: REDIS_URL, prefix, local: false })
  open.push(other)
  expect(await other.get('product:1')).toBeUndefined()
})

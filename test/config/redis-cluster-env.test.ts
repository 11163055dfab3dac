import { describe, expect, it } from 'vitest'
import { cacheOptionsFromEnv } from '../../src/config/cache-env.js'
import { RedisDriver } from '../../src/drivers/redis-driver.js'
import { CacheManager, ErrorCodes } from '../../src/index.js'
import { validationErrorOf } from '../support/validation.js'

describe('REDIS_CLUSTER_NODES', () => {
  it('gives redis: { cluster } with every node, IPv6 in brackets, and REDIS_PASSWORD for all', () => {
    expect(
      cacheOptionsFromEnv({ REDIS_CLUSTER_NODES: '10.0.0.1:7000, redis-b:7001,[::1]:7002' }),
    ).toEqual({
      redis: {
        cluster: [
          { host: '10.0.0.1', port: 7000 },
          { host: 'redis-b', port: 7001 },
          { host: '::1', port: 7002 },
        ],
      },
    })
    expect(cacheOptionsFromEnv({ REDIS_CLUSTER_NODES: 'a:1', REDIS_PASSWORD: ' s3 ' })).toEqual({
      redis: {
        cluster: [{ host: 'a', port: 1 }],
        clusterOptions: { redisOptions: { password: ' s3 ' } },
      },
    })
  })

  it.each([
    [{ REDIS_CLUSTER_NODES: 'a:7000,b' }, 'entry 2 ("b") is not host:port'],
    [{ REDIS_CLUSTER_NODES: 'a:7000,,b:1' }, 'entry 2 is empty'],
    [{ REDIS_CLUSTER_NODES: 'a:70000' }, 'outside 1..65535'],
    [{ REDIS_CLUSTER_NODES: 'redis://a:7000' }, 'is not host:port'],
    [{ REDIS_CLUSTER_NODES: 'a:7000', REDIS_URL: 'redis://b:6379' }, 'conflicts with REDIS_URL'],
    [{ REDIS_CLUSTER_NODES: 'a:7000', REDIS_HOST: 'b' }, 'conflicts with REDIS_HOST'],
    [{ REDIS_CLUSTER_NODES: 'a:7000', REDIS_DB: '2' }, 'conflicts with REDIS_DB'],
  ])('%j is refused, naming REDIS_CLUSTER_NODES: %s', (env, message) => {
    const error = validationErrorOf(() => cacheOptionsFromEnv(env))
    expect(error.code).toBe(ErrorCodes.INVALID_ENV)
    expect(error.field).toBe('REDIS_CLUSTER_NODES')
    expect(error.message).toContain(message)
  })
})

describe('redis: { cluster } and the driver options', () => {
  it.each([
    [[], 'redis.cluster'],
    [
      [
        { host: 'a', port: 7000 },
        { host: '', port: 7001 },
      ],
      'redis.cluster[1].host',
    ],
    [[{ host: 'a', port: 0 }], 'redis.cluster[0].port'],
    ['a:7000', 'redis.cluster'],
  ])('%j is refused, naming %s', (cluster, field) => {
    const error = validationErrorOf(
      () => new CacheManager({ redis: { cluster: cluster as never } }),
    )
    expect(error.field).toBe(field)
  })

  it('a prefix with a "{" it does not close is refused on a Cluster, naming prefix', () => {
    const error = validationErrorOf(
      () => new RedisDriver({ cluster: [{ host: '127.0.0.1', port: 1 }], prefix: 'app{x:' }),
    )
    expect(error.field).toBe('prefix')
  })

  it('url and cluster together are refused', () => {
    const error = validationErrorOf(
      () =>
        new RedisDriver({
          url: 'redis://127.0.0.1:1',
          cluster: [{ host: '127.0.0.1', port: 1 }],
          prefix: 'p:',
        }),
    )
    expect(error.message).toContain('exactly one of url, options, client or cluster')
  })
})

describe('clockSkew', () => {
  it.each([
    [-1, 'must be a finite number >= 0'],
    ['soon', 'is not a duration'],
    ['2m', 'must be at most fenceWindow (60000 ms)'],
  ])('%j is refused, naming clockSkew: %s', (clockSkew, message) => {
    const error = validationErrorOf(
      () => new CacheManager({ local: true, clockSkew: clockSkew as never, enabled: false }),
    )
    expect(error.field).toBe('clockSkew')
    expect(error.message).toContain(message)
  })

  it('0, and up to fenceWindow, are taken; unset, it yields to a shorter fenceWindow', async () => {
    for (const options of [
      { clockSkew: 0 },
      { clockSkew: '5s', fenceWindow: '5s' },
      { fenceWindow: '30ms' },
    ]) {
      await new CacheManager({ ...options, enabled: false }).close()
    }
  })
})

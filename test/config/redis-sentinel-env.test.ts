import { describe, expect, it } from 'vitest'
import { cacheOptionsFromEnv } from '../../src/config/cache-env.js'
import { CacheManager } from '../../src/index.js'
import { cacheEnvFailure as failure } from '../support/validation.js'

const SENTINELS = {
  REDIS_SENTINELS: '10.0.0.1:26379, 10.0.0.2:26380',
  REDIS_SENTINEL_NAME: 'mymaster',
}

describe('REDIS_SENTINELS / REDIS_SENTINEL_NAME', () => {
  it('build ioredis Sentinel options', () => {
    expect(cacheOptionsFromEnv(SENTINELS)).toEqual({
      redis: {
        sentinels: [
          { host: '10.0.0.1', port: 26379 },
          { host: '10.0.0.2', port: 26380 },
        ],
        name: 'mymaster',
      },
    })
  })
  it('take the default sentinel port, IPv6 in brackets, REDIS_PASSWORD and REDIS_DB', () => {
    const env = {
      REDIS_SENTINELS: 's1,[::1]:5000',
      REDIS_SENTINEL_NAME: ' cache ',
      REDIS_PASSWORD: ' secret',
      REDIS_DB: '2',
    }
    expect(cacheOptionsFromEnv(env).redis).toEqual({
      sentinels: [
        { host: 's1', port: 26379 },
        { host: '::1', port: 5000 },
      ],
      name: 'cache',
      password: ' secret',
      db: 2,
    })
  })
  it.each([
    ['a:1,,b:2', 'entry 2 is empty'],
    ['a:0', 'outside 1..65535'],
    ['a:70000', 'outside 1..65535'],
    ['redis://a:1', 'is not host:port'],
    ['a b:1', 'is not host:port'],
    ['a:1,A:1', 'listed twice'],
  ])('rejects %j', (value, message) => {
    const env = { REDIS_SENTINELS: value, REDIS_SENTINEL_NAME: 'mymaster' }
    expect(failure(env, 'REDIS_SENTINELS')).toContain(message)
  })
  it('need each other', () => {
    expect(failure({ REDIS_SENTINELS: 'a:1' }, 'REDIS_SENTINEL_NAME')).toContain('must be set')
    expect(failure({ REDIS_SENTINEL_NAME: 'm' }, 'REDIS_SENTINEL_NAME')).toContain(
      'REDIS_SENTINELS is not',
    )
    expect(
      failure({ ...SENTINELS, REDIS_SENTINEL_NAME: 'my master' }, 'REDIS_SENTINEL_NAME'),
    ).toContain('whitespace')
  })
  it.each([
    ['REDIS_URL', 'redis://h:6379'],
    ['REDIS_HOST', 'h'],
    ['REDIS_PORT', '6379'],
    ['REDIS_CLUSTER_NODES', 'h:7000'],
  ])('conflict with %s', (variable, value) => {
    const message = failure({ ...SENTINELS, [variable]: value }, 'REDIS_SENTINELS')
    expect(message).toContain(variable)
  })
  it('count as Redis for ENABLE_REDIS_CACHE and ENABLE_LOCAL_CACHE', () => {
    expect(cacheOptionsFromEnv({ ...SENTINELS, ENABLE_LOCAL_CACHE: 'false' }).local).toBe(false)
    expect(cacheOptionsFromEnv({ ...SENTINELS, ENABLE_REDIS_CACHE: 'false' }).redis).toBe(false)
    expect(failure({ ENABLE_REDIS_CACHE: 'true' }, 'ENABLE_REDIS_CACHE')).toContain(
      'REDIS_SENTINELS',
    )
  })
})

describe('redis: { sentinels, name }', () => {
  it('is refused without a name, or with an empty list', () => {
    const sentinels = [{ host: '127.0.0.1', port: 1 }]
    expect(() => new CacheManager({ redis: { sentinels } })).toThrow(/options\.name/)
    expect(() => new CacheManager({ redis: { sentinels: [], name: 'm' } })).toThrow(
      /options\.sentinels/,
    )
    expect(() => new CacheManager({ redis: { name: 'm', port: 1 } })).toThrow(/options\.name/)
  })
})

import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { resolveOptions } from '../../src/cache/resolve-options.js'
import { CACHE_ENV_VARIABLES, cacheOptionsFromEnv } from '../../src/config/cache-env.js'
import { formatEnvTable } from '../../src/config/env-parsers.js'
import { PRISMA_ENV_VARIABLES } from '../../src/config/prisma-env.js'
import { cacheEnvFailure as failure } from '../support/validation.js'

describe('cacheOptionsFromEnv: nothing set', () => {
  it('gives {} (memory-only defaults), which resolves', () => {
    expect(cacheOptionsFromEnv({})).toEqual({})
    expect(resolveOptions(cacheOptionsFromEnv({})).redis).toBe(false)
  })
  it('treats empty values as unset (FOO= placeholders in .env files)', () => {
    const empty = Object.fromEntries(CACHE_ENV_VARIABLES.map((v) => [v.name, '']))
    expect(cacheOptionsFromEnv(empty)).toEqual({})
  })
  it('ignores unrelated variables', () => {
    expect(cacheOptionsFromEnv({ PATH: '/usr/bin', DATABASE_URL: 'postgres://x' })).toEqual({})
  })
  it('reads process.env by default', () => {
    const saved = process.env.CACHE_PREFIX
    process.env.CACHE_PREFIX = 'from-process-env:'
    try {
      expect(cacheOptionsFromEnv().prefix).toBe('from-process-env:')
    } finally {
      if (saved === undefined) delete process.env.CACHE_PREFIX
      else process.env.CACHE_PREFIX = saved
    }
  })
})

describe('REDIS_URL', () => {
  it('is used as the redis option, as written', () => {
    expect(cacheOptionsFromEnv({ REDIS_URL: 'redis://localhost:6379' })).toEqual({
      redis: 'redis://localhost:6379',
    })
    expect(cacheOptionsFromEnv({ REDIS_URL: ' rediss://u:p@cache.example:6380/3 ' }).redis).toBe(
      'rediss://u:p@cache.example:6380/3',
    )
  })
  it.each(['http://localhost:6379', 'localhost:6379', 'redis:///0', 'nonsense'])(
    'rejects %j',
    (value) => {
      expect(failure({ REDIS_URL: value }, 'REDIS_URL')).toContain('redis:// or rediss://')
    },
  )
  it('rejects a path that is not a database index', () => {
    expect(failure({ REDIS_URL: 'redis://h:6379/cache' }, 'REDIS_URL')).toContain('database index')
  })
  it('does not leak the password of a bad URL', () => {
    expect(failure({ REDIS_URL: 'http://:hunter2@h:6379' }, 'REDIS_URL')).not.toContain('hunter2')
  })
})

describe('REDIS_HOST / REDIS_PORT / REDIS_PASSWORD / REDIS_DB', () => {
  it('HOST alone builds ioredis options with the default port', () => {
    expect(cacheOptionsFromEnv({ REDIS_HOST: 'localhost' })).toEqual({
      redis: { host: 'localhost', port: 6379 },
    })
  })
  it('all four build { host, port, password, db }', () => {
    expect(
      cacheOptionsFromEnv({
        REDIS_HOST: 'redis.internal',
        REDIS_PORT: '6380',
        REDIS_PASSWORD: ' s3cret ',
        REDIS_DB: '2',
      }),
    ).toEqual({ redis: { host: 'redis.internal', port: 6380, password: ' s3cret ', db: 2 } })
  })
  it('accepts a .env where REDIS_PASSWORD is empty', () => {
    expect(
      cacheOptionsFromEnv({ REDIS_HOST: 'localhost', REDIS_PORT: '6379', REDIS_PASSWORD: '' }),
    ).toEqual({ redis: { host: 'localhost', port: 6379 } })
  })
  it.each(['0', '65536', 'abc', '-1'])('rejects REDIS_PORT=%j', (value) => {
    failure({ REDIS_HOST: 'h', REDIS_PORT: value }, 'REDIS_PORT')
  })
  it.each(['-1', 'one', '1.5'])('rejects REDIS_DB=%j', (value) => {
    failure({ REDIS_HOST: 'h', REDIS_DB: value }, 'REDIS_DB')
  })
  it('rejects a URL or host:port in REDIS_HOST, saying where it belongs', () => {
    expect(failure({ REDIS_HOST: 'redis://h:6379' }, 'REDIS_HOST')).toContain('REDIS_URL')
    expect(failure({ REDIS_HOST: 'h:6379' }, 'REDIS_HOST')).toContain('REDIS_PORT')
    failure({ REDIS_HOST: 'bad host' }, 'REDIS_HOST')
    failure({ REDIS_HOST: 'user@host' }, 'REDIS_HOST')
  })
  it('accepts IPv6 hosts', () => {
    expect(cacheOptionsFromEnv({ REDIS_HOST: '::1' }).redis).toEqual({ host: '::1', port: 6379 })
  })
  it.each([
    ['REDIS_PORT', '6379'],
    ['REDIS_PASSWORD', 'pw'],
    ['REDIS_DB', '1'],
  ])('rejects %s without REDIS_HOST or REDIS_URL', (name, value) => {
    expect(failure({ [name]: value }, name)).toContain('REDIS_HOST')
  })
})

describe('REDIS_URL together with REDIS_HOST/PORT/PASSWORD/DB', () => {
  it('agreeing parts are fine and the URL is used unchanged', () => {
    expect(
      cacheOptionsFromEnv({
        REDIS_URL: 'redis://:pw@Cache.Local:6380/2',
        REDIS_HOST: 'cache.local',
        REDIS_PORT: '6380',
        REDIS_PASSWORD: 'pw',
        REDIS_DB: '2',
      }).redis,
    ).toBe('redis://:pw@Cache.Local:6380/2')
    expect(cacheOptionsFromEnv({ REDIS_URL: 'redis://[::1]:6379', REDIS_HOST: '::1' }).redis).toBe(
      'redis://[::1]:6379',
    )
  })
  it('fills in parts the URL leaves out (password from a secret store)', () => {
    const redis = cacheOptionsFromEnv({
      REDIS_URL: 'redis://cache.local',
      REDIS_PORT: '6380',
      REDIS_PASSWORD: 'p@ss:w/rd',
      REDIS_DB: '4',
    }).redis as string
    const url = new URL(redis)
    expect(url.hostname).toBe('cache.local')
    expect(url.port).toBe('6380')
    expect(decodeURIComponent(url.password)).toBe('p@ss:w/rd')
    expect(url.pathname).toBe('/4')
  })
  it('matches a percent-encoded password in the URL', () => {
    expect(
      cacheOptionsFromEnv({ REDIS_URL: 'redis://:p%40ss@h:6379', REDIS_PASSWORD: 'p@ss' }).redis,
    ).toBe('redis://:p%40ss@h:6379')
  })
  it('a different host is a conflict naming both', () => {
    const message = failure(
      { REDIS_URL: 'redis://a.example:6379', REDIS_HOST: 'b.example' },
      'REDIS_URL',
    )
    expect(message).toContain('REDIS_HOST')
    expect(message).toContain('a.example')
    expect(message).toContain('b.example')
  })
  it('a different port is a conflict naming both', () => {
    const message = failure({ REDIS_URL: 'redis://h:6379', REDIS_PORT: '6380' }, 'REDIS_URL')
    expect(message).toContain('REDIS_PORT')
    expect(message).toContain('6380')
  })
  it('a different password is a conflict that shows neither password', () => {
    const message = failure(
      { REDIS_URL: 'redis://:first-secret@h:6379', REDIS_PASSWORD: 'second-secret' },
      'REDIS_URL',
    )
    expect(message).toContain('REDIS_PASSWORD')
    expect(message).not.toContain('first-secret')
    expect(message).not.toContain('second-secret')
  })
  it('a different database is a conflict naming both', () => {
    const message = failure({ REDIS_URL: 'redis://h:6379/1', REDIS_DB: '2' }, 'REDIS_URL')
    expect(message).toContain('REDIS_DB')
  })
  it('a bad separate value is reported on its own variable even with a URL', () => {
    failure({ REDIS_URL: 'redis://h:6379', REDIS_PORT: 'x' }, 'REDIS_PORT')
  })
})

describe('ENABLE_REDIS_CACHE', () => {
  it('false turns Redis off even when REDIS_URL is set', () => {
    expect(
      cacheOptionsFromEnv({ REDIS_URL: 'redis://h:6379', ENABLE_REDIS_CACHE: 'false' }),
    ).toEqual({ redis: false })
    expect(cacheOptionsFromEnv({ ENABLE_REDIS_CACHE: 'off' })).toEqual({ redis: false })
  })
  it('false still validates the Redis variables', () => {
    failure({ REDIS_URL: 'http://h', ENABLE_REDIS_CACHE: 'false' }, 'REDIS_URL')
  })
  it('true with Redis configured uses it', () => {
    expect(cacheOptionsFromEnv({ REDIS_HOST: 'h', ENABLE_REDIS_CACHE: 'true' }).redis).toEqual({
      host: 'h',
      port: 6379,
    })
  })
  it('true without any REDIS_* is an error', () => {
    expect(failure({ ENABLE_REDIS_CACHE: 'yes' }, 'ENABLE_REDIS_CACHE')).toContain('REDIS_URL')
  })
  it('rejects a non-boolean', () => {
    expect(failure({ ENABLE_REDIS_CACHE: 'maybe' }, 'ENABLE_REDIS_CACHE')).toContain('"maybe"')
  })
})

describe('UPSTASH_REDIS_REST_URL / UPSTASH_REDIS_REST_TOKEN', () => {
  const upstash = {
    UPSTASH_REDIS_REST_URL: 'https://eu1-fine-cat.upstash.io',
    UPSTASH_REDIS_REST_TOKEN: 'AXXXtoken',
  }
  it('alone configures the Upstash REST driver', () => {
    expect(cacheOptionsFromEnv(upstash)).toEqual({
      upstash: { url: 'https://eu1-fine-cat.upstash.io', token: 'AXXXtoken' },
    })
    expect(cacheOptionsFromEnv({ ...upstash, ENABLE_REDIS_CACHE: 'true' }).upstash).toBeDefined()
    expect(cacheOptionsFromEnv({ ...upstash, ENABLE_LOCAL_CACHE: 'false' })).toMatchObject({
      local: false,
      upstash: { url: 'https://eu1-fine-cat.upstash.io' },
    })
  })
  it('is ignored when REDIS_* is configured', () => {
    expect(cacheOptionsFromEnv({ ...upstash, REDIS_URL: 'rediss://h:6379' }).redis).toBe(
      'rediss://h:6379',
    )
    expect(cacheOptionsFromEnv({ ...upstash, REDIS_HOST: 'h' }).redis).toEqual({
      host: 'h',
      port: 6379,
    })
  })
  it('is ignored when ENABLE_REDIS_CACHE=false', () => {
    expect(cacheOptionsFromEnv({ ...upstash, ENABLE_REDIS_CACHE: 'false' })).toEqual({
      redis: false,
    })
  })
  it('URL without TOKEN, or TOKEN without URL, is an error naming the missing one', () => {
    failure({ UPSTASH_REDIS_REST_URL: upstash.UPSTASH_REDIS_REST_URL }, 'UPSTASH_REDIS_REST_TOKEN')
    failure({ UPSTASH_REDIS_REST_TOKEN: 't' }, 'UPSTASH_REDIS_REST_URL')
    // Even when Redis is configured: half a configuration is a mistake worth reporting.
    failure({ REDIS_HOST: 'h', UPSTASH_REDIS_REST_TOKEN: 't' }, 'UPSTASH_REDIS_REST_URL')
  })
  it('rejects a URL that is not http(s)', () => {
    expect(
      failure(
        { UPSTASH_REDIS_REST_URL: 'redis://x.upstash.io', UPSTASH_REDIS_REST_TOKEN: 't' },
        'UPSTASH_REDIS_REST_URL',
      ),
    ).toContain('https://')
  })
})

describe('CACHE_ENABLED', () => {
  it.each([
    ['false', false],
    ['0', false],
    ['true', true],
    ['ON', true],
  ])('%j → enabled: %s', (value, enabled) => {
    expect(cacheOptionsFromEnv({ CACHE_ENABLED: value })).toEqual({ enabled })
  })
  it('rejects a non-boolean', () => {
    failure({ CACHE_ENABLED: 'disabled' }, 'CACHE_ENABLED')
  })
})

describe('ENABLE_LOCAL_CACHE', () => {
  it('false with Redis gives local: false (Redis only), which resolves', () => {
    const options = cacheOptionsFromEnv({ ENABLE_LOCAL_CACHE: 'false', REDIS_URL: 'redis://h' })
    expect(options).toEqual({ local: false, redis: 'redis://h' })
    expect(resolveOptions(options).local).toBe(false)
  })
  it('true gives local: true', () => {
    expect(cacheOptionsFromEnv({ ENABLE_LOCAL_CACHE: 'true' })).toEqual({ local: true })
  })
  it('false without Redis is an error: no tier left', () => {
    expect(failure({ ENABLE_LOCAL_CACHE: 'false' }, 'ENABLE_LOCAL_CACHE')).toContain('no tier')
  })
  it('false with Redis switched off is an error too', () => {
    const message = failure(
      { ENABLE_LOCAL_CACHE: 'no', ENABLE_REDIS_CACHE: 'no', REDIS_URL: 'redis://h' },
      'ENABLE_LOCAL_CACHE',
    )
    expect(message).toContain('ENABLE_REDIS_CACHE')
  })
  it('rejects a non-boolean', () => {
    failure({ ENABLE_LOCAL_CACHE: 'sometimes' }, 'ENABLE_LOCAL_CACHE')
  })
})

describe('CACHE_TTL (ms) and CACHE_DEFAULT_TTL (s)', () => {
  it('CACHE_TTL is milliseconds', () => {
    expect(cacheOptionsFromEnv({ CACHE_TTL: '3600000' })).toEqual({ ttl: 3_600_000 })
    expect(resolveOptions(cacheOptionsFromEnv({ CACHE_TTL: '1500' })).ttlMs).toBe(1500)
  })
  it('CACHE_DEFAULT_TTL is seconds', () => {
    expect(cacheOptionsFromEnv({ CACHE_DEFAULT_TTL: '3600' })).toEqual({ ttl: 3_600_000 })
    expect(resolveOptions(cacheOptionsFromEnv({ CACHE_DEFAULT_TTL: '2' })).ttlMs).toBe(2000)
  })
  it('both, agreeing, are fine', () => {
    expect(cacheOptionsFromEnv({ CACHE_TTL: '3600000', CACHE_DEFAULT_TTL: '3600' })).toEqual({
      ttl: 3_600_000,
    })
  })
  it('both, disagreeing, are an error naming both', () => {
    const message = failure({ CACHE_TTL: '3600', CACHE_DEFAULT_TTL: '3600' }, 'CACHE_TTL')
    expect(message).toContain('CACHE_DEFAULT_TTL')
  })
  it.each(['0', '-5', '1.5', '10s', 'abc', '1e3'])('rejects CACHE_TTL=%j', (value) => {
    expect(failure({ CACHE_TTL: value }, 'CACHE_TTL')).toContain('(ms)')
  })
  it.each(['0', '-5', '0.5', '1h', 'abc'])('rejects CACHE_DEFAULT_TTL=%j', (value) => {
    expect(failure({ CACHE_DEFAULT_TTL: value }, 'CACHE_DEFAULT_TTL')).toContain('seconds')
  })
})

describe('CACHE_PREFIX', () => {
  it('sets the prefix', () => {
    expect(cacheOptionsFromEnv({ CACHE_PREFIX: 'ptsys:' })).toEqual({ prefix: 'ptsys:' })
  })
  it('rejects a prefix longer than options accept', () => {
    failure({ CACHE_PREFIX: 'p'.repeat(257) }, 'CACHE_PREFIX')
    expect(cacheOptionsFromEnv({ CACHE_PREFIX: 'p'.repeat(256) }).prefix).toHaveLength(256)
  })
})

describe('CACHE_COMPRESSION_THRESHOLD', () => {
  it('sets compressionThreshold in bytes, 0 allowed', () => {
    expect(cacheOptionsFromEnv({ CACHE_COMPRESSION_THRESHOLD: '1024' })).toEqual({
      compressionThreshold: 1024,
    })
    expect(cacheOptionsFromEnv({ CACHE_COMPRESSION_THRESHOLD: '0' })).toEqual({
      compressionThreshold: 0,
    })
  })
  it.each(['-1', '1kb', '1.5'])('rejects %j', (value) => {
    expect(
      failure({ CACHE_COMPRESSION_THRESHOLD: value }, 'CACHE_COMPRESSION_THRESHOLD'),
    ).toContain('bytes')
  })
})

describe('whole environments, as applications write them', () => {
  it('a .env quick reference: REDIS_URL, TTLs, prefix, compression', () => {
    expect(
      cacheOptionsFromEnv({
        REDIS_HOST: 'localhost',
        REDIS_PORT: '6379',
        CACHE_TTL: '3600000',
        ENABLE_LOCAL_CACHE: 'true',
        ENABLE_REDIS_CACHE: 'true',
      }),
    ).toEqual({ redis: { host: 'localhost', port: 6379 }, ttl: 3_600_000, local: true })
  })
  it('an Upstash-style environment with a redis:// endpoint instead of the REST one', () => {
    expect(
      cacheOptionsFromEnv({
        CACHE_ENABLED: 'true',
        REDIS_URL: 'rediss://default:tok@eu1.upstash.io:6379',
        CACHE_DEFAULT_TTL: '3600',
        CACHE_PREFIX: 'ptsys:',
        CACHE_COMPRESSION_THRESHOLD: '1024',
      }),
    ).toEqual({
      enabled: true,
      redis: 'rediss://default:tok@eu1.upstash.io:6379',
      ttl: 3_600_000,
      prefix: 'ptsys:',
      compressionThreshold: 1024,
    })
  })
  it('the TTL classes and strategies of a Prisma app', () => {
    expect(cacheOptionsFromEnv({ REDIS_URL: 'redis://localhost:6379' })).toEqual({
      redis: 'redis://localhost:6379',
    })
  })
})

describe('CACHE_ENV_VARIABLES', () => {
  it('documents exactly the variables read, each with meaning, unit and default', () => {
    expect(CACHE_ENV_VARIABLES.map((v) => v.name)).toEqual([
      'REDIS_URL',
      'REDIS_HOST',
      'REDIS_PORT',
      'REDIS_PASSWORD',
      'REDIS_DB',
      'REDIS_CLUSTER_NODES',
      'REDIS_SENTINELS',
      'REDIS_SENTINEL_NAME',
      'UPSTASH_REDIS_REST_URL',
      'UPSTASH_REDIS_REST_TOKEN',
      'CACHE_ENABLED',
      'ENABLE_LOCAL_CACHE',
      'ENABLE_REDIS_CACHE',
      'CACHE_TTL',
      'CACHE_DEFAULT_TTL',
      'CACHE_PREFIX',
      'CACHE_COMPRESSION_THRESHOLD',
    ])
    for (const v of CACHE_ENV_VARIABLES) {
      expect(v.meaning.length).toBeGreaterThan(10)
      expect(typeof v.unit).toBe('string')
      expect(typeof v.default).toBe('string')
    }
    expect(CACHE_ENV_VARIABLES.find((v) => v.name === 'CACHE_TTL')?.unit).toBe('ms')
    expect(CACHE_ENV_VARIABLES.find((v) => v.name === 'CACHE_DEFAULT_TTL')?.unit).toBe('seconds')
    expect(CACHE_ENV_VARIABLES.find((v) => v.name === 'CACHE_COMPRESSION_THRESHOLD')?.unit).toBe(
      'bytes',
    )
  })
  it('every documented variable is actually read: a bad value in each one is rejected', () => {
    const bad: Record<string, Record<string, string>> = {
      REDIS_URL: { REDIS_URL: 'http://x' },
      REDIS_HOST: { REDIS_HOST: 'a b' },
      REDIS_PORT: { REDIS_HOST: 'h', REDIS_PORT: '0' },
      REDIS_PASSWORD: { REDIS_PASSWORD: 'orphan' },
      REDIS_DB: { REDIS_HOST: 'h', REDIS_DB: 'x' },
      REDIS_CLUSTER_NODES: { REDIS_CLUSTER_NODES: 'h' },
      REDIS_SENTINELS: { REDIS_SENTINELS: 'h:0', REDIS_SENTINEL_NAME: 'mymaster' },
      REDIS_SENTINEL_NAME: { REDIS_SENTINEL_NAME: 'mymaster' },
      UPSTASH_REDIS_REST_URL: { UPSTASH_REDIS_REST_URL: 'ftp://x', UPSTASH_REDIS_REST_TOKEN: 't' },
      UPSTASH_REDIS_REST_TOKEN: { UPSTASH_REDIS_REST_URL: 'https://x' },
      CACHE_ENABLED: { CACHE_ENABLED: 'x' },
      ENABLE_LOCAL_CACHE: { ENABLE_LOCAL_CACHE: 'x' },
      ENABLE_REDIS_CACHE: { ENABLE_REDIS_CACHE: 'x' },
      CACHE_TTL: { CACHE_TTL: 'x' },
      CACHE_DEFAULT_TTL: { CACHE_DEFAULT_TTL: 'x' },
      CACHE_PREFIX: { CACHE_PREFIX: 'x'.repeat(300) },
      CACHE_COMPRESSION_THRESHOLD: { CACHE_COMPRESSION_THRESHOLD: 'x' },
    }
    for (const v of CACHE_ENV_VARIABLES) {
      const env = bad[v.name]
      expect(env, v.name).toBeDefined()
      failure(env!, v.name)
    }
  })
  it('is frozen', () => {
    expect(Object.isFrozen(CACHE_ENV_VARIABLES)).toBe(true)
    expect(Object.isFrozen(CACHE_ENV_VARIABLES[0])).toBe(true)
  })
  it('renders as a Markdown table', () => {
    const table = formatEnvTable(CACHE_ENV_VARIABLES)
    expect(table.split('\n')).toHaveLength(CACHE_ENV_VARIABLES.length + 2)
    expect(table).toContain('| `CACHE_DEFAULT_TTL` |')
  })
})

/** The configuration page's tables are generated from these lists: a change must reach them. */
describe('docs/CONFIGURATION.md', () => {
  const page = readFileSync(new URL('../../docs/CONFIGURATION.md', import.meta.url), 'utf8')
  it("shows the cache's variables as generated", () => {
    expect(page).toContain(formatEnvTable(CACHE_ENV_VARIABLES))
  })
  it("shows the Prisma extension's variables as generated", () => {
    expect(page).toContain(formatEnvTable(PRISMA_ENV_VARIABLES))
  })
})

/**
 * Every layer's options and request bodies go through the same checks: an error names the option's
 * full path in `field` and reads `<field>: must be ..., got <value>`. No server is needed.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { CacheManager } from '../src/cache/cache-manager.js'
import { resolveHealthOptions } from '../src/database/health/options.js'
import { resolveRedisBusOptions } from '../src/drivers/redis-bus-options.js'
import { ValidationError } from '../src/errors.js'
import { createOpsHandler } from '../src/http/ops-handler.js'
import { resolveCacheModuleOptions } from '../src/nestjs/resolve-options.js'
import { describeValue } from '../src/option-checks.js'
import { queryHeaders } from '../src/prisma/metrics/query-context.js'

/** The error `fn` throws, which must be a `ValidationError`. */
function refusal(fn: () => unknown): ValidationError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError)
    return error as ValidationError
  }
  throw new Error('did not throw')
}

describe('one message style across layers', () => {
  it('describes a value the same way everywhere', () => {
    expect(
      ['abc', -1, Number.NaN, null, undefined, [1], {}, () => 1, 'x'.repeat(50)].map(describeValue),
    ).toEqual([
      '"abc"',
      '-1',
      'NaN',
      'null',
      'undefined',
      'an array',
      'an object',
      'a function',
      `"${'x'.repeat(40)}…"`,
    ])
  })

  it('drivers: the bus and the Redis drivers share one integer check', () => {
    const client = { publish: () => 0, duplicate: () => ({}) } as never
    const tooShort = refusal(() => resolveRedisBusOptions({ client, channel: 'c', heartbeatMs: 5 }))
    expect(tooShort).toMatchObject({ field: 'heartbeatMs', code: 'ERR_INVALID_OPTION' })
    expect(tooShort.message).toBe('heartbeatMs: must be an integer of at least 10, got 5')
    expect(
      refusal(() => resolveRedisBusOptions({ client, channel: 'c', publishAttempts: 1.5 })).message,
    ).toBe('publishAttempts: must be an integer of at least 1, got 1.5')
    // Control: valid options pass, with their defaults.
    expect(resolveRedisBusOptions({ client, channel: 'c' }).heartbeatMs).toBe(1000)
  })

  it('database health: paths, codes and messages', () => {
    expect(
      refusal(() => resolveHealthOptions({ thresholds: { connectionUsage: 2 } })).message,
    ).toBe('options.thresholds.connectionUsage: must be a number in 0..1, got 2')
    expect(refusal(() => resolveHealthOptions({ timeOut: 5 })).message).toBe(
      'options.timeOut: is not a known option',
    )
    expect(refusal(() => resolveHealthOptions({ timeout: 'soon' }))).toMatchObject({
      field: 'options.timeout',
      code: 'ERR_INVALID_TTL',
    })
    expect(refusal(() => resolveHealthOptions({ env: { A: 1 } })).field).toBe('options.env.A')
    expect(resolveHealthOptions({ env: false, timeout: '2s' }).timeoutMs).toBe(2000)
  })

  it('NestJS module options and middleware options', () => {
    const context = { healthController: false, fromFactory: false }
    const port = refusal(() =>
      resolveCacheModuleOptions({ redis: { host: 'h', port: Number.NaN } }, context),
    )
    expect(port.message).toBe('options.redis.port: must be an integer in 1..65535, got NaN')
    expect(refusal(() => resolveCacheModuleOptions({ redis: 5 }, context)).message).toBe(
      'options.redis: must be { host, port, password, db }, a redis:// URL or false, got 5',
    )
    expect(refusal(() => queryHeaders({ enabled: 'yes' } as never)).message).toBe(
      'options.enabled: must be true or false, got "yes"',
    )
  })
})

describe('the operations endpoints check their bodies the same way', () => {
  const cache = new CacheManager({})
  afterAll(() => cache.close())
  const token = 'a-token-of-sixteen-chars'
  const ops = createOpsHandler({ cache, adminToken: token, env: {} })
  const post = async (path: string, body: unknown) => {
    const response = await ops.fetch(
      new Request(`http://ops.test${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      }),
    )
    return { status: response.status, error: ((await response.json()) as { error?: object }).error }
  }

  it('names the field at fault, 400', async () => {
    const invalidate = '/api/v1/database/cache/invalidate'
    expect(await post(invalidate, { tags: ['ok', ''] })).toMatchObject({
      status: 400,
      error: { field: 'body.tags[1]', message: 'body.tags[1]: must not be empty' },
    })
    expect(await post(invalidate, {})).toMatchObject({ status: 400, error: { field: 'body' } })
    expect(await post('/api/performance/cache/clear', {})).toMatchObject({
      status: 400,
      error: { message: 'body.tier: must be "all" or "L1" or "L2" or "L3", got undefined' },
    })
    // Control: a good body is served.
    expect(await post(invalidate, { tags: ['ok'] })).toEqual({ status: 200, error: undefined })
  })
})

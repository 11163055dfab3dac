/**
 * The tests' stand-in for Upstash's server (`support/upstash-rest-server.ts`): the parts of
 * Upstash's documented REST protocol the driver's tests rely on, checked with plain `fetch`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rawRedis, uniquePrefix } from '../support/redis.js'
import { startUpstashRestServer, type UpstashRestServer } from '../support/upstash-rest-server.js'

const raw = rawRedis()
let server: UpstashRestServer

beforeAll(async () => {
  server = await startUpstashRestServer()
})

afterAll(async () => {
  await server.close()
  raw.disconnect()
})

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(server.url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token}`, ...headers },
    body: JSON.stringify(body),
  })
  return { status: response.status, body: (await response.json()) as unknown }
}

describe('the Upstash-protocol REST server in front of Redis (the tests’ stand-in)', () => {
  const key = `${uniquePrefix('upstash-protocol')}k`
  afterAll(async () => {
    await raw.del(key)
  })

  it('runs a JSON command, answering { result } or { error } with 400', async () => {
    expect(await post('/', ['SET', key, 'bar', 'PX', 10_000])).toEqual({
      status: 200,
      body: { result: 'OK' },
    })
    expect(await post('/', ['GET', key])).toEqual({ status: 200, body: { result: 'bar' } })
    const wrong = await post('/', ['GET'])
    expect(wrong.status).toBe(400)
    expect((wrong.body as { error: string }).error).toMatch(/^ERR wrong number of arguments/)
  })

  it('base64-encodes every string but "OK" when asked to', async () => {
    const encoded = { 'upstash-encoding': 'base64' }
    expect((await post('/', ['SET', key, 'bar'], encoded)).body).toEqual({ result: 'OK' })
    expect((await post('/', ['GET', key], encoded)).body).toEqual({ result: 'YmFy' })
  })

  it('runs /pipeline in order and /multi-exec as one transaction', async () => {
    const commands = [
      ['SET', key, '1'],
      ['INCR', key],
      ['HGET', key, 'x'],
    ]
    const pipeline = await post('/pipeline', commands)
    expect(pipeline.body).toEqual([
      { result: 'OK' },
      { result: 2 },
      { error: expect.stringMatching(/^WRONGTYPE/) },
    ])
    const transaction = await post('/multi-exec', commands)
    expect(transaction.body).toEqual(pipeline.body)
  })

  it('refuses a missing or wrong token with 401', async () => {
    const response = await fetch(server.url, { method: 'POST', body: '["PING"]' })
    expect(response.status).toBe(401)
    const wrong = await post('/', ['PING'], { authorization: 'Bearer nope' })
    expect(wrong).toEqual({
      status: 401,
      body: { error: 'WRONGPASS invalid or missing auth token' },
    })
  })
})

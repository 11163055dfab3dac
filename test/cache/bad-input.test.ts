import { afterAll, describe, expect, it } from 'vitest'
import { CacheManager, StrataCacheError } from '../../src/index.js'

const cache = new CacheManager({ maxKeyLength: 64 })
afterAll(() => cache.close())

function expectError(promise: Promise<unknown>, code: string, field: string) {
  return expect(promise).rejects.toSatisfy((error: unknown) => {
    expect(error).toBeInstanceOf(StrataCacheError)
    expect(error).toMatchObject({ code, field })
    expect((error as Error).message).toContain(field)
    return true
  })
}

describe('bad input is refused with a typed error naming the field', () => {
  it('keys: empty, too long, not a string', async () => {
    await expectError(cache.get(''), 'ERR_INVALID_KEY', 'key')
    await expectError(cache.set('x'.repeat(65), 1), 'ERR_INVALID_KEY', 'key')
    await expectError(cache.get(42 as unknown as string), 'ERR_INVALID_KEY', 'key')
    await expectError(cache.getBatch(['ok', '']), 'ERR_INVALID_KEY', 'keys[1]')
    await expectError(cache.delete(['ok', null as unknown as string]), 'ERR_INVALID_KEY', 'keys[1]')
    await expectError(cache.setBatch([{ key: '', value: 1 }]), 'ERR_INVALID_KEY', 'items[0].key')
    await expectError(
      cache.getOrCompute('', () => 1),
      'ERR_INVALID_KEY',
      'key',
    )
    await expectError(cache.increment(''), 'ERR_INVALID_KEY', 'key')
  })

  it('TTLs: negative, NaN, zero, unparseable strings', async () => {
    await expectError(cache.set('k', 1, { ttl: -1 }), 'ERR_INVALID_TTL', 'ttl')
    await expectError(cache.set('k', 1, { ttl: Number.NaN }), 'ERR_INVALID_TTL', 'ttl')
    await expectError(cache.set('k', 1, { ttl: 0 }), 'ERR_INVALID_TTL', 'ttl')
    await expectError(cache.set('k', 1, { ttl: 'soon' }), 'ERR_INVALID_TTL', 'ttl')
    await expectError(cache.set('k', 1, { localTtl: -5 }), 'ERR_INVALID_TTL', 'localTtl')
    await expectError(
      cache.setBatch([{ key: 'k', value: 1, ttl: -1 }]),
      'ERR_INVALID_TTL',
      'items[0].ttl',
    )
    await expectError(
      cache.getOrCompute('k', () => 1, { staleWhileRevalidate: 'x' }),
      'ERR_INVALID_TTL',
      'staleWhileRevalidate',
    )
    await expectError(
      cache.getOrCompute('k', () => 1, { timeout: -1 }),
      'ERR_INVALID_TTL',
      'timeout',
    )
    expect(await cache.get('k')).toBeUndefined()
  })

  it('values that cannot be serialized, naming the path inside the value', async () => {
    const circular: Record<string, unknown> = { a: 1 }
    circular.self = circular
    await expectError(cache.set('k', { handler: () => 1 }), 'ERR_UNSERIALIZABLE', 'value.handler')
    await expectError(
      cache.set('k', { list: [1, Symbol('s')] }),
      'ERR_UNSERIALIZABLE',
      'value.list[1]',
    )
    await expectError(cache.set('k', circular), 'ERR_UNSERIALIZABLE', 'value.self')
    await expectError(
      cache.getOrCompute('k2', () => ({ fn: () => 1 })),
      'ERR_UNSERIALIZABLE',
      'value.fn',
    )
    expect(await cache.get('k')).toBeUndefined()
    expect(await cache.get('k2')).toBeUndefined()
  })

  it('tags, patterns, counters, sets and loaders', async () => {
    await expectError(cache.set('k', 1, { tags: [''] }), 'ERR_INVALID_OPTION', 'tags[0]')
    await expectError(
      cache.set('k', 1, { tags: 5 as unknown as string }),
      'ERR_INVALID_OPTION',
      'tags',
    )
    await expectError(cache.invalidateByTag([]), 'ERR_INVALID_OPTION', 'tag')
    await expectError(cache.invalidateByPattern(''), 'ERR_INVALID_OPTION', 'pattern')
    await expectError(cache.increment('n', 1.5), 'ERR_INVALID_OPTION', 'by')
    await expectError(
      cache.addToSet('s', [1 as unknown as string]),
      'ERR_INVALID_OPTION',
      'members',
    )
    await expectError(
      cache.getOrCompute('k', 'nope' as unknown as () => 1),
      'ERR_INVALID_OPTION',
      'compute',
    )
    await expectError(cache.setBatch('nope' as never), 'ERR_INVALID_OPTION', 'items')
  })

  it('a counter over a non-counter value', async () => {
    await cache.set('text', 'hello')
    await expectError(cache.increment('text'), 'ERR_INVALID_OPTION', 'key')
  })

  it('constructor options', () => {
    const cases: [unknown, string, string][] = [
      [{ ttl: -1 }, 'ERR_INVALID_TTL', 'ttl'],
      [{ ttl: 'forever' }, 'ERR_INVALID_TTL', 'ttl'],
      [{ defaultTtl: -1 }, 'ERR_INVALID_TTL', 'defaultTtl'],
      [{ local: { maxEntries: 0 } }, 'ERR_INVALID_OPTION', 'options.local.maxEntries'],
      [{ local: { maxBytes: 'big' } }, 'ERR_INVALID_OPTION', 'options.local.maxBytes'],
      [{ local: false }, 'ERR_INVALID_OPTION', 'local'],
      [{ redis: '' }, 'ERR_INVALID_OPTION', 'options.redis'],
      [{ commandTimeout: 0 }, 'ERR_INVALID_OPTION', 'commandTimeout'],
      [
        { circuitBreaker: { failureThreshold: -1 } },
        'ERR_INVALID_OPTION',
        'options.circuitBreaker.failureThreshold',
      ],
      [{ compressionThreshold: -1 }, 'ERR_INVALID_OPTION', 'options.compressionThreshold'],
      [{ tll: 5 }, 'ERR_INVALID_OPTION', 'options.tll'],
      [{ enabled: 'yes' }, 'ERR_INVALID_OPTION', 'options.enabled'],
    ]
    for (const [options, code, field] of cases) {
      expect(() => new CacheManager(options as never), JSON.stringify(options)).toThrow(
        expect.objectContaining({ code, field }),
      )
    }
  })

  it('use after close', async () => {
    const closed = new CacheManager()
    await closed.close()
    await expect(closed.get('k')).rejects.toMatchObject({ code: 'ERR_CLOSED' })
  })
})

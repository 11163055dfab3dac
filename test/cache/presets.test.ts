import { describe, expect, it } from 'vitest'
import { CACHE_PRESETS } from '../../src/cache/presets.js'
import { resolveOptions, validateOptions } from '../../src/cache/resolve-options.js'

const MINUTE = 60_000
const HOUR = 60 * MINUTE

describe('CACHE_PRESETS', () => {
  it('has exactly the four documented presets', () => {
    expect(Object.keys(CACHE_PRESETS).sort()).toEqual([
      'AGGRESSIVE',
      'DISTRIBUTED',
      'LIGHT',
      'MEMORY_ONLY',
    ])
  })

  it('AGGRESSIVE: 5 min, compression on, both tiers', () => {
    const p = CACHE_PRESETS.AGGRESSIVE
    expect(p.ttl).toBe(5 * MINUTE)
    expect(p.compression).toBe(true)
    expect(p.local).toBe(true)
    // Both tiers: it does not turn Redis off, so the cache's own connection stays in use.
    expect('redis' in p).toBe(false)
    const resolved = resolveOptions(p, { redis: 'redis://127.0.0.1:6379' })
    expect(resolved.ttlMs).toBe(5 * MINUTE)
    expect(resolved.redis).toBe('redis://127.0.0.1:6379')
    expect(resolved.local).not.toBe(false)
    expect(resolved.compressionThreshold).toBeLessThan(Number.POSITIVE_INFINITY)
  })

  it('LIGHT: memory only, 30 min, small L1', () => {
    const p = CACHE_PRESETS.LIGHT
    expect(p.ttl).toBe(30 * MINUTE)
    expect(p.redis).toBe(false)
    const resolved = resolveOptions(p, { redis: 'redis://127.0.0.1:6379' })
    expect(resolved.redis).toBe(false)
    expect(resolved.ttlMs).toBe(30 * MINUTE)
    expect(resolved.local).toMatchObject({ maxEntries: 1_000, maxBytes: 16 * 1024 * 1024 })
  })

  it('DISTRIBUTED: Redis only, 2 h', () => {
    const p = CACHE_PRESETS.DISTRIBUTED
    expect(p.ttl).toBe(2 * HOUR)
    expect(p.local).toBe(false)
    expect('redis' in p).toBe(false)
    const resolved = resolveOptions(p, { redis: 'redis://127.0.0.1:6379' })
    expect(resolved.local).toBe(false)
    expect(resolved.redis).toBe('redis://127.0.0.1:6379')
    expect(resolved.ttlMs).toBe(2 * HOUR)
  })

  it('DISTRIBUTED without Redis is rejected (no tier left), not silently memory-only', () => {
    expect(() => resolveOptions(CACHE_PRESETS.DISTRIBUTED)).toThrow(/no tier/)
  })

  it('MEMORY_ONLY: no Redis, 1 h', () => {
    const p = CACHE_PRESETS.MEMORY_ONLY
    expect(p.ttl).toBe(HOUR)
    expect(p.redis).toBe(false)
    expect(p.local).toBe(true)
    const resolved = resolveOptions(p, { redis: 'redis://127.0.0.1:6379' })
    expect(resolved.redis).toBe(false)
    expect(resolved.ttlMs).toBe(HOUR)
  })

  it('uses plain ms numbers for durations', () => {
    for (const p of Object.values(CACHE_PRESETS)) {
      expect(typeof p.ttl).toBe('number')
      expect(Number.isInteger(p.ttl)).toBe(true)
    }
  })

  it('every preset passes option validation', () => {
    for (const [name, p] of Object.entries(CACHE_PRESETS)) {
      expect(() => validateOptions(p), name).not.toThrow()
    }
  })

  it('never holds an undefined value (it would erase the base option in a merge)', () => {
    for (const p of Object.values(CACHE_PRESETS)) {
      for (const value of Object.values(p)) expect(value).not.toBeUndefined()
    }
  })

  it('is deeply frozen', () => {
    expect(Object.isFrozen(CACHE_PRESETS)).toBe(true)
    for (const p of Object.values(CACHE_PRESETS)) {
      expect(Object.isFrozen(p)).toBe(true)
      for (const value of Object.values(p)) {
        if (typeof value === 'object' && value !== null) expect(Object.isFrozen(value)).toBe(true)
      }
    }
  })

  it('cannot be edited, even through nested objects', () => {
    expect(() => {
      ;(CACHE_PRESETS.AGGRESSIVE as { ttl: number }).ttl = 1
    }).toThrow(TypeError)
    expect(() => {
      ;(CACHE_PRESETS.LIGHT.local as { maxEntries: number }).maxEntries = 1
    }).toThrow(TypeError)
    expect(() => {
      ;(CACHE_PRESETS as Record<string, unknown>).CUSTOM = {}
    }).toThrow(TypeError)
    expect(CACHE_PRESETS.AGGRESSIVE.ttl).toBe(5 * MINUTE)
  })

  it('can be customised by spreading into a new object', () => {
    const custom = { ...CACHE_PRESETS.LIGHT, ttl: MINUTE }
    expect(custom.ttl).toBe(MINUTE)
    expect(CACHE_PRESETS.LIGHT.ttl).toBe(30 * MINUTE)
  })
})

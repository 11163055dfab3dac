import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll } from 'vitest'
import { CacheManager, type CacheOptions } from '../../src/index.js'

/** The shared Redis every developer and CI machine runs (127.0.0.1:6379 unless TEST_REDIS_URL). */
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** A key prefix no other test file or run will use, so files can run side by side. */
export function uniquePrefix(name: string): string {
  return `sc-test:${name}:${randomBytes(4).toString('hex')}:`
}

/** A raw client for asserting on what is really in Redis. Close it in `afterAll`. */
export function rawRedis(): Redis {
  return new Redis(REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 1 })
}

/**
 * Every key under `prefix`, found with SCAN, without the fence's version keys (`__sc:v:`), which
 * outlive deletes and clears on purpose (each with a TTL); pass `withVersions` to see them too.
 */
export async function keysUnder(
  redis: Redis,
  prefix: string,
  withBookkeeping = false,
): Promise<string[]> {
  const found: string[] = []
  let cursor = '0'
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500)
    cursor = next
    found.push(...batch)
  } while (cursor !== '0')
  const bookkeeping = (key: string) => key.includes('__sc:v:') || key.includes('__sc:kt:')
  return (withBookkeeping ? found : found.filter((key) => !bookkeeping(key))).sort()
}

/** Deletes every key under `prefix`, bookkeeping included: a test file's clean-up. */
export async function deleteKeysUnder(redis: Redis, prefix: string): Promise<void> {
  const keys = await keysUnder(redis, prefix, true)
  if (keys.length > 0) await redis.del(...keys)
}

/**
 * A test file's caches: `newCache` makes one that is closed after the file, and the keys under
 * `base` (give each Redis-backed cache a prefix under it) are deleted then, with `raw` closed.
 */
export function useCaches(name: string): {
  raw: Redis
  base: string
  newCache(options?: CacheOptions): CacheManager
} {
  const raw = rawRedis()
  const base = uniquePrefix(name)
  const caches: CacheManager[] = []
  afterAll(async () => {
    await Promise.all(caches.map((cache) => cache.close()))
    await deleteKeysUnder(raw, base)
    raw.disconnect()
  })
  return {
    raw,
    base,
    newCache(options = {}) {
      const cache = new CacheManager(options)
      caches.push(cache)
      return cache
    },
  }
}

/**
 * Constructors of the caches under comparison. Every library is imported lazily, so that one that
 * fails to load (or stratacache itself, mid-refactor) fails its own candidates only.
 */
import type { Redis } from 'ioredis'
import type { CacheManager, CacheOptions } from '../src/index.js'
import { REDIS_URL, TTL_MS } from './fixtures.js'

/** The minimal surface the scenarios use, common to every cache. */
export interface Closeable {
  close(): Promise<void>
}

// ---------------------------------------------------------------------------------- stratacache

export async function stratacache(options: CacheOptions): Promise<CacheManager> {
  const { CacheManager } = await import('../src/index.js')
  const cache = new CacheManager({ ttl: TTL_MS, ...options })
  return cache
}

/** `clear()` (this cache's prefix only) then `close()`. */
export async function closeStratacache(cache: CacheManager): Promise<void> {
  try {
    await cache.clear()
  } finally {
    await cache.close()
  }
}

// ------------------------------------------------------------------------------------ lru-cache

export async function lruCache<V extends object>(): Promise<
  import('lru-cache').LRUCache<string, V>
> {
  const { LRUCache } = await import('lru-cache')
  return new LRUCache<string, V>({ max: 10_000 })
}

// -------------------------------------------------------------------------------------- ioredis

export async function ioredis(): Promise<Redis> {
  const { Redis } = await import('ioredis')
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 })
  redis.on('error', () => {})
  await redis.connect()
  return redis
}

// ----------------------------------------------------------------------------------- bentocache

export type Bento = import('bentocache').BentoCache<{ cache: import('bentocache').BentoStore }>

function redisConnection(): { host: string; port: number; password?: string; db?: number } {
  const url = new URL(REDIS_URL)
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : undefined
  return {
    host: url.hostname,
    port: Number(url.port || 6379),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(db !== undefined ? { db } : {}),
  }
}

/**
 * BentoCache with the given layers. Its memory driver keeps its default `serialize: true` (values
 * are stored as JSON strings, so callers get copies), the mode comparable to stratacache's default.
 */
export async function bentocache(layers: {
  memory: boolean
  redisPrefix?: string
}): Promise<Bento> {
  const { BentoCache, bentostore } = await import('bentocache')
  let store = bentostore()
  if (layers.memory) {
    const { memoryDriver } = await import('bentocache/drivers/memory')
    store = store.useL1Layer(memoryDriver({ maxItems: 10_000 }))
  }
  if (layers.redisPrefix !== undefined) {
    const { redisDriver } = await import('bentocache/drivers/redis')
    store = store.useL2Layer(
      redisDriver({ connection: redisConnection(), prefix: layers.redisPrefix }),
    )
  }
  const bento = new BentoCache({ default: 'cache', stores: { cache: store }, ttl: TTL_MS })
  return bento
}

export async function closeBento(bento: Bento): Promise<void> {
  await bento.disconnectAll()
}

// -------------------------------------------------------------------------------- cache-manager

export type CacheManagerV7 = import('cache-manager').Cache

/**
 * cache-manager v7. With no Redis namespace: its default in-memory Keyv store. With a namespace:
 * `@keyv/redis` (alone, or behind an in-memory Keyv when `memory` is true).
 */
export async function cacheManager(options: {
  memory: boolean
  redisNamespace?: string
}): Promise<CacheManagerV7> {
  const { createCache } = await import('cache-manager')
  if (options.redisNamespace === undefined) return createCache({ ttl: TTL_MS })
  const { Keyv } = await import('keyv')
  const { createKeyv } = await import('@keyv/redis')
  const remote = createKeyv(REDIS_URL, { namespace: options.redisNamespace })
  const stores = options.memory ? [new Keyv(), remote] : [remote]
  const cache = createCache({ stores, ttl: TTL_MS })
  // Connects lazily: do one round trip now so that a Redis problem fails set-up, not a sample.
  await remote.get('connect-probe')
  return cache
}

export async function closeCacheManager(cache: CacheManagerV7): Promise<void> {
  await cache.disconnect()
}

import type * as IORedis from 'ioredis'
import { packageRequire } from '../module-url.js'

let loaded: typeof IORedis | undefined

/**
 * The ioredis package, loaded when the first Redis client is created rather than when stratacache
 * is imported: a cache in memory only, on Upstash or on a driver of the application's own never
 * loads it, and it is the largest part of a cold start (a hundred milliseconds and more). Loaded
 * synchronously, as the driver's constructor creates its client: ioredis is CommonJS. An
 * application that bundles its code and leaves `node_modules` behind can pass a client it created
 * itself (`redis: new Redis(...)`).
 */
export function ioredis(): typeof IORedis {
  loaded ??= packageRequire('ioredis') as typeof IORedis
  return loaded
}

import { expect } from 'vitest'
import type { LongLivedClient } from './shop-fixture.js'

/** A cached read a precision test checks: run it, or ask how the cache answered it. */
export type CachedRead = (p: LongLivedClient) => {
  withCacheInfo(): Promise<{ info: { cacheStatus: string } }>
}

/** How the cache answers `read` now. */
export async function cacheStatus(prisma: LongLivedClient, read: CachedRead): Promise<string> {
  return (await read(prisma).withCacheInfo()).info.cacheStatus
}

/**
 * Caches every read of `reads`, checks each is a hit, runs `write`, and returns the names of the
 * reads that are no longer hits, sorted. (That those return fresh data is the consistency
 * checker's job.)
 */
export async function invalidatedBy<Names extends string>(
  prisma: LongLivedClient,
  reads: Record<Names, CachedRead>,
  write: (p: LongLivedClient) => Promise<unknown>,
): Promise<Names[]> {
  const names = Object.keys(reads) as Names[]
  for (const name of names) await reads[name](prisma)
  for (const name of names) {
    expect(await cacheStatus(prisma, reads[name]), `${name} before the write`).toBe('hit')
  }
  await write(prisma)
  const missed: Names[] = []
  for (const name of names)
    if ((await cacheStatus(prisma, reads[name])) !== 'hit') missed.push(name)
  return missed.sort()
}

/**
 * What the admin actions answer: invalidation, clears, query analysis, prefetch. Every one wants
 * the admin token; bodies are validated with zod (a bad one is a 400 naming the field).
 */
import { z } from 'zod'
import { invalid } from '../errors.js'
import { json, missing, parse, type Route, TIERS } from './ops-reply.js'

const invalidateBody = z
  .strictObject({
    tags: z.array(z.string().min(1).max(1024)).min(1).max(1000),
    keys: z.array(z.string().min(1).max(1024)).min(1).max(1000),
    // A glob only (never a RegExp), bounded: matching is linear in it, but every instance runs it.
    pattern: z.string().min(1).max(256),
  })
  .partial()
  .refine((body) => Object.keys(body).length > 0, 'must name tags, keys or a pattern')
const clearBody = z.strictObject({ tier: z.enum(['all', 'L1', 'L2', 'L3']) })
const analyzeBody = z.strictObject({
  model: z.string().min(1).max(128),
  operation: z.string().min(1).max(64),
  query: z.record(z.string(), z.unknown()).optional(),
  args: z.record(z.string(), z.unknown()).optional(),
})

/** The endpoints that change something or run SQL. */
export const ACTIONS: readonly Route[] = [
  {
    method: 'POST',
    path: '/api/v1/database/cache/invalidate',
    access: 'admin',
    async handle({ cache }, body) {
      const { tags, keys, pattern } = parse(invalidateBody, body)
      if (tags !== undefined) await cache.invalidateByTag(tags)
      if (keys !== undefined) await cache.delete(keys)
      const removed = pattern === undefined ? undefined : await cache.invalidateByPattern(pattern)
      return json({
        invalidated: {
          tags: tags?.length ?? 0,
          keys: keys?.length ?? 0,
          ...(pattern === undefined ? {} : { pattern, removed }),
        },
      })
    },
  },
  {
    method: 'DELETE',
    path: '/api/v1/database/cache/clear',
    access: 'admin',
    async handle({ cache }) {
      await cache.clear()
      return json({ cleared: 'all' })
    },
  },
  {
    method: 'POST',
    path: '/api/performance/cache/clear',
    access: 'admin',
    async handle({ cache, prisma }, body) {
      const { tier } = body === undefined ? { tier: 'all' as const } : parse(clearBody, body)
      if (tier === 'all') {
        await cache.clear()
        return json({ cleared: 'all' })
      }
      if (prisma === undefined)
        throw invalid(
          'body.tier',
          `${tier} is a class of Prisma reads: pass prisma to createOpsHandler`,
        )
      const name = TIERS[tier]
      await prisma.$cache.invalidateClass(name)
      return json({ cleared: tier, strategy: name, models: prisma.$cache.classes()[name].models })
    },
  },
  {
    method: 'POST',
    path: '/api/performance/analyze',
    access: 'admin',
    async handle({ analyzer }, body) {
      if (analyzer === undefined) return missing('analyzer', 'QueryAnalyzer')
      const { model, operation, query, args } = parse(analyzeBody, body)
      return json(await analyzer.analyze({ model, operation, args: args ?? query ?? {} }))
    },
  },
  {
    method: 'POST',
    path: '/api/performance/prefetch',
    access: 'admin',
    async handle({ invalidation }) {
      if (invalidation === undefined) return missing('invalidation', 'CacheInvalidation (warming)')
      const round = await invalidation.warmNow()
      if (round === undefined)
        throw invalid('invalidation', 'has no warming set up (setupCacheWarming)')
      return json({ prefetched: round })
    },
  },
]

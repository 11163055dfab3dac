/**
 * What the admin actions answer: invalidation, clears, query analysis, prefetch. Every one wants
 * the admin token; a bad body is a 400 naming the field (`body.tags[0]`).
 */
import { invalid } from '../errors.js'
import {
  checkChoice,
  checkObject,
  checkRequired,
  checkString,
  describeValue,
  isRecord,
} from '../option-checks.js'
import { json, missing, type Route, TIERS } from './ops-reply.js'

const MAX_NAMES = 1000
const CLEAR_TIERS = ['all', 'L1', 'L2', 'L3'] as const

/** An optional list of 1 to {@link MAX_NAMES} strings of 1 to 1024 characters. */
function checkNames(value: unknown, field: string): asserts value is string[] | undefined {
  if (value === undefined) return
  if (!Array.isArray(value)) {
    throw invalid(field, `must be an array of strings, got ${describeValue(value)}`)
  }
  if (value.length === 0 || value.length > MAX_NAMES) {
    throw invalid(field, `must hold 1 to ${MAX_NAMES} names, got ${value.length}`)
  }
  for (const [i, name] of value.entries()) checkString(name, `${field}[${i}]`, { maxLength: 1024 })
}

function invalidateBody(body: unknown): { tags?: string[]; keys?: string[]; pattern?: string } {
  checkObject(body, 'body', ['tags', 'keys', 'pattern'])
  const { tags, keys, pattern } = body
  checkNames(tags, 'body.tags')
  checkNames(keys, 'body.keys')
  // A glob only (never a RegExp), bounded: matching is linear in it, but every instance runs it.
  checkString(pattern, 'body.pattern', { maxLength: 256 })
  if (Object.keys(body).length === 0) throw invalid('body', 'must name tags, keys or a pattern')
  return { tags, keys, pattern: pattern as string | undefined }
}

function clearBody(body: unknown): { tier: (typeof CLEAR_TIERS)[number] } {
  checkObject(body, 'body', ['tier'])
  checkRequired(body.tier, 'body.tier', CLEAR_TIERS.map((t) => JSON.stringify(t)).join(' or '))
  checkChoice(body.tier, 'body.tier', CLEAR_TIERS)
  return { tier: body.tier as (typeof CLEAR_TIERS)[number] }
}

function analyzeBody(body: unknown): {
  model: string
  operation: string
  args: Record<string, unknown> | undefined
} {
  checkObject(body, 'body', ['model', 'operation', 'query', 'args'])
  checkRequired(body.model, 'body.model', 'a model name')
  checkString(body.model, 'body.model', { maxLength: 128 })
  checkRequired(body.operation, 'body.operation', 'an operation name')
  checkString(body.operation, 'body.operation', { maxLength: 64 })
  for (const field of ['query', 'args'] as const) {
    if (body[field] !== undefined && !isRecord(body[field])) {
      throw invalid(`body.${field}`, `must be an object, got ${describeValue(body[field])}`)
    }
  }
  const args = (body.args ?? body.query) as Record<string, unknown> | undefined
  return { model: body.model as string, operation: body.operation as string, args }
}

/** The endpoints that change something or run SQL. */
export const ACTIONS: readonly Route[] = [
  {
    method: 'POST',
    path: '/api/v1/database/cache/invalidate',
    access: 'admin',
    async handle({ cache }, body) {
      const { tags, keys, pattern } = invalidateBody(body)
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
      const { tier } = body === undefined ? { tier: 'all' as const } : clearBody(body)
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
      const { model, operation, args } = analyzeBody(body)
      return json(await analyzer.analyze({ model, operation, args: args ?? {} }))
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
